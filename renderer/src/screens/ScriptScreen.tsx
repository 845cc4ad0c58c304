/**
 * @module renderer/screens/ScriptScreen
 * Choose the ceremony script and the site file from the configured folders, read each with its
 * SHA-256 (to compare aloud with the reviewed copy) and every problem found, with line numbers.
 * Today the problems are YAML syntax problems; when the ceremony engine lands, its validator's
 * problems (with dotted field paths) are listed here the same way.
 *
 * Must never: let a file with errors be chosen.
 */
import { useRef, useState } from 'react';

import type { ReplyOf } from '../api/api.ts';
import { useApi, useCall, type CallState } from '../api/context.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';

type FileRef = { root: string; path: string };
type YamlFile = ReplyOf<'files', 'readYaml'>;
type Role = 'script' | 'site';

function YamlText({ file, highlight }: { file: YamlFile; highlight: number | null }): React.JSX.Element {
  const bad = new Set(file.problems.map((p) => p.line).filter((l): l is number => l !== undefined));
  const lines = file.text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return (
    <ol className="yaml-text" aria-label={`Text of ${file.displayPath}`}>
      {lines.map((line, i) => (
        <li key={i} id={`yaml-line-${i + 1}`} className={`${bad.has(i + 1) ? 'line-bad' : ''} ${highlight === i + 1 ? 'line-focus' : ''}`} data-line={i + 1}>
          <span className="line-no" aria-hidden="true">
            {i + 1}
          </span>
          <code>{line === '' ? ' ' : line}</code>
        </li>
      ))}
    </ol>
  );
}

function ProblemList({ file, onShow }: { file: YamlFile; onShow: (line: number) => void }): React.JSX.Element {
  if (file.problems.length === 0) return <p className="state-ok problems-none">No syntax problems found.</p>;
  const errors = file.problems.filter((p) => p.severity === 'error').length;
  return (
    <section className="problems" aria-label="Problems">
      <h4>
        {errors} {errors === 1 ? 'error' : 'errors'}
        {file.problems.length > errors ? `, ${file.problems.length - errors} warnings` : ''}: fix the file, then reload it
      </h4>
      <ul>
        {file.problems.map((p, i) => (
          <li key={i} className={`problem problem-${p.severity}`}>
            {p.line !== undefined ? (
              <button type="button" className="link" onClick={() => onShow(p.line ?? 1)}>
                Line {p.line}
                {p.column !== undefined ? `, column ${p.column}` : ''}
              </button>
            ) : (
              <span>Whole file</span>
            )}
            {p.path !== '' && <code className="problem-path">{p.path}</code>}
            <span className="problem-message">{p.message}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

/** The script & site selection screen. */
export function ScriptScreen(): React.JSX.Element {
  const api = useApi();
  const [list, reloadList] = useCall(() => api.files.listYaml({}));
  const [file, setFile] = useState<CallState<YamlFile>>({ status: 'idle' });
  const [selected, setSelected] = useState<FileRef | null>(null);
  const [chosen, setChosen] = useState<Partial<Record<Role, YamlFile>>>({});
  const [highlight, setHighlight] = useState<number | null>(null);
  const viewer = useRef<HTMLElement>(null);

  const open = async (ref: FileRef): Promise<void> => {
    setSelected(ref);
    setHighlight(null);
    setFile({ status: 'loading' });
    const r = await api.files.readYaml({ file: ref });
    setFile(r.ok ? { status: 'ok', value: r.value } : { status: 'error', error: r.error });
    viewer.current?.focus();
  };

  const show = (line: number): void => {
    setHighlight(line);
    document.getElementById(`yaml-line-${line}`)?.scrollIntoView({ block: 'center' });
  };

  const errorsIn = (f: YamlFile): number => f.problems.filter((p) => p.severity === 'error').length;

  return (
    <>
      <section className="chosen" aria-label="Chosen files">
        {(['script', 'site'] as const).map((role) => {
          const f = chosen[role];
          return (
            <div className="chosen-file" key={role} data-role={role}>
              <h3>{role === 'script' ? 'Ceremony script' : 'Site file'}</h3>
              {f === undefined ? (
                <p className="muted">Not chosen yet.</p>
              ) : (
                <>
                  <p>
                    <code>{f.displayPath}</code>
                  </p>
                  <Fingerprint label="SHA-256 of the file: compare with the reviewed copy" hex={f.sha256} size="medium" />
                </>
              )}
            </div>
          );
        })}
      </section>

      <div className="split">
        <nav className="file-list" aria-label="Ceremony files">
          <div className="toolbar">
            <button type="button" onClick={() => void reloadList()}>
              Reload list
            </button>
          </div>
          {list.status === 'loading' && <p>Reading the folders…</p>}
          {list.status === 'error' && <ErrorPanel title="The folders could not be read" error={list.error} onRetry={() => void reloadList()} />}
          {list.status === 'ok' &&
            list.value.roots.map((root) => (
              <section key={root.id} aria-label={`Folder ${root.path}`}>
                <h3 className="folder">{root.path}</h3>
                {root.problem !== null && <p className="state-warn">{root.problem}</p>}
                {root.problem === null && root.files.length === 0 && <p className="muted">No YAML files here.</p>}
                <ul>
                  {root.files.map((f) => {
                    const isSel = selected?.root === root.id && selected.path === f.path;
                    return (
                      <li key={f.path}>
                        <button type="button" className={`file ${isSel ? 'selected' : ''}`} aria-pressed={isSel} onClick={() => void open({ root: root.id, path: f.path })}>
                          {f.path}
                        </button>
                      </li>
                    );
                  })}
                </ul>
              </section>
            ))}
        </nav>

        <section className="file-view" tabIndex={-1} ref={viewer} aria-label="Selected file">
          {file.status === 'idle' && <p className="muted">Choose a file on the left to read it.</p>}
          {file.status === 'loading' && <p aria-live="polite">Reading the file…</p>}
          {file.status === 'error' && <ErrorPanel title="The file could not be read" error={file.error} onRetry={selected === null ? undefined : () => void open(selected)} />}
          {file.status === 'ok' && (
            <>
              <h3>
                <code>{file.value.displayPath}</code>
              </h3>
              <p className="muted">
                {file.value.size} bytes. Schema validation of ceremony scripts arrives with the ceremony engine; this view checks YAML syntax only.
              </p>
              <ProblemList file={file.value} onShow={show} />
              <div className="toolbar">
                <button type="button" disabled={errorsIn(file.value) > 0} onClick={() => setChosen((c) => ({ ...c, script: file.value }))}>
                  Use as ceremony script
                </button>
                <button type="button" disabled={errorsIn(file.value) > 0} onClick={() => setChosen((c) => ({ ...c, site: file.value }))}>
                  Use as site file
                </button>
                <button type="button" className="secondary" onClick={() => selected !== null && void open(selected)}>
                  Reload file
                </button>
              </div>
              <YamlText file={file.value} highlight={highlight} />
            </>
          )}
        </section>
      </div>
    </>
  );
}
