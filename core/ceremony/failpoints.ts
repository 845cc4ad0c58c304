/**
 * @module ceremony/failpoints
 * Crash injection for rehearsals: `NEAM_CA_FAILPOINT=<step-id>:<phase>` makes the runner kill its
 * own process with SIGKILL at that point (`after-started`, `after-act`, `after-completed`,
 * `after-signed`), so crash recovery is tested at exact points with a real kill. Honoured only in
 * rehearsals; a live ceremony refuses to start while it is set.
 *
 * Must never: fire in a live ceremony.
 */

/** The phases a failpoint can name. */
export const FAILPOINT_PHASES = ['after-started', 'after-act', 'after-completed', 'after-signed'] as const;
/** A phase of a step. */
export type FailpointPhase = (typeof FAILPOINT_PHASES)[number];

/**
 * True when `spec` names this step and phase. Besides the runner's phases, an action may offer its
 * own (e.g. `custodian-enrollment`'s `before-pin-change` and `after-so-pin-change`).
 */
export function failpointArmed(spec: string | undefined, step: string, phase: string): boolean {
  return spec !== undefined && spec === `${step}:${phase}`;
}

/** Kills this process with SIGKILL when `spec` names this step and phase. */
export function failpoint(spec: string | undefined, step: string, phase: string): void {
  if (!failpointArmed(spec, step, phase)) return;
  process.kill(process.pid, 'SIGKILL');
  // The kill is delivered at once; block so nothing else runs in the meantime.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
}
