/**
 * @module renderer/screens/HsmScreen
 * HSM and token status: the configured PKCS#11 module (or, once a ceremony ran, the ceremony's:
 * the rehearsal's throwaway token directory or the site file's module), every token with its PIN
 * state, and, after the user PIN is entered (masked, straight to the main side), a token's keys
 * with the attributes that prove their protection and the public-key fingerprints in reading size.
 * The ceremony's own token, with its public keys, is also shown without a PIN.
 *
 * Must never: hold the PIN; it exists only as a single-use handle between entry and login.
 */
import { useRef, useState } from 'react';

import { useApi, useCall, type CallState } from '../api/context.tsx';
import type { ReplyOf } from '../api/api.ts';
import { ErrorPanel } from '../components/ErrorPanel.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';
import { SecretEntry } from '../components/SecretEntry.tsx';
import { TokenPanel } from '../ceremony/parts.tsx';
import { useCeremony } from '../ceremony/store.tsx';

type Token = ReplyOf<'hsm', 'status'>['tokens'][number];
type KeysAnswer = ReplyOf<'hsm', 'keys'>;

function pinState(t: Token): { text: string; level: 'ok' | 'warn' | 'bad' | 'muted' } {
  if (!t.initialized) return { text: 'free slot (not initialised)', level: 'muted' };
  if (t.userPinLocked) return { text: 'user PIN LOCKED', level: 'bad' };
  if (t.userPinFinalTry) return { text: 'one PIN try left: the next wrong PIN locks the token', level: 'bad' };
  if (t.userPinCountLow) return { text: 'a wrong PIN was entered since the last login', level: 'warn' };
  if (!t.userPinInitialized) return { text: 'user PIN not set', level: 'warn' };
  return { text: 'ready', level: 'ok' };
}

const yes = (b: boolean | undefined): string => (b === undefined ? '–' : b ? 'yes' : 'no');

function KeysPanel({ token, onClose, onTokenTouched }: { token: Token; onClose: () => void; onTokenTouched: () => void }): React.JSX.Element {
  const api = useApi();
  const [state, setState] = useState<CallState<KeysAnswer>>({ status: 'idle' });
  const [attempt, setAttempt] = useState(0);

  const listWith = async (pin: string): Promise<void> => {
    setState({ status: 'loading' });
    const r = await api.hsm.keys({ token: { label: token.label, serial: token.serial }, pin });
    setState(r.ok ? { status: 'ok', value: r.value } : { status: 'error', error: r.error });
    if (!r.ok) setAttempt((n) => n + 1);
    // A login attempt changes the token's PIN counters: show them as they are now.
    onTokenTouched();
  };

  return (
    <section className="panel keys-panel" aria-labelledby="keys-heading">
      <h3 id="keys-heading">
        Keys on token ‘{token.label}’ <span className="muted">serial {token.serial}</span>
      </h3>
      {state.status !== 'ok' && (
        <SecretEntry
          key={attempt}
          purpose="hsm-user-pin"
          label={`User PIN of token ‘${token.label}’`}
          hint="Private keys are only visible after logging in. The workstation logs in, lists the keys and logs out."
          submitLabel="Log in and list keys"
          onSubmitted={(handle) => void listWith(handle)}
        />
      )}
      {state.status === 'loading' && <p aria-live="polite">Logging in and reading the token…</p>}
      {state.status === 'error' && <ErrorPanel title="The keys could not be listed" error={state.error} />}
      {state.status === 'ok' && <KeyList answer={state.value} />}
      <button type="button" className="secondary" onClick={onClose}>
        Close
      </button>
    </section>
  );
}

