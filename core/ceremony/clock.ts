/**
 * @module ceremony/clock
 * The clock check's arithmetic (pure): parse the reference time a person reads from an independent
 * clock, and compute the workstation's skew against it. Offline machines drift; certificates signed
 * with a wrong clock are "not yet valid" or expire early, so the skew is measured and recorded.
 *
 * Must never: read the clock itself (callers pass `now`).
 */

/** A parsed reference reading. */
export interface ClockReading {
  /** The reference time as entered, resolved to an instant. */
  reference: Date;
  /** How the reading was given. */
  form: 'iso' | 'time-of-day' | 'workstation';
}

/** Formats an instant as `YYYY-MM-DDTHH:MM:SSZ` (second precision, UTC). */
export function utcSeconds(d: Date): string {
  return `${d.toISOString().slice(0, 19)}Z`;
}

/**
 * Parses a reference reading relative to the workstation's `now`:
 *  - `YYYY-MM-DDTHH:MM:SSZ` (or with `+00:00`),
 *  - `HH:MM:SS` (UTC; the date nearest to `now`, so a reading just past midnight works),
 *  - in rehearsals only, `workstation`, `workstation+N` or `workstation-N` (seconds): the answers
 *    file cannot know the time in advance.
 * Returns an error sentence instead of throwing.
 */
export function parseReferenceTime(text: string, now: Date, options: { allowWorkstation: boolean }): ClockReading | { error: string } {
  const t = text.trim();
  const ws = /^workstation(?:([+-])(\d{1,6}))?$/u.exec(t);
  if (ws !== null) {
    if (!options.allowWorkstation) return { error: "'workstation' is only accepted in rehearsals; type the time shown by the reference clock" };
    const offset = ws[1] === undefined ? 0 : (ws[1] === '-' ? -1 : 1) * Number(ws[2]);
    // The reading is what the reference shows: a reference ahead by N seconds reads now + N.
    return { reference: new Date(now.getTime() + offset * 1000), form: 'workstation' };
  }
  const iso = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(?:Z|\+00:?00)$/u.exec(t);
  if (iso !== null) {
    const [, y, mo, d, h, mi, s] = iso.map(Number) as [number, number, number, number, number, number, number];
    const ms = Date.UTC(y, mo - 1, d, h, mi, s);
    const back = new Date(ms);
    if (Number.isNaN(ms) || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) return { error: `'${t}' is not a valid UTC time` };
    return { reference: back, form: 'iso' };
  }
  const tod = /^(\d{1,2}):(\d{2}):(\d{2})$/u.exec(t);
  if (tod !== null) {
    const [h, mi, s] = [Number(tod[1]), Number(tod[2]), Number(tod[3])];
    if (h > 23 || mi > 59 || s > 59) return { error: `'${t}' is not a valid time of day` };
    const base = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), h, mi, s);
    const day = 86_400_000;
    const candidates = [base - day, base, base + day];
    const best = candidates.reduce((a, b) => (Math.abs(b - now.getTime()) < Math.abs(a - now.getTime()) ? b : a));
    return { reference: new Date(best), form: 'time-of-day' };
  }
  return { error: `'${t}' is not a time: type the reference clock's UTC time as HH:MM:SS or YYYY-MM-DDTHH:MM:SSZ` };
}

/** Skew of the workstation against the reference, in whole seconds (positive: workstation ahead). */
export function clockSkewSeconds(workstation: Date, reference: Date): number {
  return Math.round((workstation.getTime() - reference.getTime()) / 1000);
}
