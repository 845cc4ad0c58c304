/**
 * @module renderer/ceremony/QuestionForm
 * The form for the question the ceremony runner is waiting on, by what the question is about: one
 * button per person for a sign-off, the exact confirmation text to type, a clock reading next to
 * the workstation's clock, a path on a medium, custodians to pick, and masked entry for PINs and
 * passphrases (typed twice when new). Answers go to the main side at once; a refused answer is
 * shown with its code and what to do, and the question stays open for another try.
 *
 * Must never: keep a secret (secrets go through `SecretEntry` to the vault; only the handle passes
 * through here), or answer a question the person did not answer.
 */
import { useEffect, useId, useRef, useState } from 'react';

import type { IpcError } from '../api/api.ts';
import { useApi } from '../api/context.tsx';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { SecretEntry } from '../components/SecretEntry.tsx';
import { useCeremony, type Question } from './store.tsx';

/** Props of {@link QuestionForm}. */
export interface QuestionFormProps {
  question: Question;
  /** Who is answering ("Custodian 2 of 3: Dave Custodian"), shown above secret fields. */
  who?: string;
}

/**
 * Sends answers to the waiting question. `onRefused` resets the form in the same render that shows
 * the refusal, so a person (or a test) typing the next attempt as soon as the refusal appears never
 * has the field replaced under their fingers.
 */
function useAnswer(question: Question, onRefused?: () => void): { busy: boolean; error: IpcError | null; send: (answer: string) => Promise<boolean>; sendSecret: (handle: string, again?: string) => Promise<boolean> } {
  const api = useApi();
  const { accept, refresh } = useCeremony();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);
  useEffect(() => setError(null), [question.id]);
  const done = async (r: Awaited<ReturnType<typeof api.ceremony.answer>>): Promise<boolean> => {
    setBusy(false);
    if (r.ok) {
      setError(null);
      accept(r.value);
      return true;
    }
    onRefused?.();
    setError(r.error);
    await refresh();
    return false;
  };
  return {
    busy,
    error,
    send: async (answer) => {
      setBusy(true);
      return done(await api.ceremony.answer({ question: question.id, answer }));
    },
    sendSecret: async (handle, again) => {
      setBusy(true);
      return done(await api.ceremony.answerSecret({ question: question.id, secret: handle, ...(again === undefined ? {} : { again }) }));
    },
  };
}

/** What to do after a refused answer, where the question says more than the error code alone. */
function refusalAdvice(question: Question, code: string): string | undefined {
  if (question.role === 'custodian-file' && (code === 'ERR_NOT_FOUND' || code === 'ERR_IO')) {
    return `${question.custodian ?? 'The custodian'} inserts their own medium; give the folder where it is mounted, or their custodian file on it. The question stays open.`;
  }
  if (question.role === 'custodian-medium' && code === 'ERR_NOT_FOUND') return `Insert and mount ${question.custodian ?? 'the custodian'}'s medium, then give the folder where it is mounted.`;
  if (code === 'ERR_INPUT_INVALID') return 'Answer again as the message says; the question stays open. Not ready? Stop the ceremony (Ceremony steps: Stop); it can be resumed.';
  return undefined;
}

function Refusal({ error, question }: { error: IpcError | null; question: Question }): React.JSX.Element | null {
  const shown = error ?? question.lastError;
  if (shown === null) return null;
  return <ErrorPanel title={question.attempts > 0 ? `Not accepted (attempt ${question.attempts}); the question is still open` : 'Not accepted'} error={shown} advice={refusalAdvice(question, shown.code)} />;
}

function Frame({ question, children, title }: { question: Question; children: React.ReactNode; title?: string }): React.JSX.Element {
  return (
    <section className={`question question-${question.role}`} data-question={question.keyText} data-role={question.role} aria-label={title ?? 'Waiting for an answer'}>
      <p className="question-flag">{title ?? 'Waiting for an answer'}</p>
      <p className="question-prompt">{question.prompt.replace(/:\s*$/u, '')}</p>
      {question.help !== null && <p className="hint">{question.help}</p>}
      {question.attestation && <p className="attestation-note">This is a statement on the record: the person named makes it, and the transcript keeps it.</p>}
      {children}
      <p className="question-key">
        Answers-file key <code>{question.keyText}</code>
      </p>
    </section>
  );
}

