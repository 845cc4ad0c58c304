/**
 * @module renderer/screens/DisplayCheckScreen
 * Before a ceremony starts, everyone checks from their seat that they can read a fingerprint and
 * a word list on this screen; the administrator adjusts the text size until they can. The values
 * are samples, marked as such.
 *
 * Must never: show the samples as real digests.
 */
import { DigestWords } from '../components/DigestWords.tsx';
import { Fingerprint } from '../components/Fingerprint.tsx';

const SAMPLE_HEX = '0123456789abcdeffedcba98765432100f1e2d3c4b5a69788796a5b4c3d2e1f0';
const SAMPLE_WORDS = ['sample', 'words', 'only', 'check', 'reading', 'from', 'your', 'seat'] as const;

/** The display check screen. */
export function DisplayCheckScreen({ textSize, onTextSize }: { textSize: number; onTextSize: (delta: number) => void }): React.JSX.Element {
  return (
    <>
      <p className="lead">Ask each person to read group 7 and word 5 aloud from their seat. If anyone cannot, make the text larger.</p>
      <div className="toolbar">
        <button type="button" onClick={() => onTextSize(-1)} aria-label="Smaller text">
          A−
        </button>
        <span aria-live="polite">Text size {textSize + 1} of 5</span>
        <button type="button" onClick={() => onTextSize(1)} aria-label="Larger text">
          A+
        </button>
      </div>
      <p className="sample-badge">SAMPLE VALUES: not a real fingerprint or digest</p>
      <Fingerprint label="Sample fingerprint" hex={SAMPLE_HEX} />
      <DigestWords label="Sample digest words" words={SAMPLE_WORDS} />
    </>
  );
}
