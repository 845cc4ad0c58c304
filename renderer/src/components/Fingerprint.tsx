/**
 * @module renderer/components/Fingerprint
 * A fingerprint (hex digest) large enough to read aloud across a room: upper-case hex in numbered
 * groups of four, four groups to a row, so a reader can say "group 7: 4B1E" and the listeners find
 * it. Accepts plain, spaced or colon-separated hex.
 *
 * Must never: show a digest it could not parse as if it were one.
 */

/** Splits hex into upper-case groups; null when the input is not hex of even length. */
export function groupHex(hex: string, groupSize = 4): string[] | null {
  const clean = hex.replace(/[\s:]/gu, '').toUpperCase();
  if (clean.length === 0 || clean.length % 2 !== 0 || !/^[0-9A-F]+$/u.test(clean)) return null;
  const groups: string[] = [];
  for (let i = 0; i < clean.length; i += groupSize) groups.push(clean.slice(i, i + groupSize));
  return groups;
}

/** Props of {@link Fingerprint}. */
export interface FingerprintProps {
  /** What this is the fingerprint of ("SHA-256 of the public key 'root-2026'"). */
  label: string;
  hex: string;
  /** `large` for the reading-aloud moment, `medium` for lists. */
  size?: 'large' | 'medium';
  groupsPerRow?: number;
}

/** A grouped, numbered fingerprint. */
export function Fingerprint({ label, hex, size = 'large', groupsPerRow = 4 }: FingerprintProps): React.JSX.Element {
  const groups = groupHex(hex);
  if (groups === null) {
    return (
      <figure className="fingerprint fingerprint-invalid">
        <figcaption>{label}</figcaption>
        <p role="alert">This value is not a fingerprint; do not compare it.</p>
      </figure>
    );
  }
  const rows: string[][] = [];
  for (let i = 0; i < groups.length; i += groupsPerRow) rows.push(groups.slice(i, i + groupsPerRow));
  return (
    <figure className={`fingerprint fingerprint-${size}`} aria-label={`${label}: ${groups.map((g, i) => `group ${i + 1} ${g.split('').join(' ')}`).join(', ')}`}>
      <figcaption>{label}</figcaption>
      <div className="fingerprint-rows" aria-hidden="true">
        {rows.map((row, r) => (
          <div className="fingerprint-row" key={r}>
            {row.map((g, i) => {
              const n = r * groupsPerRow + i + 1;
              return (
                <span className={`fingerprint-group ${n % 2 === 0 ? 'even' : 'odd'}`} key={n} data-group={n}>
                  <span className="fingerprint-index">{n}</span>
                  <span className="fingerprint-text">{g}</span>
                </span>
              );
            })}
          </div>
        ))}
      </div>
    </figure>
  );
}
