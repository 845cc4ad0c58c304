import { describe, expect, it } from 'vitest';

import { backoffDelay, decide, DEFAULT_ROTATION, expiryAlert, renewalDueAt, validateRotationPolicy } from '../../../core/agent/rotation.ts';
import { simulateStorm } from '../../../core/agent/storm.ts';

const H = 3_600_000;

describe('rotation schedule', () => {
  it('renewalDueAt is at 80 % of lifetime without jitter and within [75 %, 80 %] with the default jitter', () => {
    expect(renewalDueAt(0, 24 * H, { ...DEFAULT_ROTATION, jitterFraction: 0 }, 0.7)).toBe(19.2 * H);
    for (const u of [0, 0.25, 0.5, 0.999999]) {
      const due = renewalDueAt(1000, 1000 + 24 * H, DEFAULT_ROTATION, u);
      expect(due).toBeGreaterThanOrEqual(1000 + 18 * H);
      expect(due).toBeLessThanOrEqual(1000 + 19.2 * H);
    }
  });

  it('backoffDelay is full jitter under an exponentially growing, capped ceiling', () => {
    const p = { backoffBase: 1000, backoffCap: 60_000 };
    expect(backoffDelay(0, p, 0.999999)).toBeLessThanOrEqual(1000);
    expect(backoffDelay(3, p, 0.999999)).toBeLessThanOrEqual(8000);
    expect(backoffDelay(3, p, 0.999999)).toBeGreaterThan(7000);
    expect(backoffDelay(30, p, 0.999999)).toBeLessThanOrEqual(60_000);
    expect(backoffDelay(10_000, p, 0.5)).toBe(30_000);
    expect(backoffDelay(5, p, 0)).toBe(0);
  });

  it('decide: waits until due, renews when due or after a forward clock jump, honours retryAt, reports expiry', () => {
    const cert = { notBefore: 0, notAfter: 100, due: 80 };
    expect(decide(10, cert)).toEqual({ action: 'wait', until: 80 });
    expect(decide(80, cert)).toEqual({ action: 'renew' });
    expect(decide(99, cert)).toEqual({ action: 'renew' });
    expect(decide(85, cert, 90)).toEqual({ action: 'wait', until: 90 });
    expect(decide(100, cert)).toEqual({ action: 'expired' });
    // A backwards clock jump only delays.
    expect(decide(-1000, cert)).toEqual({ action: 'wait', until: 80 });
  });

  it('expiryAlert fires within 6 h of expiry only without a successor', () => {
    expect(expiryAlert(18 * H + 1, 24 * H, false, DEFAULT_ROTATION)).toBe(true);
    expect(expiryAlert(18 * H + 1, 24 * H, true, DEFAULT_ROTATION)).toBe(false);
    expect(expiryAlert(17 * H, 24 * H, false, DEFAULT_ROTATION)).toBe(false);
  });

  it('validateRotationPolicy names every bad field', () => {
    expect(validateRotationPolicy(DEFAULT_ROTATION)).toEqual([]);
    expect(validateRotationPolicy({ ratio: 1.2, jitterFraction: 2, backoffBase: 0, backoffCap: -1, alertWindow: -5 })).toHaveLength(5);
  });
});

describe('renewal storm simulation (10,000 workloads issued at the same moment)', () => {
  const base = { workloads: 10_000, lifetime: 24 * H, seed: 42 };

  it('jitter spreads renewals: the peak per second is far below the no-jitter peak', () => {
    const noJitter = simulateStorm({ ...base, policy: { ...DEFAULT_ROTATION, jitterFraction: 0 }, horizon: 20 * H });
    const jitter = simulateStorm({ ...base, policy: DEFAULT_ROTATION, horizon: 20 * H });
    console.log(`storm: peak renewals/s without jitter ${noJitter.peakPerSecond}, with jitter ${jitter.peakPerSecond}`);
    expect(noJitter.peakPerSecond).toBe(10_000);
    expect(jitter.peakPerSecond).toBeLessThan(20);
  });

  it('a 3 h server outage starting at the first renewal causes zero expiries', () => {
    const r = simulateStorm({ ...base, policy: DEFAULT_ROTATION, downFrom: 18 * H, downUntil: 21 * H });
    console.log(`storm with 3 h outage: requests ${r.requests}, failures ${r.failures}, expiries ${r.expiries}, min margin ${(r.minMarginAtRenewal / H).toFixed(2)} h`);
    expect(r.failures).toBeGreaterThan(0);
    expect(r.expiries).toBe(0);
    expect(r.minMarginAtRenewal).toBeGreaterThan(2 * H);
  });

  it('an outage longer than the margin does cause expiries (the simulation can fail)', () => {
    const r = simulateStorm({ ...base, workloads: 1000, policy: DEFAULT_ROTATION, downFrom: 18 * H, downUntil: 25 * H });
    expect(r.expiries).toBeGreaterThan(0);
  });
});
