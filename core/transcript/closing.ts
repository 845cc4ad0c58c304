/**
 * @module transcript/closing
 * The closing record's signatures: who is listed as a signer (inside the signed body, so a
 * signature cannot be stripped without detection), the exact bytes they sign (the canonical JSON
 * of the closing record without its `signatures` member, which includes `prev`, the hash of
 * everything before), and the checks an auditor runs: each listed signer has exactly one valid
 * signature, an embedded certificate holds the signing key, and signers match pinned fingerprints.
 * Pure functions; signing goes through the {@link Signer} port (HSM or software key).
 *
 * Must never: accept a signature by a key not listed in the signed body, or treat a signer as
 * pinned on the strength of a certificate whose public key differs from the signing key.
 */
import { X509Certificate } from 'node:crypto';

import type { SignAlgorithm } from '../crypto/signer.ts';
import { verifySignature } from '../crypto/signer.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { isBase64, isPrintableText, isSha256Hex, recordBody, sha256Hex, type TranscriptRecord } from './record.ts';

/** A closing signer's part: the offline transfer key, or a witness's approval key. */
export type SignerKind = 'transfer' | 'witness';

const ALGORITHMS: readonly SignAlgorithm[] = ['ECDSA-SHA256', 'ECDSA-SHA384', 'RSA-PKCS1-SHA256', 'RSA-PKCS1-SHA384', 'RSA-PKCS1-SHA512'];
const ROLE = /^[a-z][a-z0-9-]{0,63}$/u;

/** A signer as listed in the closing record's signed `data.signers`. */
export interface SignerEntry {
  kind: SignerKind;
  /** The person (witness) or key (`transfer key`) name shown in the report. */
  name: string;
  /** Ceremony role of the signer. */
  role: string;
  algorithm: SignAlgorithm;
  /** SubjectPublicKeyInfo DER, base64. */
  spki: string;
  /** SHA-256 (hex) of the SPKI DER: the fingerprint that is read aloud and pinned. */
  spkiSha256: string;
  /** The signer's certificate (DER, base64), e.g. the transfer key's self-signed certificate. */
  certificate?: string;
  /** SHA-256 (hex) of the certificate DER. */
  certificateSha256?: string;
}

/** Fields of an embedded certificate, for the report. */
export interface CertificateFields {
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  sha256: string;
}

/** The result of checking one listed signer. */
export interface SignerCheck {
  kind: SignerKind;
  name: string;
  role: string;
  algorithm: SignAlgorithm;
  spkiSha256: string;
  certificateSha256?: string;
  certificate?: CertificateFields;
  /** A signature by this key over the body verifies. */
  signatureValid: boolean;
  /** Matches a pinned fingerprint; undefined when no pins were given for this kind. */
  pinned?: boolean;
  /** Why the signer failed, when it did. */
  problem?: string;
}

/** Pinned fingerprints (SHA-256 of the SPKI or of the certificate, hex; colons and spaces ignored). */
export interface SignerPins {
  /** The offline transfer key (any one of these). */
  transfer?: readonly string[];
  /** Witness approval keys: every witness signer must match one. */
  witnesses?: readonly string[];
}

/**
 * Normalises a fingerprint as people type it (`AB:CD…`, spaces, upper case) to 64 lower-case hex.
 * @throws {TypeError} when it is not a SHA-256 fingerprint
 */
export function normalizeFingerprint(fp: string): string {
  const hex = fp.replace(/[\s:]/gu, '').toLowerCase();
  if (!isSha256Hex(hex)) throw new TypeError(`'${fp.slice(0, 100)}' is not a SHA-256 fingerprint (64 hex digits, colons and spaces allowed)`);
  return hex;
}

/** The exact bytes every closing signature covers: canonical JSON of the record without `signatures`. */
export function closingBodyBytes(record: TranscriptRecord): Buffer {
  return canonicalJsonBytes(recordBody(record));
}

/**
 * Reads `data.signers` of a closing record, or says what is wrong with it. A completed ceremony
 * lists exactly one transfer key; an aborted one at most one (a root ceremony aborted before its
 * transfer key exists is closed by the witnesses alone).
 */
