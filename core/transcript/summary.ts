/**
 * @module transcript/summary
 * Reads a verified transcript into what a printed record shows: participants and their roles,
 * steps with start and finish times, sign-offs and outputs, every fingerprint (any SHA-256 found in
 * any record's data, with where it appears), certificates (any object carrying a subject and a
 * serial or SHA-256), and the closing signers. Pure; tolerant of record types it does not know
 * (they still appear in the full log), never throws on odd data.
 *
 * Must never: present anything from lines that failed verification as verified (those stay in
 * `unverified` and are shown apart).
 */
import type { SignerCheck } from './closing.ts';
import { RECORD_TYPES } from './conventions.ts';
import { GENESIS_PREV, type JsonValue, type TranscriptRecord } from './record.ts';
import type { TranscriptVerification } from './verify.ts';

/** One participant and the roles they acted in. */
export interface Participant {
  name: string;
  roles: string[];
  /** Time of the first record naming them. */
  firstSeen: string;
  /** Records they are the actor of. */
  records: number;
  /** They co-signed (or their key signed) the closing record. */
  signedClosing: boolean;
}

/** A sign-off of a step. */
export interface SignOff {
  name: string;
  role: string;
  time: string;
  seq: number;
}

/** An output file of a step. */
export interface StepOutput {
  name: string;
  sha256?: string;
  size?: number;
}

/** A ceremony step as the records tell it. */
export interface StepSummary {
  id: string;
  title?: string;
  action?: string;
  state: 'started' | 'completed' | 'failed' | 'skipped';
  started?: string;
  finished?: string;
  signOffs: SignOff[];
  outputs: StepOutput[];
  /** Failure or skip reason. */
  note?: string;
}

/** A place a fingerprint appears. */
export interface FingerprintUse {
  seq: number;
  type: string;
  /** Dotted path inside the record, e.g. `data.certificate.sha256`. */
  path: string;
  /** What it identifies (the name, label or subject next to it), when known. */
  label?: string;
}

/** A fingerprint (SHA-256, lower-case hex) and everywhere it appears. */
export interface Fingerprint {
  value: string;
  /** What kind of digest: `SHA-256`, `SHA-256 of SPKI`, `SHA-256 of certificate`, … */
  kind: string;
  uses: FingerprintUse[];
}

/** A certificate as recorded (fields are whatever the record carried). */
export interface CertificateSummary {
  subject: string;
  issuer?: string;
  serial?: string;
  notBefore?: string;
  notAfter?: string;
  sha256?: string;
  spkiSha256?: string;
  seq: number;
  type: string;
}

/** Everything the report shows, derived from a verification result. */
export interface TranscriptSummary {
  title: string;
  ceremony: string;
  rehearsal: boolean;
  status: 'verified' | 'open' | 'failed';
  script?: { name?: string; sha256?: string };
  opened?: string;
  closed?: string;
  outcome?: string;
  participants: Participant[];
  steps: StepSummary[];
  fingerprints: Fingerprint[];
  certificates: CertificateSummary[];
  signers: SignerCheck[];
  previousHead?: string;
  genesis: boolean;
  resumes: Array<{ seq: number; time: string; tornTail?: { bytes: number; sha256: string; savedAs: string } }>;
}

const HEX64 = /^[0-9a-fA-F]{64}$/u;
const COLON_HEX = /^(?:[0-9a-fA-F]{2}:){31}[0-9a-fA-F]{2}$/u;

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v.length > 0 ? v : undefined;
}

function isObject(v: unknown): v is Record<string, JsonValue> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function digestKind(key: string, path: string): string {
  const k = key.toLowerCase();
  if (path.toLowerCase().includes('script')) return 'SHA-256 of ceremony script';
  if (k.includes('spki')) return 'SHA-256 of public key (SPKI)';
  if (k.includes('cert')) return 'SHA-256 of certificate';
  if (k.includes('script')) return 'SHA-256 of ceremony script';
  if (k === 'head' || k.includes('transcript')) return 'transcript head';
  return 'SHA-256';
}

function labelOf(obj: Record<string, JsonValue>): string | undefined {
  for (const k of ['name', 'label', 'subject', 'title', 'file', 'path']) {
    const s = str(obj[k]);
    if (s !== undefined) return s;
  }
  return undefined;
}

/** Finds fingerprints and certificates in one record's data (iterative; depth-bounded by the writer). */
function scan(record: TranscriptRecord, fps: Map<string, Fingerprint>, certs: CertificateSummary[]): void {
  const stack: Array<{ v: JsonValue; path: string; parent?: Record<string, JsonValue>; key: string }> = [{ v: record.data, path: 'data', key: 'data' }];
  while (stack.length > 0) {
    const { v, path, parent, key } = stack.pop() as { v: JsonValue; path: string; parent?: Record<string, JsonValue>; key: string };
    if (typeof v === 'string') {
      if (HEX64.test(v) || COLON_HEX.test(v)) {
        const value = v.replace(/:/gu, '').toLowerCase();
        const fp = fps.get(value) ?? { value, kind: digestKind(key, path), uses: [] };
        const label = parent === undefined ? undefined : labelOf(parent);
        fp.uses.push({ seq: record.seq, type: record.type, path, ...(label === undefined || label === v ? {} : { label }) });
        fps.set(value, fp);
      }
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i] as JsonValue, path: `${path}[${i}]`, key, ...(parent === undefined ? {} : { parent }) });
      continue;
    }
    if (!isObject(v)) continue;
    const subject = str(v['subject']);
    // A certificate as the runner records it: at least a subject and a serial (docs/transcript.md).
    if (subject !== undefined && str(v['serial']) !== undefined && !certs.some((c) => c.subject === subject && c.serial === v['serial'] && c.sha256 === v['sha256'])) {
      const c: CertificateSummary = { subject, seq: record.seq, type: record.type };
      for (const f of ['issuer', 'serial', 'notBefore', 'notAfter', 'sha256', 'spkiSha256'] as const) {
        const s = str(v[f]);
        if (s !== undefined) c[f] = s;
      }
      certs.push(c);
    }
    const keys = Object.keys(v).sort().reverse();
    for (const k of keys) stack.push({ v: v[k] as JsonValue, path: `${path}.${k}`, parent: v, key: k });
  }
}

