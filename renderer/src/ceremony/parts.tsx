/**
 * @module renderer/ceremony/parts
 * Pieces the ceremony screens share: progress through the plan, the list of steps with their state,
 * a step's result with every fingerprint in reading size, the runner's narration, a certificate or
 * CRL under review (decoded fields, TBS SHA-256 in hex and in words), the ceremony's token, and the
 * outcome of a run with what to do next (resume, abort).
 *
 * Must never: show a value as a fingerprint that is not one, or hide why a run stopped.
 */
import { useEffect, useRef, useState } from 'react';

import type { ReplyOf } from '../api/api.ts';
import { useApi, useCall } from '../api/context.tsx';
import { DigestWords } from '../components/DigestWords.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';
import { stepTitle, useCeremony, type Session } from './store.tsx';

type Review = Session['reviews'][number];
type StepRecord = NonNullable<Session['ceremony']>['steps'][number];

const HEX64 = /^[0-9a-f]{64}$/u;

/** Words for a step status. */
export function statusText(status: string): string {
  return ({ pending: 'not started', started: 'in progress', completed: 'done, waiting for sign-off', signed: 'done and signed off' } as Record<string, string>)[status] ?? status;
}

/** "Go to Script & site" when nothing is chosen. */
export function NoCeremony({ what }: { what: string }): React.JSX.Element {
  return (
    <section className="empty-state">
      <p className="lead">{what}</p>
      <p>Choose the ceremony script and the site file first (Script &amp; site, Alt+1), then check everyone in (Roster check-in, Alt+2).</p>
    </section>
  );
}

/** Steps signed off out of all, as a bar with words. */
export function Progress({ session }: { session: Session }): React.JSX.Element | null {
  const steps = session.ceremony?.steps;
  if (steps === undefined) return null;
  const signed = steps.filter((s) => s.status === 'signed').length;
  const pct = steps.length === 0 ? 0 : Math.round((signed / steps.length) * 100);
  return (
    <div className="progress" data-signed={signed} data-total={steps.length}>
      <progress max={steps.length} value={signed} aria-label="Steps signed off" />
      <span className="progress-text">
        {signed} of {steps.length} steps signed off ({pct} %)
      </span>
    </div>
  );
}

/** Every step of the record (or of the plan before the start), with its state. */
export function StepList({ session, selected, onSelect }: { session: Session; selected: string | null; onSelect: (id: string) => void }): React.JSX.Element {
  const plan = session.plan;
  const record = session.ceremony?.steps ?? [];
  const steps = plan?.steps ?? [];
  return (
    <ol className="step-list" aria-label="Steps of the ceremony">
      {steps.map((p) => {
        const r = record.find((x) => x.id === p.id);
        const status = r?.status ?? 'pending';
        const current = session.currentStep === p.id && session.phase === 'running';
        return (
          <li key={p.id} className={`step step-${status}${current ? ' step-current' : ''}${selected === p.id ? ' step-selected' : ''}`} data-step={p.id} data-status={status}>
            <button type="button" className="step-button" onClick={() => onSelect(p.id)} aria-current={current ? 'step' : undefined}>
              <span className="step-no">{p.index + 1}</span>
              <span className="step-title">
                {p.title}
                {p.pointOfNoReturn && <span className="ponr-tag"> point of no return</span>}
              </span>
              <span className="step-status">{current && status !== 'completed' ? 'now' : statusText(status)}</span>
            </button>
          </li>
        );
      })}
    </ol>
  );
}

function label(key: string): string {
  return key.replace(/([a-z])([A-Z])/gu, '$1 $2').replace(/[-_]/gu, ' ').replace(/^./u, (c) => c.toUpperCase());
}

/** A step's result: every SHA-256 as a fingerprint, word lists as words, the rest as text. */
export function ResultView({ result }: { result: Record<string, unknown> }): React.JSX.Element {
  const entries = Object.entries(result);
  const fingerprints = entries.filter(([, v]) => typeof v === 'string' && HEX64.test(v));
  const words = entries.filter(([k, v]) => /words$/iu.test(k) && Array.isArray(v));
  const rest = entries.filter(([k, v]) => !(typeof v === 'string' && HEX64.test(v)) && !(/words$/iu.test(k) && Array.isArray(v)));
  return (
    <div className="result">
      {rest.length > 0 && (
        <dl className="facts">
          {rest.map(([k, v]) => (
            <div key={k} className="fact">
              <dt>{label(k)}</dt>
              <dd>{typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : <code className="json">{JSON.stringify(v)}</code>}</dd>
            </div>
          ))}
        </dl>
      )}
      {fingerprints.map(([k, v]) => (
        <Fingerprint key={k} label={`${label(k)} (read aloud)`} hex={String(v)} size="medium" />
      ))}
      {words.map(([k, v]) => (
        <DigestWords key={k} label={label(k)} words={(v as unknown[]).map(String)} columns={8} />
      ))}
    </div>
  );
}

