/**
 * @module agent/rotation
 * When to renew an SVID and how long to wait after a failure. Pure: the clock and the random
 * source are parameters.
 *
 * - Renewal is due at `ratio` of the certificate's lifetime (default 80 %), pulled earlier by a
 *   per-certificate random fraction of the lifetime (default up to 5 %, i.e. 72 min of a 24 h SVID)
 *   so that many certificates issued at the same moment do not all renew in the same second.
 * - After a failed attempt the agent waits a "full jitter" exponential backoff:
 *   U(0, min(cap, base · 2^attempt)) (AWS Architecture Blog, "Exponential Backoff And Jitter").
 * - A certificate within `alertWindow` (default 6 h) of expiry without a successor raises an alert.
 * - Two clocks: the wall clock (persisted schedules survive restarts) and a monotonic clock (immune
 *   to jumps). An {@link AnchoredSchedule} is renewed when *either* clock says it is due, so a wall
 *   clock jumping forwards renews early (safe) and one jumping backwards cannot delay renewal past
 *   the monotonic due time. When a just-issued certificate disagrees with the wall clock (the clock
 *   is before its notBefore or already past its due time), the wall clock is not trusted for that
 *   certificate and only the monotonic clock counts (no renewal loop on a skewed host).
 *
 * Must never: schedule a renewal after the certificate's notAfter, or return a negative delay.
 */

/** Rotation settings (all durations in milliseconds). */
export interface RotationPolicy {
  /** Fraction of the lifetime at which renewal is due (0 < ratio < 1). Default 0.8. */
  ratio: number;
  /** Up to this fraction of the lifetime is randomly taken off the renewal time. Default 0.05. */
  jitterFraction: number;
  /** First backoff ceiling. Default 1 s. */
  backoffBase: number;
  /** Largest backoff ceiling. Default 5 min. */
  backoffCap: number;
  /** Alert when this close to expiry without a successor. Default 6 h. */
  alertWindow: number;
}

/** The defaults: renew at 80 % with up to 5 % jitter, backoff 1 s … 5 min, alert at 6 h. */
export const DEFAULT_ROTATION: RotationPolicy = {
  ratio: 0.8,
  jitterFraction: 0.05,
  backoffBase: 1_000,
  backoffCap: 5 * 60_000,
  alertWindow: 6 * 3_600_000,
};

/** Checks a policy; returns problems (empty when valid). */
export function validateRotationPolicy(p: RotationPolicy): string[] {
  const problems: string[] = [];
  if (!(p.ratio > 0 && p.ratio < 1)) problems.push('ratio must be between 0 and 1 (exclusive)');
  if (!(p.jitterFraction >= 0 && p.jitterFraction < p.ratio)) problems.push('jitterFraction must be at least 0 and below ratio');
  if (!(p.backoffBase > 0)) problems.push('backoffBase must be positive');
  if (!(p.backoffCap >= p.backoffBase)) problems.push('backoffCap must be at least backoffBase');
  if (!(p.alertWindow >= 0)) problems.push('alertWindow must not be negative');
  return problems;
}

/**
 * The time (ms since epoch) at which a certificate valid from `notBefore` to `notAfter` should be
 * renewed. `u` is a uniform random number in [0, 1) fixed per certificate (so restarts keep the
 * same schedule when the agent persists it).
 */
export function renewalDueAt(notBefore: number, notAfter: number, policy: RotationPolicy, u: number): number {
  const lifetime = Math.max(0, notAfter - notBefore);
  const fraction = policy.ratio - policy.jitterFraction * clamp01(u);
  return notBefore + Math.floor(lifetime * fraction);
}

/**
 * Full-jitter backoff before retry number `attempt` (0 for the first retry): a uniform delay in
 * [0, min(cap, base · 2^attempt)]. `u` is uniform in [0, 1).
 */
export function backoffDelay(attempt: number, policy: Pick<RotationPolicy, 'backoffBase' | 'backoffCap'>, u: number): number {
  const exp = Math.min(policy.backoffCap, policy.backoffBase * 2 ** Math.min(Math.max(0, attempt), 52));
  return Math.floor(exp * clamp01(u));
}

/** True when a certificate is within the alert window of expiry and has no successor. */
export function expiryAlert(now: number, notAfter: number, hasSuccessor: boolean, policy: Pick<RotationPolicy, 'alertWindow'>): boolean {
  return !hasSuccessor && notAfter - now <= policy.alertWindow;
}

