/**
 * @module renderer/components/Placeholder
 * A screen whose operations need the ceremony engine, shown as a clear placeholder: what the screen
 * will do, and which contract operations it waits for, so nobody mistakes it for a working step.
 *
 * Must never: look like a working screen.
 */
import type { ReactNode } from 'react';

/** Props of {@link Placeholder}. */
export interface PlaceholderProps {
  will: readonly string[];
  waitsFor: readonly string[];
  children?: ReactNode;
}

/** "Not available yet" with the plan. */
export function Placeholder({ will, waitsFor, children }: PlaceholderProps): React.JSX.Element {
  return (
    <section className="placeholder" aria-label="Not available yet">
      <p className="placeholder-badge">Not available yet: this screen is wired when the ceremony engine lands.</p>
      <h3>This screen will</h3>
      <ul>
        {will.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
      <h3>It waits for these operations</h3>
      <ul className="placeholder-ops">
        {waitsFor.map((w) => (
          <li key={w}>
            <code>{w}</code>
          </li>
        ))}
      </ul>
      {children}
    </section>
  );
}
