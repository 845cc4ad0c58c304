/**
 * @module renderer/screens/ReportScreen
 * The final report of the ceremony: outcome, the exact script and site file it ran (SHA-256), the
 * token, every step with its sign-offs, the certificates written with their fingerprints, the
 * transfer bundles written (path, size, SHA-256) to carry across the air gap, the keys made, and
 * the transcript's verification. Printable (print styles keep the rehearsal marking), and saved as
 * HTML and PDF (core/transcript's report, through headless Chromium) into the ceremony folder.
 *
 * Must never: present an unfinished or unverified ceremony as complete, or overwrite a saved report.
 */
import { useEffect, useState } from 'react';

import type { ReplyOf } from '../api/api.ts';
import { useApi, useCall } from '../api/context.tsx';
import { NoCeremony, OutcomePanel } from '../ceremony/parts.tsx';
import { useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';
import { TranscriptVerdict } from './TranscriptScreen.tsx';

type Saved = ReplyOf<'ceremony', 'saveReport'>;

function kib(n: number): string {
  return n < 1024 ? `${n} bytes` : `${(n / 1024).toFixed(1)} KiB`;
}

/** The final report screen. */
export function ReportScreen(): React.JSX.Element {
  const { session } = useCeremony();
  if (session === null || session.ceremony === null) return <NoCeremony what="No ceremony has run yet: the report is written when one finished." />;
  return <Report key={session.ceremony.uuid} />;
}

function Report(): React.JSX.Element {
  const api = useApi();
  const { session } = useCeremony();
  const [report, reload] = useCall(() => api.ceremony.report({}));
  const [saved, setSaved] = useState<Saved | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const phase = session?.phase;
  useEffect(() => {
    void reload();
  }, [phase, reload]);
  if (session === null) return <></>;
  const finished = phase === 'completed' || phase === 'aborted';
  const bundles = report.status === 'ok' ? report.value.bundles : [];
  const written = bundles.filter((b) => b.direction === 'written');
  const received = bundles.filter((b) => b.direction === 'received');
  const save = async (): Promise<void> => {
    setSaving(true);
    const r = await api.ceremony.saveReport({});
    setSaving(false);
    if (r.ok) {
      setError(null);
      setSaved(r.value);
      void reload();
    } else setError(r.error);
  };
  return (
    <>
      {!finished && <p className="state-warn lead">The ceremony is not finished: this is the record so far. The report is final once it completed.</p>}
      <OutcomePanel session={session} />
      {report.status === 'loading' && <p>Reading the record…</p>}
      {report.status === 'error' && <ErrorPanel title="The report could not be read" error={report.error} onRetry={() => void reload()} />}
      {report.status === 'ok' && (
        <article className="report" data-status={report.value.ceremony.status}>
          {report.value.ceremony.rehearsal && <p className="report-rehearsal">REHEARSAL — nothing in this report is a production artefact</p>}
          <h3>
            {report.value.ceremony.title} <span className="muted">({report.value.ceremony.id})</span>
          </h3>
          <dl className="facts">
            <dt>Outcome</dt>
            <dd className={report.value.ceremony.status === 'completed' ? 'state-ok' : 'state-warn'}>
              {report.value.ceremony.status}
              {report.value.ceremony.completedAt !== null ? ` at ${report.value.ceremony.completedAt.replace('T', ' ').replace(/\.\d+Z$/u, ' UTC')}` : ''}
              {report.value.ceremony.abortReason !== null ? `: ${report.value.ceremony.abortReason}` : ''}
            </dd>
            <dt>Folder</dt>
            <dd>
              <code>{report.value.ceremony.dir}</code>
            </dd>
            <dt>Token</dt>
            <dd>
              ‘{report.value.ceremony.token.label}’ serial {report.value.ceremony.token.serial ?? '–'}
            </dd>
            <dt>Steps</dt>
            <dd>
              {report.value.ceremony.steps.filter((s) => s.status === 'signed').length} of {report.value.ceremony.steps.length} signed off
            </dd>
          </dl>
          <Fingerprint label="SHA-256 of the ceremony script it ran" hex={report.value.ceremony.scriptSha256} size="medium" />

          <section aria-label="Transfer bundles written">
            <h3>Transfer bundles written</h3>
            {written.length === 0 ? (
              <p className="muted">This ceremony wrote no transfer bundle.</p>
            ) : (
              written.map((b) => (
                <div key={b.name} className="bundle bundle-written" data-bundle={b.name}>
                  <p>
                    <code>{b.path}</code> ({kib(b.size)}, step {b.step}): copy it to the transfer medium.
                  </p>
                  <Fingerprint label={`SHA-256 of ${b.name} (read aloud to the online side)`} hex={b.sha256} size="medium" />
                </div>
              ))
            )}
            {received.length > 0 && (
              <>
                <h4>Bundles received (the copy kept with the record)</h4>
                <ul>
                  {received.map((b) => (
                    <li key={b.name} className="bundle bundle-received" data-bundle={b.name}>
                      <code>{b.path}</code> ({kib(b.size)}, step {b.step}) SHA-256 <code>{b.sha256}</code>
                    </li>
                  ))}
                </ul>
              </>
            )}
          </section>

          <section aria-label="Certificates written">
            <h3>Certificates written</h3>
            {report.value.certificates.map((c) => (
              <Fingerprint key={c.name} label={`SHA-256 of the certificate in ${c.name} (step ${c.step})`} hex={c.sha256} size="medium" />
            ))}
            {report.value.certificates.length === 0 && <p className="muted">None.</p>}
          </section>

          <table className="data-table outputs">
            <caption>Every file the ceremony wrote</caption>
            <thead>
              <tr>
                <th scope="col">File</th>
                <th scope="col">Step</th>
                <th scope="col">Size</th>
                <th scope="col">SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {report.value.ceremony.outputs.map((o) => (
                <tr key={o.name}>
                  <th scope="row">{o.name}</th>
                  <td>{o.step}</td>
                  <td>{kib(o.size)}</td>
                  <td>
                    <code>{o.sha256}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>

          <table className="data-table keys">
            <caption>Keys the ceremony made on the token</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">State</th>
                <th scope="col">Algorithm</th>
                <th scope="col">Public key SHA-256</th>
              </tr>
            </thead>
            <tbody>
              {report.value.ceremony.objects.map((o) => (
                <tr key={o.label}>
                  <th scope="row">{o.label}</th>
                  <td>{o.state}</td>
                  <td>{o.algorithm ?? '–'}</td>
                  <td>
                    <code>{o.spkiSha256 ?? '–'}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>

          <table className="data-table steps-signed">
            <caption>Steps and sign-offs</caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Step</th>
                <th scope="col">State</th>
                <th scope="col">Signed off by</th>
              </tr>
            </thead>
            <tbody>
              {report.value.ceremony.steps.map((s) => (
                <tr key={s.id}>
                  <td>{s.index + 1}</td>
                  <th scope="row">{s.title}</th>
                  <td>{s.status}</td>
                  <td>{s.signedBy.map((b) => `${b.participant} (${b.role})`).join(', ') || (s.signOff.length === 0 ? '–' : `needs ${s.signOff.join(', ')}`)}</td>
                </tr>
              ))}
            </tbody>
          </table>

          <TranscriptVerdict check={report.value.transcript} />

          <section className="report-actions no-print" aria-label="Print and save">
            <h3>Print and save</h3>
            <div className="toolbar">
              <button type="button" disabled={!finished || saving} onClick={() => void save()} data-action="save-report">
                {saving ? 'Writing the report…' : 'Save the report as HTML and PDF'}
              </button>
              <button type="button" className="secondary" onClick={() => window.print()} data-action="print">
                Print this screen
              </button>
            </div>
            <p className="hint">The report is written into the ceremony folder next to the transcript; an existing report is never overwritten.</p>
            {error !== null && <ErrorPanel title="The report was not saved" error={error} />}
            <ul className="saved" data-saved={String((saved ?? report.value.saved).pdf !== null)}>
              {[(saved ?? report.value.saved).html, (saved ?? report.value.saved).pdf].map((f) =>
                f === null ? null : (
                  <li key={f.path}>
                    <code>{f.path}</code> ({kib(f.bytes)}) SHA-256 <code>{f.sha256}</code>
                  </li>
                ),
              )}
            </ul>
          </section>
        </article>
      )}
    </>
  );
}