function ChoiceAnswer({ question }: QuestionFormProps): React.JSX.Element {
  const { busy, error, send } = useAnswer(question);
  const first = useRef<HTMLButtonElement>(null);
  useEffect(() => first.current?.focus(), [question.id]);
  return (
    <Frame question={question} title={question.role === 'sign-off' ? 'Sign-off' : undefined}>
      <div className="choices" role="group" aria-label={question.prompt}>
        {(question.choices ?? []).map((c, i) => (
          <button key={c} ref={i === 0 ? first : undefined} type="button" className="choice" disabled={busy} onClick={() => void send(c)} data-choice={c}>
            {question.role === 'sign-off' ? `${c} signs off` : c}
          </button>
        ))}
      </div>
      <Refusal error={error} question={question} />
    </Frame>
  );
}

function ConfirmAnswer({ question }: QuestionFormProps): React.JSX.Element {
  const { busy, error, send } = useAnswer(question);
  const [text, setText] = useState('');
  const id = useId();
  return (
    <Frame question={question} title="Confirmation">
      <form
        className="answer-row"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim() === '') return;
          // Cleared at once: a refused confirmation is typed again from scratch (clearing it after
          // the reply raced with a person already typing the next attempt).
          const typed = text;
          setText('');
          void send(typed);
        }}
      >
        <label htmlFor={id}>
          Type <strong className="expect">{question.expect}</strong> to confirm
        </label>
        <input id={id} className="answer-input" value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" spellCheck={false} autoFocus disabled={busy} data-answer="confirm" />
        <button type="submit" disabled={busy || text.trim() === ''}>
          Confirm
        </button>
      </form>
      <p className="hint">Not ready? Use Stop (Ceremony steps): the ceremony stops here and can be resumed.</p>
      <Refusal error={error} question={question} />
    </Frame>
  );
}

function useUtcClock(): string {
  const [now, setNow] = useState(() => new Date());
  useEffect(() => {
    const t = window.setInterval(() => setNow(new Date()), 1000);
    return () => window.clearInterval(t);
  }, []);
  return now.toISOString().slice(11, 19);
}

function ClockHint(): React.JSX.Element {
  const utc = useUtcClock();
  return (
    <p className="clock-now">
      Workstation clock (UTC): <strong className="clock-time">{utc}</strong>. Type the time the reference clock shows, as HH:MM:SS in UTC. In a rehearsal, <code>workstation</code> takes this machine&apos;s clock.
    </p>
  );
}

const TEXT_LABELS: Partial<Record<Question['role'], string>> = {
  clock: 'Reference clock time (UTC)',
  path: 'Path on the medium',
  fingerprint: 'Fingerprint as read aloud',
  'custodian-medium': 'Folder of the medium',
  'custodian-file': 'Custodian file, or the folder of the medium',
  record: 'Value read out',
};

function TextAnswer({ question }: QuestionFormProps): React.JSX.Element {
  const { busy, error, send } = useAnswer(question);
  const [text, setText] = useState('');
  const id = useId();
  const mono = question.role === 'path' || question.role === 'fingerprint' || question.role === 'custodian-medium' || question.role === 'custodian-file';
  return (
    <Frame question={question}>
      {question.role === 'clock' && <ClockHint />}
      <form
        className="answer-row"
        onSubmit={(e) => {
          e.preventDefault();
          if (text.trim() !== '') void send(text);
        }}
      >
        <label htmlFor={id}>{TEXT_LABELS[question.role] ?? 'Answer'}</label>
        <input id={id} className={`answer-input${mono ? ' mono' : ''}`} value={text} onChange={(e) => setText(e.target.value)} autoComplete="off" spellCheck={false} autoFocus disabled={busy} data-answer="text" />
        <button type="submit" disabled={busy || text.trim() === ''}>
          {busy ? 'Checking…' : 'Answer'}
        </button>
      </form>
      <Refusal error={error} question={question} />
    </Frame>
  );
}

function NamesAnswer({ question }: QuestionFormProps): React.JSX.Element {
  const { busy, error, send } = useAnswer(question);
  const [picked, setPicked] = useState<string[]>([]);
  const candidates = question.candidates ?? [];
  useEffect(() => setPicked([]), [question.id]);
  return (
    <Frame question={question} title="Which custodians take part">
      <fieldset className="names">
        <legend>Tick each custodian who is present and takes part, in the order they will come forward</legend>
        {candidates.map((c, i) => (
          <label key={c} className="name-option">
            <input type="checkbox" checked={picked.includes(c)} autoFocus={i === 0} onChange={(e) => setPicked((p) => (e.target.checked ? [...p, c] : p.filter((x) => x !== c)))} data-name={c} />
            {c}
            {picked.includes(c) && <span className="name-order"> (no. {picked.indexOf(c) + 1})</span>}
          </label>
        ))}
      </fieldset>
      <div className="toolbar">
        <button type="button" disabled={busy || picked.length === 0} onClick={() => void send(picked.join(', '))} data-answer="names">
          Continue with {picked.length} custodian{picked.length === 1 ? '' : 's'}
        </button>
      </div>
      <Refusal error={error} question={question} />
    </Frame>
  );
}