/** What the agent should do for one certificate at `now`. */
export type RotationDecision =
  | { action: 'wait'; until: number }
  | { action: 'renew' }
  | { action: 'expired' };

/**
 * Decides for one certificate. `retryAt` is set after a failed attempt (the backoff end). A clock
 * that jumps backwards simply makes the agent wait longer; one that jumps forwards past `due`
 * renews at once; past notAfter the certificate is reported expired (and renewal still attempted
 * by the caller, which must keep the old files until a successor exists).
 */
export function decide(now: number, cert: { notBefore: number; notAfter: number; due: number }, retryAt?: number): RotationDecision {
  if (now >= cert.notAfter) return { action: 'expired' };
  if (retryAt !== undefined && now < retryAt) return { action: 'wait', until: retryAt };
  if (now >= cert.due) return { action: 'renew' };
  return { action: 'wait', until: retryAt === undefined ? cert.due : Math.max(cert.due, retryAt) };
}

/** A certificate's schedule anchored to the wall clock and to a monotonic clock (ms). */
export interface AnchoredSchedule {
  notBefore: number;
  notAfter: number;
  /** Wall-clock renewal time ({@link renewalDueAt}). */
  due: number;
  /** Monotonic time at which renewal is due. */
  monoDue: number;
  /** Monotonic time at which the certificate expires (estimate). */
  monoExpiry: number;
  /** False when the wall clock disagreed with the certificate when it was anchored. */
  wallTrusted: boolean;
}

/**
 * Anchors a schedule to both clocks. `fresh` is true right after issuance (the certificate then
 * tells us roughly what time it is: it was issued between notBefore and due); false when a
 * persisted schedule is loaded after a restart (the wall clock is the only reference).
 */
export function anchorSchedule(cert: { notBefore: number; notAfter: number; due: number }, wallNow: number, monoNow: number, fresh: boolean): AnchoredSchedule {
  const skewed = fresh && (wallNow < cert.notBefore || wallNow >= cert.due);
  if (skewed) {
    // Trust the certificate: it was issued about now, so "now" is about notBefore (the issuer may
    // backdate notBefore by a few seconds, which only makes this estimate slightly late).
    return { ...cert, monoDue: monoNow + (cert.due - cert.notBefore), monoExpiry: monoNow + (cert.notAfter - cert.notBefore), wallTrusted: false };
  }
  return { ...cert, monoDue: monoNow + Math.max(0, cert.due - wallNow), monoExpiry: monoNow + Math.max(0, cert.notAfter - wallNow), wallTrusted: true };
}

/** What to do for an anchored schedule; waits are relative delays in ms. */
export type AnchoredDecision = { action: 'wait'; inMs: number } | { action: 'renew' } | { action: 'expired' };

/**
 * Decides with both clocks ({@link decide} applied to each): expired when either clock says so;
 * during a backoff (`retryAtMono`, monotonic) waits; renews when either clock says due.
 */
export function decideAnchored(s: AnchoredSchedule, wallNow: number, monoNow: number, retryAtMono?: number): AnchoredDecision {
  const mono = decide(monoNow, { notBefore: Number.NEGATIVE_INFINITY, notAfter: s.monoExpiry, due: s.monoDue }, retryAtMono);
  const wall = s.wallTrusted ? decide(wallNow, s) : undefined;
  if (mono.action === 'expired' || wall?.action === 'expired') return { action: 'expired' };
  if (mono.action === 'wait' && retryAtMono !== undefined && monoNow < retryAtMono) return { action: 'wait', inMs: retryAtMono - monoNow };
  if (mono.action === 'renew' || wall?.action === 'renew') return { action: 'renew' };
  const monoWait = mono.action === 'wait' ? mono.until - monoNow : 0;
  const wallWait = wall?.action === 'wait' ? wall.until - wallNow : Number.POSITIVE_INFINITY;
  return { action: 'wait', inMs: Math.max(0, Math.min(monoWait, wallWait)) };
}

/** Remaining validity (ms) by the more pessimistic of the two clocks (negative when expired). */
export function remainingValidity(s: AnchoredSchedule, wallNow: number, monoNow: number): number {
  const mono = s.monoExpiry - monoNow;
  return s.wallTrusted ? Math.min(mono, s.notAfter - wallNow) : mono;
}

function clamp01(u: number): number {
  if (!Number.isFinite(u) || u < 0) return 0;
  return u >= 1 ? 1 - Number.EPSILON : u;
}
