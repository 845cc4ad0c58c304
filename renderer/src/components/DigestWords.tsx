/**
 * @module renderer/components/DigestWords
 * A digest shown as words for reading aloud (the TBS SHA-256 of a certificate to approve, for
 * instance). The words come from the caller (the encoding and its word list belong to the engine),
 * numbered so a listener can say "word 9 differs".
 *
 * Must never: invent, reorder or drop words.
 */

/** Props of {@link DigestWords}. */
export interface DigestWordsProps {
  label: string;
  words: readonly string[];
  columns?: number;
}

/** A numbered grid of words. */
export function DigestWords({ label, words, columns = 4 }: DigestWordsProps): React.JSX.Element {
  return (
    <figure className="digest-words" aria-label={`${label}: ${words.map((w, i) => `${i + 1} ${w}`).join(', ')}`}>
      <figcaption>{label}</figcaption>
      <ol className={`digest-words-grid columns-${Math.min(Math.max(columns, 1), 6)}`} aria-hidden="true">
        {words.map((w, i) => (
          <li key={i} data-word={i + 1}>
            <span className="digest-word-index">{i + 1}</span>
            <span className="digest-word">{w.toUpperCase()}</span>
          </li>
        ))}
      </ol>
    </figure>
  );
}
