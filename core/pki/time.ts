/**
 * @module pki/time
 * Durations as written in profiles (`10y`, `90d`, `24h`, `5m`, `30s`) and X.509 time rules
 * (RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050, whole seconds, `Z`).
 * Calendar years are added on the calendar (10y from 2026-03-01 ends 2036-03-01).
 *
 * Must never: read the clock; callers pass `now`.
 */
import { CoreError } from '../errors.ts';

/** A parsed duration. */
export interface Duration {
  amount: number;
  unit: 'y' | 'd' | 'h' | 'm' | 's';
}

const DURATION = /^([0-9]{1,6})(y|d|h|m|s)$/u;

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1000 } as const;

/** True when `text` is a duration like `90d`. */
export function isDuration(text: string): boolean {
  return DURATION.test(text);
}

/**
 * Parses `90d`, `10y`, `24h`, `5m`, `30s`.
 * @throws {CoreError} ERR_INPUT_INVALID
 */
export function parseDuration(text: string): Duration {
  const m = DURATION.exec(text);
  if (m === null) throw new CoreError('ERR_INPUT_INVALID', `'${text}' is not a duration; write a whole number and a unit: y (years), d, h, m or s (e.g. 90d)`);
  return { amount: Number(m[1]), unit: m[2] as Duration['unit'] };
}

/** `from` plus a duration (text or parsed). Calendar years keep month, day and time of day. */
export function addDuration(from: Date, duration: string | Duration): Date {
  const d = typeof duration === 'string' ? parseDuration(duration) : duration;
  if (d.unit === 'y') {
    const out = new Date(from.getTime());
    out.setUTCFullYear(out.getUTCFullYear() + d.amount);
    // 29 February plus a non-leap year lands on 1 March; keep it (never longer than the day count).
    return out;
  }
  return new Date(from.getTime() + d.amount * UNIT_MS[d.unit]);
}

/** `from` minus a duration. */
export function subtractDuration(from: Date, duration: string | Duration): Date {
  const d = typeof duration === 'string' ? parseDuration(duration) : duration;
  return addDuration(from, { amount: -d.amount, unit: d.unit });
}

/** Drops milliseconds (X.509 times have whole seconds). */
export function wholeSeconds(d: Date): Date {
  return new Date(Math.floor(d.getTime() / 1000) * 1000);
}

/** ISO-8601 text of a time, seconds precision (`2026-12-01T10:00:00Z`). */
export function isoSeconds(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/u, 'Z');
}

/** A readable span (`90 days`, `10 years 2 days`, `24 hours`). */
export function describeSpan(ms: number): string {
  const days = Math.floor(ms / 86_400_000);
  const rest = ms - days * 86_400_000;
  const hours = Math.floor(rest / 3_600_000);
  const minutes = Math.floor((rest - hours * 3_600_000) / 60_000);
  const seconds = Math.round((rest - hours * 3_600_000 - minutes * 60_000) / 1000);
  const parts: string[] = [];
  if (days > 0) parts.push(`${days} day${days === 1 ? '' : 's'}`);
  if (hours > 0) parts.push(`${hours} hour${hours === 1 ? '' : 's'}`);
  if (minutes > 0) parts.push(`${minutes} minute${minutes === 1 ? '' : 's'}`);
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds} second${seconds === 1 ? '' : 's'}`);
  return parts.join(' ');
}

/**
 * Decodes the value of a UTCTime (tag 0x17) or GeneralizedTime (0x18) under RFC 5280's
 * profile: `YYMMDDHHMMSSZ` or `YYYYMMDDHHMMSSZ`, no fractions, no offsets.
 * @throws {CoreError} ERR_PKI_DER_INVALID
 */
export function decodeX509Time(tag: number, value: Buffer, what: string): Date {
  const text = value.toString('latin1');
  const m = tag === 0x17 ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/u.exec(text) : tag === 0x18 ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/u.exec(text) : null;
  if (m === null) throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: a time '${text.replace(/[^\x20-\x7e]/gu, '?')}' that is not ${tag === 0x18 ? 'YYYYMMDDHHMMSSZ' : 'YYMMDDHHMMSSZ'} (RFC 5280 §4.1.2.5)`);
  let year = Number(m[1]);
  if (tag === 0x17) year += year >= 50 ? 1900 : 2000;
  const [mo, d, h, mi, s] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, s));
  if (date.getUTCFullYear() !== year || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || s > 59) {
    throw new CoreError('ERR_PKI_DER_INVALID', `${what} is not valid DER: '${text}' is not a real date and time`);
  }
  return date;
}

/** The tag RFC 5280 requires for a time: UTCTime (0x17) through 2049, GeneralizedTime (0x18) after. */
export function x509TimeTag(d: Date): 0x17 | 0x18 {
  return d.getUTCFullYear() <= 2049 ? 0x17 : 0x18;
}