function KeyList({ answer }: { answer: KeysAnswer }): React.JSX.Element {
  if (answer.keys.length === 0) return <p>This token holds no keys.</p>;
  const withFingerprints = answer.keys.filter((k) => k.class === 'private' && k.spkiSha256 !== undefined);
  return (
    <>
      <table className="data-table">
        <caption>{answer.keys.length} key objects</caption>
        <thead>
          <tr>
            <th scope="col">Label</th>
            <th scope="col">Class</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Sensitive</th>
            <th scope="col">Never extractable</th>
            <th scope="col">Made on token</th>
            <th scope="col">May</th>
          </tr>
        </thead>
        <tbody>
          {answer.keys.map((k) => {
            const p = k.protection;
            const unsafe = p !== undefined && (!p.sensitive || p.extractable || !p.neverExtractable);
            const usage = p === undefined ? '–' : (['sign', 'decrypt', 'encrypt', 'wrap', 'unwrap', 'derive'] as const).filter((u) => p[u]).join(', ') || 'nothing';
            return (
              <tr key={`${k.class}-${k.id}-${k.label}`} className={unsafe ? 'row-bad' : undefined}>
                <th scope="row">{k.label}</th>
                <td>{k.class}</td>
                <td>{k.algorithm}</td>
                <td>{yes(p?.sensitive)}</td>
                <td>{yes(p?.neverExtractable)}</td>
                <td>{yes(p?.local)}</td>
                <td>{usage}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {withFingerprints.map((k) => (
        <Fingerprint key={k.id + k.label} label={`SHA-256 of the public key of ‘${k.label}’ (${k.algorithm})`} hex={k.spkiSha256 ?? ''} />
      ))}
    </>
  );
}

/** The HSM & token screen. */
export function HsmScreen(): React.JSX.Element {
  const api = useApi();
  const { session } = useCeremony();
  const [status, reload] = useCall(() => api.hsm.status({}));
  const [open, setOpen] = useState<Token | null>(null);
  // While a refresh runs, keep showing the last answer (and the open keys panel) instead of a blank.
  const last = useRef<ReplyOf<'hsm', 'status'> | null>(null);
  if (status.status === 'ok') last.current = status.value;
  if (status.status === 'error') last.current = null;
  const shown = last.current;

  return (
    <>
      <div className="toolbar">
        <button type="button" onClick={() => void reload()}>
          Refresh
        </button>
      </div>
      {status.status === 'loading' && shown === null && <p aria-live="polite">Reading the HSM…</p>}
      {status.status === 'error' && <ErrorPanel title="The HSM could not be read" error={status.error} onRetry={() => void reload()} retryLabel="Refresh" />}
      {shown !== null && (
        <>
          {shown.context !== null && (
            <p className="hsm-context state-warn">
              A ceremony holds the HSM: this shows {shown.context}. The ceremony opens its token itself; listing private keys needs that token&apos;s PIN, which a quorum-activated token has nobody know.
            </p>
          )}
          <dl className="facts">
            <dt>Module</dt>
            <dd>
              <code>{shown.module.path}</code>
            </dd>
            <dt>Library</dt>
            <dd>
              {shown.module.manufacturer}, {shown.module.description}, version {shown.module.libraryVersion} (PKCS#11 {shown.module.cryptokiVersion})
            </dd>
          </dl>
          <table className="data-table tokens">
            <caption>Tokens</caption>
            <thead>
              <tr>
                <th scope="col">Label</th>
                <th scope="col">Serial</th>
                <th scope="col">Model</th>
                <th scope="col">State</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {shown.tokens.map((t, i) => {
                const s = pinState(t);
                return (
                  <tr key={t.initialized ? `${t.label}/${t.serial}` : `free-${i}`} data-token={t.initialized ? t.label : undefined}>
                    <th scope="row">{t.initialized ? t.label : <span className="muted">(free slot)</span>}</th>
                    <td>{t.initialized ? t.serial : '–'}</td>
                    <td>{t.model}</td>
                    <td className={`state-${s.level}`}>{s.text}</td>
                    <td>
                      {t.initialized && (
                        <button type="button" onClick={() => setOpen(t)} disabled={t.userPinLocked} aria-label={`List keys of token ${t.label}`}>
                          List keys
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
          {open !== null && <KeysPanel key={`${open.label}/${open.serial}`} token={open} onClose={() => setOpen(null)} onTokenTouched={() => void reload()} />}
        </>
      )}
      {session?.plan !== null && session?.plan !== undefined && session.ceremony !== null && <TokenPanel />}
    </>
  );
}
