/**
 * @module renderer/components/ErrorPanel
 * A failure shown to the people in the room: what went wrong (the message), what to do next (by
 * code), the code itself for the record, and a retry when the caller offers one. Announced to
 * assistive technology and focused when it appears, so the keyboard user lands on it.
 *
 * Must never: hide the code, or show a stack trace.
 */
import { useEffect, useRef } from 'react';

import { adviceFor } from './error-advice.ts';

/** Props of {@link ErrorPanel}. */
export interface ErrorPanelProps {
  title?: string;
  /** A failure as it crosses the bridge (`IpcError`), or as a session records it. */
  error: { code: string; message: string };
  /** What to do, when the caller knows better than the code alone (the question a refusal belongs to). */
  advice?: string;
  onRetry?: () => void;
  retryLabel?: string;
}

/** An error with what to do. */
export function ErrorPanel({ title = 'This did not work', error, advice, onRetry, retryLabel = 'Try again' }: ErrorPanelProps): React.JSX.Element {
  const ref = useRef<HTMLElement>(null);
  useEffect(() => {
    ref.current?.focus();
  }, [error]);
  return (
    <section className="error-panel" role="alert" tabIndex={-1} ref={ref} data-code={error.code}>
      <h3>{title}</h3>
      <p className="error-message">{error.message}</p>
      <p className="error-advice">
        <strong>What to do: </strong>
        {advice ?? adviceFor(error.code)}
      </p>
      <p className="error-code">
        Code <code>{error.code}</code>
      </p>
      {onRetry !== undefined && (
        <button type="button" onClick={onRetry}>
          {retryLabel}
        </button>
      )}
    </section>
  );
}
