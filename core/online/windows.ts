/**
 * @module online/windows
 * Pure scheduling of the staggered intermediates: the requested validity windows of a batch
 * (K windows of W days, each overlapping the next by at least O days), the activation rule (the
 * active intermediate is the newest one valid now whose remaining life exceeds the maximum SVID
 * TTL), and signed coverage (how long full-TTL issuance is possible with the certificates in
 * hand), which drives the "schedule the next ceremony" warning.
 *
 * Must never: read the clock; `now` is a parameter.
 */

/** Milliseconds per day. */
export const DAY_MS = 86_400_000;

/** A requested window. */
export interface Window {
  readonly startMs: number;
  readonly endMs: number;
}

/** Parameters of a batch of windows. */
export interface WindowPlan {
  readonly startMs: number;
  readonly count: number;
  readonly windowDays: number;
  readonly overlapDays: number;
}

/**
 * The windows of a batch: window i starts at start + i × (W − O) days and lasts W days.
 * @throws {RangeError} when the parameters cannot produce overlapping windows
 */
export function planWindows(plan: WindowPlan): Window[] {
  if (!Number.isInteger(plan.count) || plan.count < 1 || plan.count > 16) throw new RangeError('the number of windows must be 1 to 16');
  if (!Number.isInteger(plan.windowDays) || plan.windowDays < 2 || plan.windowDays > 397) throw new RangeError('the window length must be 2 to 397 days');
  if (!Number.isInteger(plan.overlapDays) || plan.overlapDays < 1 || plan.overlapDays >= plan.windowDays) throw new RangeError('the overlap must be at least 1 day and shorter than a window');
  const step = (plan.windowDays - plan.overlapDays) * DAY_MS;
  return Array.from({ length: plan.count }, (_, i) => ({ startMs: plan.startMs + i * step, endMs: plan.startMs + i * step + plan.windowDays * DAY_MS }));
}

/** What the activation rule needs to know about an issued intermediate. */
export interface IssuedWindow {
  readonly id: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
}

/** The chosen intermediate and why. */
export interface Activation<T extends IssuedWindow> {
  readonly active: T;
  /**
   * `full`: its remaining life exceeds the maximum SVID TTL (the rule).
   * `capped`: no intermediate qualifies, so the one that lives longest is used and SVID lifetimes
   * are capped at its notAfter (a degraded state reported as a warning).
   */
  readonly mode: 'full' | 'capped';
}

/**
 * The activation rule: among intermediates valid at `now`, the newest (latest notBefore, then
 * latest notAfter) whose remaining life exceeds `maxSvidTtlMs`; failing that, the one with the
 * latest notAfter (mode `capped`); undefined when none is valid.
 */
export function selectActive<T extends IssuedWindow>(issued: readonly T[], nowMs: number, maxSvidTtlMs: number): Activation<T> | undefined {
  const valid = issued.filter((i) => i.notBeforeMs <= nowMs && nowMs < i.notAfterMs);
  if (valid.length === 0) return undefined;
  const full = valid.filter((i) => i.notAfterMs - nowMs > maxSvidTtlMs);
  if (full.length > 0) {
    const best = full.reduce((a, b) => (b.notBeforeMs > a.notBeforeMs || (b.notBeforeMs === a.notBeforeMs && (b.notAfterMs > a.notAfterMs || (b.notAfterMs === a.notAfterMs && b.id > a.id))) ? b : a));
    return { active: best, mode: 'full' };
  }
  const best = valid.reduce((a, b) => (b.notAfterMs > a.notAfterMs ? b : a));
  return { active: best, mode: 'capped' };
}

/** Signed coverage from `now`. */
export interface Coverage {
  /** Until when full-TTL SVIDs can be issued without a gap (ms), or `now` when not at all. */
  readonly endMs: number;
  readonly daysLeft: number;
}

/**
 * Coverage: the end of the contiguous period from `now` during which some issued intermediate is
 * valid with more than `maxSvidTtlMs` of life left. Intermediate i contributes the interval
 * [notBefore, notAfter − maxSvidTtl).
 */
export function coverage(issued: readonly IssuedWindow[], nowMs: number, maxSvidTtlMs: number): Coverage {
  const spans = issued
    .map((i) => ({ from: i.notBeforeMs, to: i.notAfterMs - maxSvidTtlMs }))
    .filter((s) => s.to > s.from)
    .sort((a, b) => a.from - b.from);
  let end = nowMs;
  let progressed = true;
  while (progressed) {
    progressed = false;
    for (const s of spans) {
      if (s.from <= end && s.to > end) {
        end = s.to;
        progressed = true;
      }
    }
  }
  return { endMs: end, daysLeft: Math.max(0, (end - nowMs) / DAY_MS) };
}
