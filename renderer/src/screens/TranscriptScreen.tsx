/**
 * @module renderer/screens/TranscriptScreen
 * The live transcript: every record as the ceremony appends it (sequence, time, who, what, step,
 * details), marked when it is a rehearsal, and the transcript's verification on demand (hash
 * chain, link to the previous ceremony of the CA, closing signatures).
 *
 * Must never: show a transcript as verified that was not checked, or reorder records.
 */
import { useEffect, useRef, useState } from 'react';

import type { ReplyOf } from '../api/api.ts';
import { useApi } from '../api/context.tsx';
import { NoCeremony } from '../ceremony/parts.tsx';
import { useCeremony } from '../ceremony/store.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';

type Check = ReplyOf<'ceremony', 'verifyTranscript'>;

function details(data: Record<string, unknown>): string {
  const { step: _s, journalSeq: _j, ...rest } = data;
  const text = JSON.stringify(rest);
  return text === '{}' ? '' : text.length > 240 ? `${text.slice(0, 240)}…` : text;
}

/** Verification of a transcript, in words. */
export function TranscriptVerdict({ check }: { check: Check }): React.JSX.Element {
  return (
    <section className={`verdict ${check.ok && check.chainOk ? 'verdict-ok' : 'verdict-bad'}`} data-ok={String(check.ok && check.chainOk)} aria-label="Transcript verification">
      <h3>{check.ok && check.chainOk ? 'Transcript verified' : check.intact && !check.closed ? 'Transcript intact, not closed yet' : 'Transcript does NOT verify'}</h3>
      <dl className="facts">
        <dt>File</dt>
        <dd>
          <code>{check.path}</code>
        </dd>
        <dt>Records</dt>
        <dd>
          {check.records} of {check.lines} lines verified{check.rehearsal ? ' (rehearsal)' : ''}
        </dd>
        <dt>Hash chain</dt>
        <dd className={check.intact ? 'state-ok' : 'state-bad'}>{check.intact ? 'unbroken' : 'broken'}</dd>
        <dt>Linked to</dt>
        <dd className={check.chainOk ? 'state-ok' : 'state-bad'}>{check.chainedTo === 'genesis' ? 'the start of the CA (first ceremony)' : `the previous ceremony ${check.chainedTo ?? '?'}`}{check.chainOk ? '' : ': the link does not match'}</dd>
        <dt>Closed and signed</dt>
        <dd className={check.closed ? 'state-ok' : 'state-warn'}>
          {check.closed ? check.signers.map((s) => `${s.name} (${s.kind === 'transfer' ? 'transfer key' : s.role})${s.ok ? ' ✓' : ' ✗'}`).join(', ') : 'not closed'}
        </dd>
      </dl>
      {check.problem !== null && <ErrorPanel title="Verification problem" error={check.problem} />}
      {check.head !== null && <Fingerprint label="Head of the transcript (the next ceremony links to it)" hex={check.head} size="medium" />}
    </section>
  );
}

/** The live transcript screen. */
export function TranscriptScreen(): React.JSX.Element {
  const api = useApi();
  const { session, journal } = useCeremony();
  const [check, setCheck] = useState<Check | null>(null);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  const end = useRef<HTMLDivElement>(null);
  const count = journal.length;
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [count]);
  if (session === null || session.ceremony === null) return <NoCeremony what="No ceremony has started yet: the transcript begins with the first record." />;
  const c = session.ceremony;
  const verify = async (): Promise<void> => {
    const r = await api.ceremony.verifyTranscript({});
    if (r.ok) {
      setError(null);
      setCheck(r.value);
    } else setError(r.error);
  };
  const last = journal.at(-1);
  return (
    <>
      <p className="lead">
        <code>{c.dir}/transcript.jsonl</code> · {count} records so far{c.rehearsal ? ' · every record marked REHEARSAL' : ''}
      </p>
      <div className="toolbar">
        <button type="button" onClick={() => void verify()} data-action="verify">
          Verify the transcript
        </button>
        <span className="hint">Checks every record's hash chain, the link to the previous ceremony, and (once closed) the signatures.</span>
      </div>
      {error !== null && <ErrorPanel error={error} />}
      {check !== null && <TranscriptVerdict check={check} />}
      <p className="visually-hidden" aria-live="polite">
        {last === undefined ? '' : `Record ${last.seq}: ${last.type}${last.step === null ? '' : ` in step ${last.step}`}`}
      </p>
      <div className="journal-scroll">
        <table className="data-table journal">
          <caption>Records, as they are appended</caption>
          <thead>
            <tr>
              <th scope="col">#</th>
              <th scope="col">Time (UTC)</th>
              <th scope="col">Who</th>
              <th scope="col">Record</th>
              <th scope="col">Step</th>
              <th scope="col">Details</th>
            </tr>
          </thead>
          <tbody>
            {journal.map((e) => (
              <tr key={e.seq} data-seq={e.seq} data-type={e.type} className={e.type === 'step.failed' ? 'row-bad' : undefined}>
                <td>{e.seq}</td>
                <td>{e.at.slice(11, 19)}</td>
                <td>
                  {e.actor} <span className="muted">({e.role})</span>
                </td>
                <td>
                  <code>{e.type}</code>
                  {e.rehearsal && <span className="rehearsal-tag small">R</span>}
                </td>
                <td>{e.step ?? ''}</td>
                <td className="details">{details(e.data)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        <div ref={end} />
      </div>
    </>
  );
}
