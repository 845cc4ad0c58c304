import { createHash } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { digestWords, formatDigestWords, PGP_EVEN_WORDS, PGP_ODD_WORDS, PGP_WORD_LIST_SHA256 } from '../../../core/quorum/words.ts';

describe('PGP word list', () => {
  it('the embedded tables hash to the pinned value and hold 512 distinct words', () => {
    expect(PGP_EVEN_WORDS).toHaveLength(256);
    expect(PGP_ODD_WORDS).toHaveLength(256);
    expect(new Set([...PGP_EVEN_WORDS, ...PGP_ODD_WORDS].map((w) => w.toLowerCase())).size).toBe(512);
    const digest = createHash('sha256').update(`${PGP_EVEN_WORDS.join('\n')}\n${PGP_ODD_WORDS.join('\n')}`).digest('hex');
    expect(digest).toBe(PGP_WORD_LIST_SHA256);
  });

  it('digestWords reproduces the published example of the PGP word list', () => {
    // The example fingerprint from the list's description (Juola & Zimmermann; Wikipedia "PGP word list").
    expect(digestWords('E582 94F2 E9A2 2748 6E8B 061B 31CC 528F D7FA 3F19').join(' ')).toBe(
      'topmost Istanbul Pluto vagabond treadmill Pacific brackish dictator goldfish Medusa afflict bravado chatter revolver Dupont midsummer stopwatch whimsical cowbell bottomless',
    );
  });

  it('alternates the tables by byte offset, so a swapped pair reads differently', () => {
    expect(digestWords('0000')).toEqual(['aardvark', 'adroitness']);
    expect(digestWords('ffff')).toEqual(['Zulu', 'Yucatan']);
    expect(digestWords('0102')).not.toEqual(digestWords('0201').reverse());
    const sha = createHash('sha256').update('x').digest('hex');
    expect(digestWords(sha)).toHaveLength(32);
    expect(digestWords(sha.toUpperCase())).toEqual(digestWords(sha));
    expect(digestWords(sha.replace(/(..)/gu, '$1:').slice(0, -1))).toEqual(digestWords(sha));
  });

  it('formatDigestWords prints four words per line with the byte offset', () => {
    const text = formatDigestWords('00'.repeat(32));
    expect(text.split('\n')).toHaveLength(8);
    expect(text.split('\n')[1]).toBe('04  aardvark adroitness aardvark adroitness');
  });

  const bad: Array<[string, string]> = [
    ['empty', ''],
    ['odd length', 'abc'],
    ['not hex', 'zz'],
    ['too long', 'ab'.repeat(65)],
    ['hostile text', '<script>'],
  ];
  for (const [name, input] of bad) {
    it(`digestWords refuses input: ${name}`, () => {
      try {
        digestWords(input);
        expect.unreachable();
      } catch (e) {
        expect(isCoreError(e, 'ERR_INPUT_INVALID')).toBe(true);
      }
    });
  }
});
