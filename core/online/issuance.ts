/**
 * @module online/issuance
 * The issuance fast path as pure functions: from a PEM request and the names an entry allows, to
 * the signed X.509-SVID. Steps: strict PEM and DER parsing, key type (P-256/P-384), proof of
 * possession, the requested SANs against the entry, validity (backdated by a small cushion,
 * capped at the intermediate's notAfter), a 126-bit random serial, the TBS from the compiled
 * template, the signature, the certificate. Time and randomness come in as parameters. The same
 * code runs in the worker threads and, in token mode or with zero workers, on the main thread.
 *
 * Must never: issue for names other than the ones the caller passes (the entry's), or a validity
 * that extends past the intermediate.
 */
import { createHash, randomFillSync, sign as nodeSign, type KeyObject } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { decodeCsrPem, parseCsr, verifyCsr, type ParsedCsr } from './csr.ts';
import { assembleCertificate, buildTbs, type SvidFields, type SvidTemplate } from './svid-template.ts';

/** How far certificates are backdated to absorb clock skew between hosts (SPIRE uses 10 s). */
export const NOT_BEFORE_CUSHION_MS = 30_000;
/** Random octets of a serial (after core/pki's 0x01 prefix octet): 128 random bits. */
export const SERIAL_RANDOM_BYTES = 16;

/** What to issue. */
export interface IssueRequest {
  /** The agent's PEM request. */
  readonly csrPem: string;
  /** The SPIFFE ID to certify (from the entry, already validated). */
  readonly spiffeId: string;
  /** DNS names the entry allows (already validated). */
  readonly dnsNames: readonly string[];
  /** IP addresses (only for the server's own certificate). */
  readonly ipAddresses?: readonly string[];
  /** Requested lifetime in seconds. */
  readonly ttlSeconds: number;
  /** The current time (ms since the epoch). */
  readonly nowMs: number;
}

/** A TBS ready to be signed, with the values that go into the record. */
export interface PreparedSvid {
  readonly tbs: Buffer;
  readonly serial: Buffer;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly spkiSha256: string;
}

/** A signed SVID. */
export interface IssuedSvid {
  readonly der: Buffer;
  /** Lower-case hex of the serial's content bytes. */
  readonly serialHex: string;
  readonly notBeforeMs: number;
  readonly notAfterMs: number;
  readonly spkiSha256: string;
}

/** Fills a buffer with random bytes (node's CSPRNG by default; tests pass a fixed source). */
export type RandomFill = (buf: Buffer) => void;

/**
 * The CSPRNG drawn in 4 KiB blocks: one randomFillSync per 240 serials instead of one per serial
 * (each call is a trip into OpenSSL's RNG, measurable at thousands of certificates a second).
 */
