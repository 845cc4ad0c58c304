import { describe, expect, it } from 'vitest';

import { coverage, DAY_MS, planWindows, selectActive } from '../../../core/online/windows.ts';

const T0 = Date.parse('2027-01-01T00:00:00Z');
const TTL = DAY_MS;

describe('planWindows', () => {
  it('makes K windows of W days, each overlapping the next by O days (default plan covers 339 days)', () => {
    const w = planWindows({ startMs: T0, count: 4, windowDays: 90, overlapDays: 7 });
    expect(w.map((x) => [(x.startMs - T0) / DAY_MS, (x.endMs - T0) / DAY_MS])).toEqual([
      [0, 90],
      [83, 173],
      [166, 256],
      [249, 339],
    ]);
    for (let i = 1; i < w.length; i++) expect(((w[i - 1]?.endMs ?? 0) - (w[i]?.startMs ?? 0)) / DAY_MS).toBe(7);
  });
  const bad: Array<[string, Parameters<typeof planWindows>[0]]> = [
    ['count: zero', { startMs: T0, count: 0, windowDays: 90, overlapDays: 7 }],
    ['count: too many', { startMs: T0, count: 17, windowDays: 90, overlapDays: 7 }],
    ['windowDays: too short', { startMs: T0, count: 2, windowDays: 1, overlapDays: 0 }],
    ['overlapDays: zero', { startMs: T0, count: 2, windowDays: 90, overlapDays: 0 }],
    ['overlapDays: not shorter than a window', { startMs: T0, count: 2, windowDays: 90, overlapDays: 90 }],
  ];
  for (const [name, plan] of bad) it(`refuses ${name}`, () => expect(() => planWindows(plan)).toThrow(RangeError));
});

describe('selectActive (the newest valid intermediate whose remaining life exceeds the max SVID TTL)', () => {
  const a = { id: 'a', notBeforeMs: T0, notAfterMs: T0 + 90 * DAY_MS };
  const b = { id: 'b', notBeforeMs: T0 + 83 * DAY_MS, notAfterMs: T0 + 173 * DAY_MS };
  const c = { id: 'c', notBeforeMs: T0 + 166 * DAY_MS, notAfterMs: T0 + 256 * DAY_MS };
  const cases: Array<{ at: number; want: string | undefined; mode?: 'full' | 'capped'; set?: typeof a[] }> = [
    { at: T0 - 1, want: undefined },
    { at: T0, want: 'a', mode: 'full' },
    { at: T0 + 50 * DAY_MS, want: 'a', mode: 'full' },
    { at: T0 + 83 * DAY_MS, want: 'b', mode: 'full' },
    { at: T0 + 83 * DAY_MS - 1, want: 'a', mode: 'full' },
    { at: T0 + 170 * DAY_MS, want: 'c', mode: 'full' },
    { at: T0 + 255 * DAY_MS, want: 'c', mode: 'capped' },
    { at: T0 + 256 * DAY_MS, want: undefined },
    // Only a: in its last day it is used, capped.
    { at: T0 + 89.5 * DAY_MS, want: 'a', mode: 'capped', set: [a] },
    // a and b overlap by less than a TTL at the end of a: b is newer and valid, so b.
    { at: T0 + 89.5 * DAY_MS, want: 'b', mode: 'full' },
  ];
  for (const c2 of cases) {
    it(`at day ${((c2.at - T0) / DAY_MS).toFixed(2)}${c2.set === undefined ? '' : ' (only a)'} → ${c2.want ?? 'none'}`, () => {
      const r = selectActive(c2.set ?? [a, b, c], c2.at, TTL);
      expect(r?.active.id).toBe(c2.want);
      if (c2.mode !== undefined) expect(r?.mode).toBe(c2.mode);
    });
  }
  it('prefers the newer of two intermediates with the same start only by later notAfter', () => {
    const x = { id: 'x', notBeforeMs: T0, notAfterMs: T0 + 10 * DAY_MS };
    const y = { id: 'y', notBeforeMs: T0, notAfterMs: T0 + 20 * DAY_MS };
    expect(selectActive([x, y], T0 + DAY_MS, TTL)?.active.id).toBe('y');
  });
});

describe('coverage', () => {
  const w = planWindows({ startMs: T0, count: 4, windowDays: 90, overlapDays: 7 }).map((x, i) => ({ id: String(i), notBeforeMs: x.startMs, notAfterMs: x.endMs }));
  it('runs to the last notAfter minus the max TTL when windows overlap by more than the TTL', () => {
    const c = coverage(w, T0 + 10 * DAY_MS, TTL);
    expect((c.endMs - T0) / DAY_MS).toBe(338);
    expect(c.daysLeft).toBe(328);
  });
  it('stops at a gap', () => {
    const gap = [w[0], w[2]].filter((x) => x !== undefined);
    expect((coverage(gap, T0, TTL).endMs - T0) / DAY_MS).toBe(89);
  });
  it('is zero when nothing covers now', () => {
    expect(coverage(w, T0 - DAY_MS, TTL).daysLeft).toBe(0);
    expect(coverage([], T0, TTL).daysLeft).toBe(0);
  });
});
