/**
 * Quorum test fixtures: enrolment of a quorum with known passphrases, a random source that records
 * what it handed out (so secret scans know the activation secret), hand-built TBSCertificates and
 * certificates assembled from raw signatures (so "issued TBS equals approved bytes" is checked
 * without any PKI code), and a helper that captures CoreErrors.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier, Extension, Extensions, Name, SubjectPublicKeyInfo, TBSCertificate, Validity, Version } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';

import { isCoreError } from '../../../core/errors.ts';
import type { HsmModule } from '../../../core/hsm/index.ts';
import { deriveTokenPin, initTokenWithTemporaryPins, QuorumEnrollment, type CustodianFile, type Roster } from '../../../core/quorum/index.ts';
import type { ScryptParams } from '../../../core/quorum/seal.ts';
import { Secret } from '../../../core/util/secret.ts';

/** The cheapest scrypt cost the code accepts (unit tests); the Must-show tests use the default. */
export const FAST_KDF: ScryptParams = { N: 2 ** 14, r: 8, p: 1 };

/** Custodian names of the 3-of-5 fixture. */
export const FIVE = ['alice', 'bob', 'carol', 'dave', 'erin'] as const;

/** A passphrase per custodian (distinctive, so scans can find them). */
export function passphraseOf(name: string): string {
  return `${name} rides the purple tram at dawn 7`;
}

/** Random source that records every draw (tests only). */
export function recordingRandom(): { random: (n: number) => Buffer; draws: Buffer[] } {
  const draws: Buffer[] = [];
  return {
    draws,
    random: (n) => {
      const b = randomBytes(n);
      draws.push(Buffer.from(b));
      return b;
    },
  };
}

/** An enrolled quorum. */
export interface EnrolledQuorum {
  roster: Roster;
  files: Map<string, CustodianFile>;
  /** The token user PIN (the caller wipes it; sets it when the quorum was not committed to a token). */
  pin: Secret;
  /** The raw activation secret (first 32 bytes drawn), for scans. */
  secret: Buffer;
  approvalKeys: Map<string, KeyObject>;
}

/**
 * Enrols `names` with threshold `m`. With `token`, a free slot is initialised as `token.label` with
 * temporary in-memory PINs and the enrolment is committed to it (both PINs the quorum's); without,
 * the enrolment is finished and `pin` is the user PIN for the caller to set.
 */
export async function enrollQuorum(options: { ceremony?: string; names?: readonly string[]; threshold?: number; kdf?: ScryptParams; now?: Date; token?: { hsm: HsmModule; label: string } } = {}): Promise<EnrolledQuorum> {
  const names = options.names ?? FIVE;
  const rec = recordingRandom();
  const enrollment = await QuorumEnrollment.start({
    ceremony: options.ceremony ?? 'root-2027',
    threshold: options.threshold ?? 3,
    total: names.length,
    now: options.now ?? new Date('2027-01-10T09:00:00.000Z'),
    random: rec.random,
    kdf: options.kdf ?? FAST_KDF,
  });
  const files = new Map<string, CustodianFile>();
  const approvalKeys = new Map<string, KeyObject>();
  for (const name of names) {
    const approvalKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    approvalKeys.set(name, approvalKey);
    files.set(name, await enrollment.addCustodian({ name, passphrase: Secret.fromString(passphraseOf(name)), confirmation: Secret.fromString(passphraseOf(name)), approvalKey }));
  }
  const secret = rec.draws[0] as Buffer;
  if (options.token !== undefined) {
    const { temporarySoPin } = initTokenWithTemporaryPins(options.token.hsm, options.token.label);
    const session = options.token.hsm.openSession({ label: options.token.label });
    try {
      const { roster } = await enrollment.commitToToken(session, { temporarySoPin });
      return { roster, files, pin: deriveTokenPin(Secret.fromBytes(Buffer.from(secret)), 'user'), secret, approvalKeys };
    } finally {
      temporarySoPin.wipe();
      session.close();
    }
  }
  const { roster, pin } = enrollment.finish();
  return { roster, files, pin, secret, approvalKeys };
}

/** The file of `name`, or throws. */
export function fileOf(q: EnrolledQuorum, name: string): CustodianFile {
  const f = q.files.get(name);
  if (f === undefined) throw new Error(`no file for ${name}`);
  return f;
}

/** Captures the CoreError a promise or function rejects with. */
export async function caught(fn: () => unknown): Promise<{ code: string; message: string; details?: Readonly<Record<string, unknown>> }> {
  try {
    await fn();
  } catch (e) {
    if (isCoreError(e)) return { code: e.code, message: e.message, ...(e.details === undefined ? {} : { details: e.details }) };
    throw e;
  }
  throw new Error('expected a CoreError, nothing was thrown');
}

function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

/** DER TLV. */
export function tlv(tag: number, body: Uint8Array): Buffer {
  return Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);
}

/** sha256WithRSAEncryption with NULL parameters (RFC 4055). */
export const RSA_SHA256 = new AlgorithmIdentifier({ algorithm: '1.2.840.113549.1.1.11', parameters: new Uint8Array([0x05, 0x00]).buffer });

/** Builds a TBSCertificate DER for a CA certificate (v3, basicConstraints CA, keyUsage certSign+cRLSign, SKI/AKI). */
export function buildCaTbs(options: { issuer: string; subject: string; subjectSpki: Buffer; issuerSpki: Buffer; notBefore: Date; days: number; pathLen?: number; serial?: Buffer }): Buffer {
  const ski = (spki: Buffer): string => {
    const info = AsnConvert.parse(spki, SubjectPublicKeyInfo);
    return createHash('sha1').update(Buffer.from(info.subjectPublicKey)).digest('hex');
  };
  const ext = (e: x509.Extension): Extension => AsnConvert.parse(e.rawData, Extension);
  const serial = options.serial ?? Buffer.concat([Buffer.from([0x01]), randomBytes(16)]);
  const tbs = new TBSCertificate({
    version: Version.v3,
    serialNumber: new Uint8Array(serial).buffer,
    signature: RSA_SHA256,
    issuer: AsnConvert.parse(new x509.Name(options.issuer).toArrayBuffer(), Name),
    validity: new Validity({ notBefore: options.notBefore, notAfter: new Date(options.notBefore.getTime() + options.days * 86_400_000) }),
    subject: AsnConvert.parse(new x509.Name(options.subject).toArrayBuffer(), Name),
    subjectPublicKeyInfo: AsnConvert.parse(options.subjectSpki, SubjectPublicKeyInfo),
    extensions: new Extensions([
      ext(new x509.BasicConstraintsExtension(true, options.pathLen, true)),
      ext(new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)),
      ext(new x509.SubjectKeyIdentifierExtension(ski(options.subjectSpki))),
      ext(new x509.AuthorityKeyIdentifierExtension(ski(options.issuerSpki))),
    ]),
  });
  return Buffer.from(AsnConvert.serialize(tbs));
}

/** Assembles a signed certificate from the exact TBS bytes, algorithm and signature (no re-encoding). */
export function assembleSigned(tbsDer: Buffer, signature: Buffer): Buffer {
  const alg = Buffer.from(AsnConvert.serialize(RSA_SHA256));
  const bits = tlv(0x03, Buffer.concat([Buffer.from([0x00]), signature]));
  return tlv(0x30, Buffer.concat([tbsDer, alg, bits]));
}

/** PEM of a DER certificate. */
export function certPem(der: Buffer): string {
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/gu, '$1\n').replace(/\n$/u, '')}\n-----END CERTIFICATE-----\n`;
}
