/**
 * @module renderer/components/SecretEntry
 * Masked entry of one secret by one person (a token PIN now; custodian shares and passphrases when
 * the ceremony screens land). The typed value never enters React state: the input is uncontrolled,
 * read once on submit, cleared at once, and sent straight to the main side, which answers with a
 * single-use handle that the caller passes to the operation. The field also clears itself when left
 * idle, when the page is hidden, and when the component goes away.
 *
 * Must never: store the value in state, props, a ref other than the input element, or a log.
 */
import { useEffect, useId, useRef, useState } from 'react';

import type { IpcError } from '../api/api.ts';
import { useApi } from '../api/context.tsx';
import type { SecretPurpose } from '../../../electron/ipc/contract.ts';
import { ErrorPanel } from './ErrorPanel.tsx';

/** Props of {@link SecretEntry}. */
export interface SecretEntryProps {
  purpose: SecretPurpose;
  /** The field's label ("User PIN of token 'root-2026'"). */
  label: string;
  /** Who is entering it ("Custodian 2 of 5: Alice"), shown above the field. */
  who?: string;
  hint?: string;
  submitLabel?: string;
  /** Called with the handle once the main side holds the secret. */
  onSubmitted: (handle: string) => void;
  /** Seconds of inactivity after which the typed text is cleared (default 60). */
  idleClearSeconds?: number;
  /** Focus the field when shown (default true). */
  autoFocus?: boolean;
}

/** One masked secret field that hands its value to the main side and forgets it. */
export function SecretEntry({ purpose, label, who, hint, submitLabel = 'Submit', onSubmitted, idleClearSeconds = 60, autoFocus = true }: SecretEntryProps): React.JSX.Element {
  const api = useApi();
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const idle = useRef<number | undefined>(undefined);
  const [hasText, setHasText] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<IpcError | null>(null);

  const clear = (): void => {
    if (input.current !== null) input.current.value = '';
    setHasText(false);
  };

  useEffect(() => {
    if (autoFocus) input.current?.focus();
    const onHidden = (): void => {
      if (document.visibilityState === 'hidden' && input.current !== null) input.current.value = '';
    };
    document.addEventListener('visibilitychange', onHidden);
    const field = input.current;
    return () => {
      document.removeEventListener('visibilitychange', onHidden);
      window.clearTimeout(idle.current);
      if (field !== null) field.value = '';
    };
  }, [autoFocus]);

  const onInput = (): void => {
    setHasText((input.current?.value.length ?? 0) > 0);
    window.clearTimeout(idle.current);
    idle.current = window.setTimeout(clear, idleClearSeconds * 1000);
  };

  const submit = async (event: React.FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    const field = input.current;
    if (field === null || field.value.length === 0 || busy) return;
    window.clearTimeout(idle.current);
    // Read once and cleared at once; JS strings cannot be wiped, so the only copy is this local.
    const value = field.value;
    field.value = '';
    setHasText(false);
    setBusy(true);
    setError(null);
    const result = await api.secrets.submit({ purpose, value });
    setBusy(false);
    if (result.ok) onSubmitted(result.value.handle);
    else {
      setError(result.error);
      field.focus();
    }
  };

  return (
    <form className="secret-entry" onSubmit={(e) => void submit(e)} autoComplete="off" noValidate>
      {who !== undefined && <p className="secret-entry-who">{who}</p>}
      <label htmlFor={id}>{label}</label>
      {hint !== undefined && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      <div className="secret-entry-row">
        <input
          id={id}
          ref={input}
          type="password"
          name={`secret-${purpose}`}
          autoComplete="off"
          autoCorrect="off"
          autoCapitalize="off"
          spellCheck={false}
          aria-describedby={hint !== undefined ? `${id}-hint` : undefined}
          onInput={onInput}
          disabled={busy}
          data-secret-entry={purpose}
        />
        <button type="submit" disabled={busy || !hasText}>
          {busy ? 'Sending…' : submitLabel}
        </button>
      </div>
      <p className="secret-entry-note">The value goes straight to the workstation's main process and is cleared from this field.</p>
      {error !== null && <ErrorPanel title="The secret was not accepted" error={error} />}
    </form>
  );
}