export function parseSignerEntries(value: unknown, outcome: unknown = 'completed'): { ok: true; signers: SignerEntry[] } | { ok: false; problem: string } {
  if (!Array.isArray(value) || value.length === 0 || value.length > 64) return { ok: false, problem: 'data.signers must list 1-64 signers' };
  const signers: SignerEntry[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of value.entries()) {
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { ok: false, problem: `data.signers[${i}] must be an object` };
    const s = raw as Record<string, unknown>;
    const allowed = new Set(['kind', 'name', 'role', 'algorithm', 'spki', 'spkiSha256', 'certificate', 'certificateSha256']);
    const unknown = Object.keys(s).find((k) => !allowed.has(k));
    if (unknown !== undefined) return { ok: false, problem: `data.signers[${i}] has an unknown member '${unknown}'` };
    if (s['kind'] !== 'transfer' && s['kind'] !== 'witness') return { ok: false, problem: `data.signers[${i}].kind must be 'transfer' or 'witness'` };
    if (!isPrintableText(s['name'], 200)) return { ok: false, problem: `data.signers[${i}].name must be printable text` };
    if (typeof s['role'] !== 'string' || !ROLE.test(s['role'])) return { ok: false, problem: `data.signers[${i}].role must be a role name` };
    if (!ALGORITHMS.includes(s['algorithm'] as SignAlgorithm)) return { ok: false, problem: `data.signers[${i}].algorithm must be one of ${ALGORITHMS.join(', ')}` };
    if (!isBase64(s['spki'], 4096)) return { ok: false, problem: `data.signers[${i}].spki must be base64 DER` };
    if (!isSha256Hex(s['spkiSha256']) || sha256Hex(Buffer.from(s['spki'], 'base64')) !== s['spkiSha256']) return { ok: false, problem: `data.signers[${i}].spkiSha256 is not the SHA-256 of its spki` };
    const hasCert = Object.hasOwn(s, 'certificate');
    if (hasCert !== Object.hasOwn(s, 'certificateSha256')) return { ok: false, problem: `data.signers[${i}] must carry certificate and certificateSha256 together` };
    if (hasCert) {
      if (!isBase64(s['certificate'], 64 * 1024)) return { ok: false, problem: `data.signers[${i}].certificate must be base64 DER` };
      if (!isSha256Hex(s['certificateSha256']) || sha256Hex(Buffer.from(s['certificate'], 'base64')) !== s['certificateSha256']) return { ok: false, problem: `data.signers[${i}].certificateSha256 is not the SHA-256 of its certificate` };
    }
    if (seen.has(s['spkiSha256'])) return { ok: false, problem: `data.signers[${i}] lists the same key twice (${s['spkiSha256']})` };
    seen.add(s['spkiSha256']);
    signers.push(s as unknown as SignerEntry);
  }
  const transfers = signers.filter((s) => s.kind === 'transfer').length;
  if (outcome === 'aborted' ? transfers > 1 : transfers !== 1) return { ok: false, problem: `data.signers must list ${outcome === 'aborted' ? 'at most' : 'exactly'} one transfer key` };
  return { ok: true, signers };
}

function certificateFields(der: Buffer): { fields: CertificateFields; spki: Buffer } | undefined {
  try {
    const c = new X509Certificate(der);
    return {
      fields: { subject: c.subject.replace(/\n/gu, ', '), issuer: c.issuer.replace(/\n/gu, ', '), serial: c.serialNumber.toLowerCase(), notBefore: new Date(c.validFrom).toISOString(), notAfter: new Date(c.validTo).toISOString(), sha256: sha256Hex(der) },
      spki: c.publicKey.export({ type: 'spki', format: 'der' }),
    };
  } catch {
    return undefined;
  }
}

/**
 * Checks every listed signer of a closing record against its signatures and the pins.
 * Returns one check per listed signer plus problems with the signature list itself (a signature
 * by an unlisted key, a duplicate). Never throws.
 */
export function checkClosingSignatures(record: TranscriptRecord, pins: SignerPins = {}): { signers: SignerCheck[]; listProblems: string[]; entriesProblem?: string } {
  const parsed = parseSignerEntries(record.data['signers'], record.data['outcome']);
  if (!parsed.ok) return { signers: [], listProblems: [], entriesProblem: parsed.problem };
  const body = closingBodyBytes(record);
  const sigs = record.signatures ?? [];
  const listProblems: string[] = [];
  const listed = new Set(parsed.signers.map((s) => s.spkiSha256));
  const bySigner = new Map<string, string[]>();
  for (const s of sigs) {
    if (!listed.has(s.spkiSha256)) listProblems.push(`a signature names key ${s.spkiSha256}, which is not listed in data.signers`);
    bySigner.set(s.spkiSha256, [...(bySigner.get(s.spkiSha256) ?? []), s.signature]);
  }
  const transferPins = pins.transfer?.map(normalizeFingerprint);
  const witnessPins = pins.witnesses?.map(normalizeFingerprint);
  const checks = parsed.signers.map((entry): SignerCheck => {
    const check: SignerCheck = { kind: entry.kind, name: entry.name, role: entry.role, algorithm: entry.algorithm, spkiSha256: entry.spkiSha256, signatureValid: false };
    const spki = Buffer.from(entry.spki, 'base64');
    const problems: string[] = [];
    if (entry.certificate !== undefined) {
      check.certificateSha256 = entry.certificateSha256 as string;
      const cert = certificateFields(Buffer.from(entry.certificate, 'base64'));
      if (cert === undefined) problems.push('its embedded certificate cannot be parsed');
      else {
        check.certificate = cert.fields;
        if (!cert.spki.equals(spki)) problems.push('its embedded certificate holds a different public key than the one that signs');
      }
    }
    const found = bySigner.get(entry.spkiSha256) ?? [];
    if (found.length === 0) problems.push('no signature by this key');
    else if (found.length > 1) problems.push(`${found.length} signatures by this key (exactly one expected)`);
    else check.signatureValid = verifySignature(entry.algorithm, spki, body, Buffer.from(found[0] as string, 'base64'));
    if (found.length === 1 && !check.signatureValid) problems.push(`its ${entry.algorithm} signature does not verify over the closing record`);
    const kindPins = entry.kind === 'transfer' ? transferPins : witnessPins;
    if (kindPins !== undefined) {
      // A certificate fingerprint only counts when the certificate holds this very key (checked above).
      const certOk = check.certificate !== undefined && !problems.some((p) => p.includes('certificate'));
      check.pinned = kindPins.includes(entry.spkiSha256) || (certOk && entry.certificateSha256 !== undefined && kindPins.includes(entry.certificateSha256));
    }
    if (problems.length > 0) check.problem = problems.join('; ');
    return check;
  });
  return { signers: checks, listProblems };
}