function SecretAnswer({ question, who }: QuestionFormProps): React.JSX.Element {
  // Handles only (the main side holds the secrets); the first of a new secret typed twice.
  const api = useApi();
  const [first, setFirst] = useState<string | null>(null);
  const [attempt, setAttempt] = useState(0);
  // The first entry's handle not yet sent: wiped on the main side when the question goes away
  // unanswered (another question, the ceremony stopped, the screen left), not left to expire.
  const unsent = useRef<string | null>(null);
  // A refused secret: a fresh field (typed twice again for a new one). Sent handles are used up.
  const { busy, error, sendSecret } = useAnswer(question, () => {
    setFirst(null);
    setAttempt((n) => n + 1);
  });
  // The form is keyed by the question (QuestionForm), so this runs when the question goes away.
  useEffect(
    () => () => {
      const handle = unsent.current;
      unsent.current = null;
      if (handle !== null) void api.secrets.discard({ handle });
    },
    [api],
  );
  const purpose = question.purpose ?? 'ceremony-pin';
  const what = question.role === 'token-pin' ? 'PIN' : 'passphrase';
  const submitted = async (handle: string): Promise<void> => {
    if (busy) {
      // An answer is being checked: this entry is not used.
      void api.secrets.discard({ handle });
      return;
    }
    if (question.confirm && first === null) {
      unsent.current = handle;
      setFirst(handle);
      return;
    }
    unsent.current = null;
    await sendSecret(first ?? handle, question.confirm ? handle : undefined);
  };
  return (
    <Frame question={question} title={question.confirm ? `New ${what}` : what === 'PIN' ? 'PIN' : 'Passphrase'}>
      <SecretEntry
        key={`${question.id}-${attempt}-${first === null ? 1 : 2}`}
        purpose={purpose}
        who={who}
        label={question.confirm ? (first === null ? `New ${what}${question.minLength === null ? '' : ` (at least ${question.minLength} characters)`}` : `Type the same ${what} again`) : question.prompt.replace(/:\s*$/u, '')}
        hint={question.confirm && first !== null ? 'The first entry is held by the workstation; both are compared there.' : 'Nobody else looks at the keyboard. The field is masked and cleared as soon as it is sent.'}
        submitLabel={question.confirm && first === null ? 'Next' : busy ? 'Checking…' : 'Submit'}
        onSubmitted={(h) => void submitted(h)}
      />
      {busy && <p aria-live="polite">Checking… (a custodian file takes a moment to open)</p>}
      <Refusal error={error} question={question} />
    </Frame>
  );
}

/**
 * The form for a waiting question (decisions have their own screen: Approval review). Render it
 * with `key={question.id}`: each question gets a fresh form, so a form still waiting for the
 * previous answer's reply (its fields disabled) never keeps the focus from the next question.
 */
export function QuestionForm({ question, who }: QuestionFormProps): React.JSX.Element {
  if (question.kind === 'secret') return <SecretAnswer question={question} who={who} />;
  if (question.kind === 'choice') return <ChoiceAnswer question={question} />;
  if (question.kind === 'confirm') return <ConfirmAnswer question={question} />;
  if (question.role === 'custodian-names') return <NamesAnswer question={question} />;
  return <TextAnswer question={question} />;
}

/** The decision buttons of a review (used by the Approval review screen). */
export function DecisionButtons({ question }: { question: Question }): React.JSX.Element {
  const { busy, error, send } = useAnswer(question);
  const label = (c: string): string => ({ approve: 'Approve', decline: 'Decline', accept: 'Accept', reject: 'Reject' })[c] ?? c;
  return (
    <section className="decision" data-question={question.keyText} aria-label="Decision">
      <p className="question-prompt">{question.prompt.replace(/:\s*$/u, '')}</p>
      <div className="choices" role="group" aria-label="Decision">
        {(question.choices ?? []).map((c, i) => (
          <button key={c} type="button" className={`choice decision-${c}`} disabled={busy} autoFocus={i === 0} onClick={() => void send(c)} data-choice={c}>
            {label(c)}
          </button>
        ))}
      </div>
      <p className="attestation-note">
        {question.role === 'approval-decision' ? 'Your decision is signed with your own approval key next (your passphrase), and recorded.' : 'The decision is recorded in the transcript.'}
      </p>
      <Refusal error={error} question={question} />
    </section>
  );
}