/** What the runner said during a step (or the whole run). */
export function EventLog({ session, step, limit = 12 }: { session: Session; step?: string | null; limit?: number }): React.JSX.Element | null {
  const events = session.events.filter((e) => step === undefined || e.step === step || (step !== null && e.step === null && session.currentStep === step)).slice(-limit);
  if (events.length === 0) return null;
  return (
    <section className="event-log" aria-label="What the workstation reported">
      <h4>What the workstation reported</h4>
      <ol>
        {events.map((e) => (
          <li key={e.seq} className={`event event-${e.type.replace(/\./gu, '-')}`} data-type={e.type}>
            <pre>{e.message}</pre>
          </li>
        ))}
      </ol>
    </section>
  );
}

/** A certificate or CRL under review: decoded fields, TBS SHA-256 as hex and as words, large. */
export function ReviewPanel({ review, index, total }: { review: Review; index?: number; total?: number }): React.JSX.Element {
  return (
    <article className="review" data-tbs={review.tbsSha256} aria-label={`Review: ${review.subject}`}>
      <h3>
        {total !== undefined && total > 1 && index !== undefined ? `${index + 1} of ${total}: ` : ''}
        {review.operation === 'sign-intermediate' ? 'Intermediate CA certificate to sign' : review.operation === 'sign-crl' ? 'CRL to sign' : (review.what ?? 'To be signed')}
      </h3>
      <p className="review-subject">{review.subject}</p>
      <table className="data-table review-fields">
        <caption>Decoded fields of the exact bytes the root key signs</caption>
        <tbody>
          {review.fields.map((f, i) => (
            <tr key={i}>
              <th scope="row">{f.label}</th>
              <td>{f.value}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {review.notes.length > 0 && (
        <ul className="review-notes">
          {review.notes.map((n, i) => (
            <li key={i}>{n}</li>
          ))}
        </ul>
      )}
      <Fingerprint label="TBS SHA-256 (read aloud, group by group)" hex={review.tbsSha256} size="large" />
      {review.words.length > 0 && <DigestWords label="TBS SHA-256 as words (read aloud)" words={review.words} columns={4} />}
      {review.expiresAt !== null && <p className="muted">Approvals of this request are valid until {review.expiresAt.replace('T', ' ').replace('Z', ' UTC')}.</p>}
    </article>
  );
}

type TokenAnswer = ReplyOf<'ceremony', 'token'>;

/** The ceremony's token now (label, serial, PIN state, keys with fingerprints). */
export function TokenPanel({ compact = false }: { compact?: boolean }): React.JSX.Element {
  const api = useApi();
  const { session } = useCeremony();
  const [state, reload] = useCall(() => api.ceremony.token({}));
  // Refresh when a step finishes (keys appear as the ceremony makes them); the first read is useCall's.
  const finished = session?.ceremony?.steps.filter((s) => s.status === 'signed' || s.status === 'completed').length ?? 0;
  const seen = useRef(finished);
  useEffect(() => {
    if (seen.current === finished) return;
    seen.current = finished;
    void reload();
  }, [finished, reload]);
  return (
    <section className="token-panel" aria-label="Ceremony token">
      <h3>HSM token of the ceremony</h3>
      {state.status === 'loading' && <p>Reading the token…</p>}
      {state.status === 'error' && <ErrorPanel title="The token could not be read" error={state.error} onRetry={() => void reload()} />}
      {state.status === 'ok' && <TokenFacts token={state.value} compact={compact} />}
      <button type="button" className="secondary" onClick={() => void reload()}>
        Refresh token
      </button>
    </section>
  );
}

function TokenFacts({ token, compact }: { token: TokenAnswer; compact: boolean }): React.JSX.Element {
  const t = token.token;
  const pin = t === null ? 'not present' : t.userPinLocked ? 'user PIN LOCKED' : t.userPinFinalTry ? 'one PIN try left' : t.userPinCountLow ? 'a wrong PIN was entered' : t.userPinInitialized ? 'ready' : 'user PIN not set';
  return (
    <>
      <dl className="facts" data-token-present={String(token.present)}>
        <dt>Token</dt>
        <dd>
          ‘{token.label}’ {token.serial === null ? '' : `serial ${token.serial}`} {token.present ? <span className="state-ok">present</span> : <span className="state-warn">not present yet</span>}
        </dd>
        <dt>Module</dt>
        <dd>
          <code>{token.module}</code>
          {token.softhsmDir !== null && (
            <>
              {' '}
              (rehearsal token directory <code>{token.softhsmDir}</code>)
            </>
          )}
        </dd>
        {t !== null && (
          <>
            <dt>PIN state</dt>
            <dd className={pin === 'ready' ? 'state-ok' : 'state-warn'}>{pin}</dd>
          </>
        )}
      </dl>
      {token.problem !== null && <ErrorPanel title="The HSM reported a problem" error={token.problem} />}
      {token.keys.length > 0 && (
        <table className="data-table token-keys">
          <caption>Objects on the token (visible now)</caption>
          <thead>
            <tr>
              <th scope="col">Label</th>
              <th scope="col">Class</th>
              <th scope="col">Algorithm</th>
              <th scope="col">Public key SHA-256</th>
            </tr>
          </thead>
          <tbody>
            {token.keys.map((k) => (
              <tr key={`${k.label}-${k.class}-${k.id}`}>
                <th scope="row">{k.label}</th>
                <td>{k.class}</td>
                <td>{k.algorithm}</td>
                <td>{k.spkiSha256 === null ? '–' : <code>{compact ? `${k.spkiSha256.slice(0, 16)}…` : k.spkiSha256}</code>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}

/** Why the last run stopped, and what to do: resume, or abort before the point of no return. */
export function OutcomePanel({ session }: { session: Session }): React.JSX.Element | null {
  const api = useApi();
  const { accept } = useCeremony();
  const [reason, setReason] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ code: string; message: string } | null>(null);
  if (session.phase === 'running' || session.outcome === null) {
    if (session.phase === 'prepared' && session.error !== null) return <ErrorPanel title="The ceremony could not start; nothing was created" error={session.error} />;
    return null;
  }
  const act = async (what: 'resume' | 'abort'): Promise<void> => {
    setBusy(true);
    const r = what === 'resume' ? await api.ceremony.resume({}) : await api.ceremony.abort({ reason });
    setBusy(false);
    if (r.ok) {
      setError(null);
      accept(r.value);
    } else setError(r.error);
  };
  const c = session.ceremony;
  if (session.phase === 'completed') {
    return (
      <section className="outcome outcome-completed" role="status">
        <h3>Ceremony completed</h3>
        <p>
          {c?.title} ({c?.id}) is complete{c?.rehearsal === true ? ' — a REHEARSAL' : ''}. The record is in <code>{c?.dir}</code>. See the Final report (Alt+8).
        </p>
      </section>
    );
  }
  if (session.phase === 'aborted') {
    return (
      <section className="outcome outcome-aborted" role="status">
        <h3>Ceremony aborted</h3>
        {session.abort !== null && (
          <p>
            {session.abort.destroyed.length} object(s) destroyed; the token {session.abort.restored ? 'is as it was before the ceremony' : 'does NOT match its inventory from before the ceremony: investigate'}.{session.abort.tokenLeft === null ? '' : ` ${session.abort.tokenLeft}.`}
          </p>
        )}
        {session.error !== null && <ErrorPanel title="The abort stopped" error={session.error} />}
      </section>
    );
  }
  return (
    <section className="outcome outcome-stopped">
      {session.error !== null ? (
        <ErrorPanel title={`The ceremony stopped at step ‘${stepTitle(session, c?.next ?? session.currentStep)}’`} error={session.error} />
      ) : (
        <p className="lead">The ceremony was interrupted before step ‘{stepTitle(session, c?.next ?? null)}’.</p>
      )}
      <p>Everything done so far is recorded. Resume to continue from this step (the workstation first checks the token and the files against the record), or abort the ceremony{c?.pointOfNoReturnCrossed === true ? ' — no longer possible: it crossed its point of no return' : ' (its keys are destroyed)'}.</p>
      <div className="toolbar">
        <button type="button" disabled={busy} onClick={() => void act('resume')} data-action="resume">
          Resume the ceremony
        </button>
      </div>
      {c?.pointOfNoReturnCrossed !== true && (
        <form
          className="abort-form"
          onSubmit={(e) => {
            e.preventDefault();
            if (reason.trim() !== '') void act('abort');
          }}
        >
          <label htmlFor="abort-reason">Reason for aborting (recorded)</label>
          <input id="abort-reason" className="answer-input" value={reason} onChange={(e) => setReason(e.target.value)} maxLength={2000} />
          <button type="submit" className="danger" disabled={busy || reason.trim() === ''} data-action="abort">
            Abort the ceremony
          </button>
        </form>
      )}
      {error !== null && <ErrorPanel title="That did not work" error={error} />}
    </section>
  );
}

/** The step record of a step id. */
export function recordOf(session: Session, id: string | null): StepRecord | undefined {
  return id === null ? undefined : session.ceremony?.steps.find((s) => s.id === id);
}