function outputsOf(v: unknown): StepOutput[] {
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((o) => {
    const out: StepOutput = { name: str(o['name']) ?? str(o['path']) ?? str(o['file']) ?? '(unnamed)' };
    const sha = str(o['sha256']);
    if (sha !== undefined) out.sha256 = sha;
    if (typeof o['size'] === 'number') out.size = o['size'];
    return out;
  });
}

/** Derives the report's content from a verification result. Pure; never throws. */
export function summarizeTranscript(v: TranscriptVerification): TranscriptSummary {
  const records = v.records;
  const first = records[0];
  const last = records[records.length - 1];
  const title = str(first?.data['title']) ?? `Ceremony ${v.ceremony ?? '(unknown)'}`;
  const script = isObject(first?.data['script']) ? (first.data['script'] as Record<string, JsonValue>) : undefined;
  const people = new Map<string, Participant>();
  const see = (name: string, role: string, time: string, actor: boolean): void => {
    const p = people.get(name) ?? { name, roles: [], firstSeen: time, records: 0, signedClosing: false };
    if (!p.roles.includes(role)) p.roles.push(role);
    if (actor) p.records++;
    people.set(name, p);
  };
  const steps = new Map<string, StepSummary>();
  const fps = new Map<string, Fingerprint>();
  const certs: CertificateSummary[] = [];
  const resumes: TranscriptSummary['resumes'] = [];
  for (const r of records) {
    see(r.actor, r.role, r.time, true);
    if (r.type === RECORD_TYPES.participantRegistered && str(r.data['name']) !== undefined && str(r.data['role']) !== undefined) see(r.data['name'] as string, r.data['role'] as string, r.time, false);
    if (r.type === 'transcript.resumed') {
      const t = r.data['tornTail'];
      resumes.push({
        seq: r.seq,
        time: r.time,
        ...(isObject(t) && typeof t['bytes'] === 'number' && str(t['sha256']) !== undefined ? { tornTail: { bytes: t['bytes'], sha256: t['sha256'] as string, savedAs: str(t['savedAs']) ?? '' } } : {}),
      });
    }
    const stepId = str(r.data['step']);
    if (stepId !== undefined && r.type.startsWith('step.')) {
      const s = steps.get(stepId) ?? { id: stepId, state: 'started', signOffs: [], outputs: [] };
      const title = str(r.data['title']);
      const action = str(r.data['action']);
      if (title !== undefined) s.title = title;
      if (action !== undefined) s.action = action;
      if (r.type === RECORD_TYPES.stepStarted) s.started ??= r.time;
      else if (r.type === RECORD_TYPES.stepCompleted) {
        s.state = 'completed';
        s.finished = r.time;
        s.outputs.push(...outputsOf(r.data['outputs']));
      } else if (r.type === RECORD_TYPES.stepFailed || r.type === RECORD_TYPES.stepSkipped) {
        s.state = r.type === RECORD_TYPES.stepFailed ? 'failed' : 'skipped';
        s.finished = r.time;
        const err = r.data['error'];
        const note = isObject(err) ? [str(err['code']), str(err['message'])].filter(Boolean).join(': ') : str(r.data['reason']);
        if (note !== undefined && note !== '') s.note = note;
      } else if (r.type === RECORD_TYPES.stepSignedOff) {
        s.signOffs.push({ name: str(r.data['name']) ?? r.actor, role: str(r.data['role']) ?? r.role, time: r.time, seq: r.seq });
      }
      steps.set(stepId, s);
    }
    scan(r, fps, certs);
  }
  for (const s of v.signers) {
    see(s.name, s.role, last?.time ?? '', false);
    const p = people.get(s.name);
    if (p !== undefined) p.signedClosing = true;
    if (s.certificate !== undefined) certs.push({ subject: s.certificate.subject, issuer: s.certificate.issuer, serial: s.certificate.serial, notBefore: s.certificate.notBefore, notAfter: s.certificate.notAfter, sha256: s.certificate.sha256, seq: last?.seq ?? 0, type: `${s.kind} certificate` });
  }
  const summary: TranscriptSummary = {
    title,
    ceremony: v.ceremony ?? '(unknown)',
    rehearsal: v.rehearsal ?? false,
    status: v.ok ? 'verified' : v.intact && !v.closed ? 'open' : 'failed',
    participants: [...people.values()],
    steps: [...steps.values()],
    fingerprints: [...fps.values()],
    certificates: certs,
    signers: v.signers,
    genesis: v.previousHead === GENESIS_PREV,
    resumes,
  };
  if (script !== undefined) summary.script = { ...(str(script['name']) === undefined ? {} : { name: script['name'] as string }), ...(str(script['sha256']) === undefined ? {} : { sha256: script['sha256'] as string }) };
  if (first !== undefined) summary.opened = first.time;
  if (v.closed && last !== undefined) {
    summary.closed = last.time;
    const outcome = str(last.data['outcome']);
    if (outcome !== undefined) summary.outcome = outcome;
  }
  if (v.previousHead !== undefined) summary.previousHead = v.previousHead;
  return summary;
}
