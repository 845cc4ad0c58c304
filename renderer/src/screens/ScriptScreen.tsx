/**
 * @module renderer/screens/ScriptScreen
 * Choose the ceremony script and the site file from the configured folders. Each file is read with
 * its SHA-256 (to compare aloud with the reviewed copy) and checked by the ceremony engine: YAML
 * syntax problems with line and column, then every schema and rule problem with its dotted path and
 * line (at most 200 shown, with the total). A file with problems cannot be chosen. Once both are
 * chosen they are checked together (the site's people against the script's roles) and become the
 * ceremony to run. Ceremonies already in the site file's CA folder are listed, to resume one that
 * was interrupted or abort it.
 *
 * Must never: let a file with errors be chosen, or start anything (starting is on the roster screen).
 */
import { useRef, useState } from 'react';

import type { ReplyOf } from '../api/api.ts';
import { useApi, useCall, type CallState } from '../api/context.tsx';
import { useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';

type FileRef = { root: string; path: string };
type YamlFile = ReplyOf<'files', 'readYaml'>;
type Role = 'script' | 'site';
type Listed = ReplyOf<'ceremony', 'list'>;

const KIND_TEXT = { script: 'a ceremony script', site: 'a site file', yaml: 'not a ceremony file' } as const;

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

/** Problems with their dotted path and line (click a line to show it). */
function ProblemList({ problems, total, onShow }: { problems: YamlFile['problems']; total: number; onShow?: (line: number) => void }): React.JSX.Element {
  if (problems.length === 0) return <p className="state-ok problems-none">No problems found: the ceremony engine accepts this file.</p>;
  const errors = problems.filter((p) => p.severity === 'error').length;
  return (
    <section className="problems" aria-label="Problems">
      <h4>
        {total > problems.length ? `${total} problems (the first ${problems.length} are listed)` : `${errors} ${errors === 1 ? 'error' : 'errors'}${problems.length > errors ? `, ${problems.length - errors} warnings` : ''}`}: fix the file, then reload it
      </h4>
      <ul>
        {problems.map((p, i) => (
          <li key={i} className={`problem problem-${p.severity}`} data-path={p.path} data-line={p.line}>
            {p.line !== undefined && onShow !== undefined ? (
              <button type="button" className="link" onClick={() => onShow(p.line ?? 1)}>
                Line {p.line}
                {p.column !== undefined ? `, column ${p.column}` : ''}
              </button>
            ) : (
              <span>{p.line !== undefined ? `Line ${p.line}` : 'Whole file'}</span>
            )}
            {p.path !== '' && <code className="problem-path">{p.path}</code>}
            <span className="problem-message">{p.message}</span>
          </li>
        ))}
      </ul>
      {total > problems.length && <p className="problems-more state-warn">…and {total - problems.length} more. A file with this many problems is probably not the right file.</p>}
    </section>
  );
}

function EarlierCeremonies({ site }: { site: FileRef }): React.JSX.Element {
  const api = useApi();
  const { accept } = useCeremony();
  const [list, reload] = useCall(() => api.ceremony.list({ site }));
  const [reason, setReason] = useState<Record<string, string>>({});
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const act = async (id: string, what: 'resume' | 'abort'): Promise<void> => {
    const target = { site, id };
    const r = what === 'resume' ? await api.ceremony.resume({ target }) : await api.ceremony.abort({ target, reason: reason[id] ?? '' });
    if (r.ok) {
      setError(null);
      accept(r.value);
      void reload();
    } else setError(r.error);
  };
  const body = (l: Listed): React.JSX.Element =>
    l.ceremonies.length === 0 ? (
      <p className="muted">No ceremony in {l.caFolder} yet.</p>
    ) : (
      <table className="data-table ceremonies">
        <caption>Ceremonies in {l.caFolder}</caption>
        <thead>
          <tr>
            <th scope="col">Ceremony</th>
            <th scope="col">State</th>
            <th scope="col">Progress</th>
            <th scope="col">What to do</th>
          </tr>
        </thead>
        <tbody>
          {l.ceremonies.map((c) => (
            <tr key={c.id} data-ceremony={c.id} data-status={c.status}>
              <th scope="row">
                {c.title}
                <br />
                <code className="muted">{c.id}</code>
              </th>
              <td className={c.status === 'running' ? 'state-warn' : c.status === 'completed' ? 'state-ok' : 'state-muted'}>{c.status === 'running' ? 'interrupted (not finished)' : c.status}</td>
              <td>
                {c.stepsSigned} of {c.stepsTotal} steps{c.next !== null && c.status === 'running' ? `; next: ${c.next}` : ''}
              </td>
              <td>
                {c.status === 'running' && (
                  <div className="row-actions">
                    <button type="button" onClick={() => void act(c.id, 'resume')} aria-label={`Resume ${c.id}`} data-action="resume">
                      Resume
                    </button>
                    {!c.pointOfNoReturnCrossed && (
                      <span className="abort-inline">
                        <input aria-label={`Reason for aborting ${c.id}`} placeholder="reason for aborting" value={reason[c.id] ?? ''} onChange={(e) => setReason((r) => ({ ...r, [c.id]: e.target.value }))} />
                        <button type="button" className="danger" disabled={(reason[c.id] ?? '').trim() === ''} onClick={() => void act(c.id, 'abort')}>
                          Abort
                        </button>
                      </span>
                    )}
                    {c.pointOfNoReturnCrossed && <span className="muted"> past its point of no return: it can only be finished</span>}
                  </div>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    );
  return (
    <section className="panel earlier" aria-label="Earlier ceremonies">
      <h3>Earlier ceremonies of this site</h3>
      {list.status === 'loading' && <p>Reading the CA folder…</p>}
      {list.status === 'error' && <ErrorPanel title="The CA folder could not be read" error={list.error} onRetry={() => void reload()} />}
      {list.status === 'ok' && body(list.value)}
      {error !== null && <ErrorPanel error={error} />}
    </section>
  );
}

/** The script & site selection screen. */
export function ScriptScreen({ onContinue }: { onContinue?: () => void }): React.JSX.Element {
  const api = useApi();
  const { session, accept } = useCeremony();
  const [list, reloadList] = useCall(() => api.files.listYaml({}));
  const [file, setFile] = useState<CallState<YamlFile>>({ status: 'idle' });
  const [selected, setSelected] = useState<FileRef | null>(null);
  const [chosen, setChosen] = useState<Partial<Record<Role, YamlFile>>>({});
  const [highlight, setHighlight] = useState<number | null>(null);
  const [preparing, setPreparing] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const viewer = useRef<HTMLElement>(null);
  const prepared = session?.phase === 'prepared' ? session : null;
  const running = session?.phase === 'running';

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

  const prepare = async (): Promise<void> => {
    if (chosen.script === undefined || chosen.site === undefined) return;
    setPreparing(true);
    const r = await api.ceremony.prepare({ script: chosen.script.file, site: chosen.site.file });
    setPreparing(false);
    if (r.ok) {
      setError(null);
      accept(r.value);
    } else setError(r.error);
  };

  const usable = (f: YamlFile, role: Role): boolean => f.valid && f.kind === role;
  const siteRef = chosen.site?.file ?? session?.files?.site.file ?? null;

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

      <section className="prepare" aria-label="Check together">
        <div className="toolbar">
          <button type="button" disabled={chosen.script === undefined || chosen.site === undefined || preparing || running} onClick={() => void prepare()} data-action="prepare">
            {preparing ? 'Checking…' : 'Check script and site together'}
          </button>
          {running && <span className="state-warn">A ceremony is running; choose files for the next one when it finished.</span>}
        </div>
        {error !== null && <ErrorPanel title="The files could not be checked" error={error} />}
        {session?.files !== null && session?.files !== undefined && session.phase === 'idle' && (
          <div className="prepare-failed">
            <p className="state-bad">These files cannot run a ceremony:</p>
            {(['script', 'site'] as const).map((r) => (
              <div key={r}>
                <h4>
                  {r === 'script' ? 'Script' : 'Site file'} <code>{session.files![r].displayPath}</code>
                </h4>
                <ProblemList problems={session.files![r].problems} total={session.files![r].problemsTotal} />
              </div>
            ))}
          </div>
        )}
        {prepared !== null && prepared.plan !== null && (
          <div className="prepared" data-prepared="true">
            <p className="state-ok lead">
              Ready to check in: {prepared.plan.title} ({prepared.plan.type}, {prepared.plan.steps.length} steps, quorum {prepared.plan.quorum.m} of {prepared.plan.quorum.n}
              {prepared.plan.pointOfNoReturn !== null ? `, point of no return at ‘${prepared.plan.pointOfNoReturn}’` : ''}).
            </p>
            {prepared.rosterProblems.length > 0 && <ProblemList problems={prepared.rosterProblems} total={prepared.rosterProblems.length} />}
            {onContinue !== undefined && (
              <button type="button" onClick={onContinue} data-action="to-roster">
                Continue: roster check-in
              </button>
            )}
          </div>
        )}
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
          {file.status === 'loading' && <p aria-live="polite">Reading and checking the file…</p>}
          {file.status === 'error' && <ErrorPanel title="The file could not be read" error={file.error} onRetry={selected === null ? undefined : () => void open(selected)} />}
          {file.status === 'ok' && (
            <>
              <h3>
                <code>{file.value.displayPath}</code>
              </h3>
              <p className="muted" data-kind={file.value.kind}>
                {file.value.size} bytes; {KIND_TEXT[file.value.kind]}
                {file.value.kind !== 'yaml' ? ', checked by the ceremony engine (strict keys, every rule)' : ''}.
              </p>
              <ProblemList problems={file.value.problems} total={file.value.problemsTotal} onShow={show} />
              <div className="toolbar">
                <button type="button" disabled={!usable(file.value, 'script')} onClick={() => setChosen((c) => ({ ...c, script: file.value }))}>
                  Use as ceremony script
                </button>
                <button type="button" disabled={!usable(file.value, 'site')} onClick={() => setChosen((c) => ({ ...c, site: file.value }))}>
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
      {siteRef !== null && !running && <EarlierCeremonies key={`${siteRef.root}/${siteRef.path}/${session?.phase ?? ''}`} site={siteRef} />}
    </>
  );
}