const pool = Buffer.alloc(4096);
let poolOffset = pool.length;
const defaultRandom: RandomFill = (buf) => {
  if (buf.length > pool.length) {
    randomFillSync(buf);
    return;
  }
  if (poolOffset + buf.length > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  pool.copy(buf, 0, poolOffset, poolOffset + buf.length);
  // Never hand out the same bytes twice.
  pool.fill(0, poolOffset, poolOffset + buf.length);
  poolOffset += buf.length;
};

/**
 * Checks the names a request asks for against the entry: a request may omit subjectAltName, or
 * name exactly the entry's SPIFFE ID and exactly its DNS names (in any order), nothing else.
 * @throws {CoreError} ERR_ONLINE_SAN_MISMATCH
 */
export function checkRequestedNames(csr: ParsedCsr, spiffeId: string, dnsNames: readonly string[]): void {
  const s = csr.sans;
  if (s === undefined) return;
  const problems: string[] = [];
  if (s.otherTypes.length > 0) problems.push(`it requests subjectAltName types the entry cannot grant (GeneralName tags ${[...new Set(s.otherTypes)].join(', ')})`);
  if (s.uris.length !== 1 || s.uris[0] !== spiffeId) problems.push(`it requests URI ${s.uris.length === 0 ? '(none)' : s.uris.map((u) => `'${u}'`).join(', ')} instead of exactly '${spiffeId}'`);
  const want = new Set(dnsNames);
  const got = new Set(s.dnsNames);
  const extra = [...got].filter((d) => !want.has(d));
  const missing = [...want].filter((d) => !got.has(d));
  if (extra.length > 0 || missing.length > 0 || got.size !== s.dnsNames.length) {
    problems.push(`its DNS names [${s.dnsNames.join(', ')}] differ from the entry's [${dnsNames.join(', ')}]`);
  }
  if (problems.length > 0) {
    throw new CoreError('ERR_ONLINE_SAN_MISMATCH', `the certificate request's subjectAltName does not match the entry: ${problems.join('; ')}. Omit subjectAltName from the request, or request exactly the entry's names`);
  }
}

/**
 * Parses, verifies and checks a request, and builds the TBS for it.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_PKI_CSR_INVALID, ERR_PKI_KEY_UNSUPPORTED, ERR_PKI_CSR_SIGNATURE_INVALID,
 *   ERR_ONLINE_SAN_MISMATCH, ERR_ONLINE_NO_ACTIVE_INTERMEDIATE, ERR_INPUT_TOO_LARGE
 */
export async function prepareSvid(template: SvidTemplate, req: IssueRequest, random: RandomFill = defaultRandom, offload = false): Promise<PreparedSvid> {
  const csr = parseCsr(decodeCsrPem(req.csrPem));
  await verifyCsr(csr, offload);
  checkRequestedNames(csr, req.spiffeId, req.dnsNames);
  return prepareFromKey(template, csr.spki, csr.spki.length - csr.point.length, req, random);
}

/**
 * Builds the TBS for an already validated public key (the server's own certificate, and
 * {@link prepareSvid}).
 * @throws {CoreError} ERR_ONLINE_NO_ACTIVE_INTERMEDIATE when the intermediate is not valid at `nowMs`
 */
export function prepareFromKey(template: SvidTemplate, spki: Buffer, keyBitsOffset: number, req: Omit<IssueRequest, 'csrPem'>, random: RandomFill = defaultRandom): PreparedSvid {
  const issuer = template.issuer;
  if (req.nowMs < issuer.notBeforeMs || req.nowMs >= issuer.notAfterMs) {
    throw new CoreError('ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', `intermediate ${issuer.id} is not valid now; no certificate was issued`);
  }
  if (!Number.isInteger(req.ttlSeconds) || req.ttlSeconds <= 0) throw new TypeError(`ttlSeconds must be a positive integer (got ${req.ttlSeconds})`);
  const notBeforeMs = Math.max(issuer.notBeforeMs, Math.floor((req.nowMs - NOT_BEFORE_CUSHION_MS) / 1000) * 1000);
  // Capped at the intermediate's notAfter: a leaf must never outlive its issuer.
  const notAfterMs = Math.min(issuer.notAfterMs, Math.floor((req.nowMs + req.ttlSeconds * 1000) / 1000) * 1000);
  // core/pki's serial form: a 0x01 octet (positive, fixed length, never sign-padded) and 128
  // random bits.
  const serial = Buffer.allocUnsafe(1 + SERIAL_RANDOM_BYTES);
  random(serial);
  serial[0] = 0x01;
  const fields: SvidFields = {
    serial,
    notBeforeMs,
    notAfterMs,
    spki,
    keyBitsOffset,
    spiffeId: req.spiffeId,
    dnsNames: req.dnsNames,
    ...(req.ipAddresses === undefined ? {} : { ipAddresses: req.ipAddresses }),
  };
  return { tbs: buildTbs(template, fields), serial, notBeforeMs, notAfterMs, spkiSha256: createHash('sha256').update(spki).digest('hex') };
}

/** Completes a prepared SVID with its signature. */
export function finishSvid(template: SvidTemplate, prepared: PreparedSvid, signature: Buffer): IssuedSvid {
  return {
    der: assembleCertificate(template, prepared.tbs, signature),
    serialHex: prepared.serial.toString('hex'),
    notBeforeMs: prepared.notBeforeMs,
    notAfterMs: prepared.notAfterMs,
    spkiSha256: prepared.spkiSha256,
  };
}

/** Signs a TBS with a software intermediate key. */
export function signTbs(template: SvidTemplate, key: KeyObject, tbs: Buffer): Buffer {
  return nodeSign(template.hash, tbs, key);
}

/** Signs a TBS on libuv's thread pool (keeps the calling thread free). */
export function signTbsOffloaded(template: SvidTemplate, key: KeyObject, tbs: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => nodeSign(template.hash, tbs, key, (err, sig) => (err === null ? resolve(sig) : reject(err))));
}

/**
 * The whole fast path with a software key: prepare, sign, assemble.
 * @throws {CoreError} as {@link prepareSvid}
 */
export async function issueSvid(template: SvidTemplate, key: KeyObject, req: IssueRequest, random: RandomFill = defaultRandom): Promise<IssuedSvid> {
  const prepared = await prepareSvid(template, req, random);
  return finishSvid(template, prepared, signTbs(template, key, prepared.tbs));
}
