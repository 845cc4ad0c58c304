/**
 * @module online/csr
 * Strict, fast reading of the PKCS#10 certificate requests agents send (RFC 2986): one PEM block
 * (RFC 7468 strict base64, nothing around it), DER that spans the whole input, version 0, an
 * ECDSA P-256 or P-384 key in its canonical SubjectPublicKeyInfo, an ecdsa-with-SHA256/384
 * signature that verifies (proof of possession), and the subjectAltName request, if any, read
 * out so it can be compared with the registration entry. The subject and every other requested
 * extension are ignored: the issued SVID takes its names from the entry only.
 *
 * Must never: copy anything from a request into a certificate except the public key, or accept a
 * key other than P-256/P-384.
 */
import { KeyObject, verify as nodeVerify, webcrypto } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { DerError, expectTlv, readTlv } from './der.ts';

/** Largest CSR accepted (DER bytes); a P-384 CSR with a long SAN is well under 4 KiB. */
export const MAX_CSR_DER_BYTES = 8192;

/** Curves accepted for workload and node keys. */
export type CsrCurve = 'P-256' | 'P-384';

/** What the request asks for in its subjectAltName extension. */
export interface RequestedSans {
  uris: string[];
  dnsNames: string[];
  /** GeneralName types other than URI and DNS (tag numbers), which no entry allows. */
  otherTypes: number[];
}

/** A structurally valid request (signature not yet verified). */
export interface ParsedCsr {
  readonly der: Buffer;
  /** The DER of certificationRequestInfo (the signed bytes). */
  readonly info: Buffer;
  /** The SubjectPublicKeyInfo DER, canonical for its curve. */
  readonly spki: Buffer;
  readonly curve: CsrCurve;
  /** Uncompressed EC point (0x04‖X‖Y). */
  readonly point: Buffer;
  readonly hash: 'sha256' | 'sha384';
  /** DER Ecdsa-Sig-Value. */
  readonly signature: Buffer;
  /** The requested SANs, or undefined when the request has no subjectAltName extension. */
  readonly sans: RequestedSans | undefined;
}

// SubjectPublicKeyInfo prefixes (RFC 5480): SEQUENCE { SEQUENCE { id-ecPublicKey, namedCurve }, BIT STRING 00 04… }
const SPKI_PREFIX = {
  'P-256': Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
  'P-384': Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
} as const;
const POINT_LEN = { 'P-256': 65, 'P-384': 97 } as const;
const ID_EC_PUBLIC_KEY = Buffer.from('2a8648ce3d0201', 'hex');
const ID_RSA = Buffer.from('2a864886f70d010101', 'hex');
const ID_ED25519 = Buffer.from('2b6570', 'hex');
const CURVE_NAMES: Record<string, string> = {
  '2b81040023': 'P-521',
  '2b8104000a': 'secp256k1',
  '2b2403030208010107': 'brainpoolP256r1',
};
const ECDSA_SHA256 = Buffer.from('2a8648ce3d040302', 'hex');
const ECDSA_SHA384 = Buffer.from('2a8648ce3d040303', 'hex');
const EXTENSION_REQUEST = Buffer.from('2a864886f70d01090e', 'hex');
const SAN = Buffer.from('551d11', 'hex');

const PEM_RE = /^\s*-----BEGIN (NEW )?CERTIFICATE REQUEST-----\r?\n([A-Za-z0-9+/=\r\n]*?)\r?\n?-----END (NEW )?CERTIFICATE REQUEST-----\s*$/u;

function bad(message: string): CoreError {
  return new CoreError('ERR_PKI_CSR_INVALID', `the certificate request is malformed: ${message}. Send one PEM 'CERTIFICATE REQUEST' (PKCS#10) for a P-256 or P-384 key`);
}

/**
 * Decodes one strict PEM `CERTIFICATE REQUEST` block into DER.
 * @throws {CoreError} ERR_PKI_PEM_INVALID, ERR_INPUT_TOO_LARGE
 */
export function decodeCsrPem(pem: string): Buffer {
  if (typeof pem !== 'string') throw new CoreError('ERR_PKI_PEM_INVALID', 'the certificate request must be a PEM string');
  if (pem.length > MAX_CSR_DER_BYTES * 2) throw new CoreError('ERR_INPUT_TOO_LARGE', `the certificate request is larger than ${MAX_CSR_DER_BYTES} bytes`);
  const m = PEM_RE.exec(pem);
  if (m === null) {
    const hasBlock = pem.includes('-----BEGIN CERTIFICATE REQUEST-----');
    throw new CoreError(
      'ERR_PKI_PEM_INVALID',
      hasBlock
        ? 'the certificate request PEM is not strict: exactly one BEGIN/END CERTIFICATE REQUEST block of base64 lines, with nothing before or after it'
        : "no PEM 'CERTIFICATE REQUEST' block found",
    );
  }
  if ((m[1] ?? '') !== (m[3] ?? '')) throw new CoreError('ERR_PKI_PEM_INVALID', 'the certificate request PEM BEGIN and END labels differ');
  const b64 = (m[2] ?? '').replace(/\r?\n/gu, '');
  if (b64.length === 0 || b64.length % 4 !== 0 || /=[^=]/u.test(b64) || /={3}/u.test(b64)) {
    throw new CoreError('ERR_PKI_PEM_INVALID', 'the certificate request PEM body is not valid base64');
  }
  const der = Buffer.from(b64, 'base64');
  if (der.toString('base64') !== b64) throw new CoreError('ERR_PKI_PEM_INVALID', 'the certificate request PEM body is not canonical base64');
  return der;
}

function same(buf: Uint8Array, start: number, end: number, ref: Buffer): boolean {
  if (end - start !== ref.length) return false;
  for (let i = 0; i < ref.length; i++) if (buf[start + i] !== ref[i]) return false;
  return true;
}

function describeKey(der: Buffer, spkiStart: number, spkiEnd: number): string {
  try {
    const algSeq = expectTlv(der, readTlv(der, spkiStart, spkiEnd).valueStart, spkiEnd, 0x30, 'algorithm');
    const algOid = expectTlv(der, algSeq.valueStart, algSeq.end, 0x06, 'algorithm OID');
    if (same(der, algOid.valueStart, algOid.end, ID_RSA)) return 'an RSA key';
    if (same(der, algOid.valueStart, algOid.end, ID_ED25519)) return 'an Ed25519 key';
    if (same(der, algOid.valueStart, algOid.end, ID_EC_PUBLIC_KEY) && algOid.end < algSeq.end) {
      const curve = readTlv(der, algOid.end, algSeq.end);
      const hex = der.subarray(curve.valueStart, curve.end).toString('hex');
      return `an EC key on curve ${CURVE_NAMES[hex] ?? `OID ${hex}`}`;
    }
    return 'a key of an unsupported algorithm';
  } catch {
    return 'a malformed public key';
  }
}

function parseSans(der: Buffer, start: number, end: number): RequestedSans {
  const out: RequestedSans = { uris: [], dnsNames: [], otherTypes: [] };
  const names = expectTlv(der, start, end, 0x30, 'subjectAltName');
  if (names.end !== end) throw new DerError('subjectAltName has trailing bytes');
  let p = names.valueStart;
  while (p < names.end) {
    const gn = readTlv(der, p, names.end);
    const value = der.subarray(gn.valueStart, gn.end);
    if (gn.tag === 0x86) out.uris.push(value.toString('latin1'));
    else if (gn.tag === 0x82) out.dnsNames.push(value.toString('latin1'));
    else out.otherTypes.push(gn.tag & 0x1f);
    p = gn.end;
  }
  return out;
}

function parseAttributes(der: Buffer, start: number, end: number): RequestedSans | undefined {
  let sans: RequestedSans | undefined;
  let sawExtensionRequest = false;
  let p = start;
  while (p < end) {
    const attr = expectTlv(der, p, end, 0x30, 'attribute');
    const type = expectTlv(der, attr.valueStart, attr.end, 0x06, 'attribute type');
    if (same(der, type.valueStart, type.end, EXTENSION_REQUEST)) {
      if (sawExtensionRequest) throw new DerError('more than one extensionRequest attribute');
      sawExtensionRequest = true;
      const set = expectTlv(der, type.end, attr.end, 0x31, 'extensionRequest values');
      const exts = expectTlv(der, set.valueStart, set.end, 0x30, 'extensions');
      if (exts.end !== set.end || set.end !== attr.end) throw new DerError('extensionRequest must hold exactly one Extensions value');
      let q = exts.valueStart;
      while (q < exts.end) {
        const ext = expectTlv(der, q, exts.end, 0x30, 'extension');
        const id = expectTlv(der, ext.valueStart, ext.end, 0x06, 'extension OID');
        let r = id.end;
        let next = readTlv(der, r, ext.end);
        if (next.tag === 0x01) {
          r = next.end;
          next = readTlv(der, r, ext.end);
        }
        if (next.tag !== 0x04 || next.end !== ext.end) throw new DerError('extension value must be an OCTET STRING ending the extension');
        if (same(der, id.valueStart, id.end, SAN)) {
          if (sans !== undefined) throw new DerError('subjectAltName requested twice');
          sans = parseSans(der, next.valueStart, next.end);
        }
        q = ext.end;
      }
    }
    p = attr.end;
  }
  return sans;
}

/**
 * Parses a DER PKCS#10 request strictly (structure only; see {@link verifyCsr} for the signature).
 * @throws {CoreError} ERR_PKI_CSR_INVALID, ERR_PKI_KEY_UNSUPPORTED, ERR_INPUT_TOO_LARGE
 */
export function parseCsr(der: Buffer): ParsedCsr {
  if (der.length > MAX_CSR_DER_BYTES) throw new CoreError('ERR_INPUT_TOO_LARGE', `the certificate request is ${der.length} bytes; at most ${MAX_CSR_DER_BYTES} are accepted`);
  try {
    const outer = expectTlv(der, 0, der.length, 0x30, 'CertificationRequest');
    if (outer.end !== der.length) throw new DerError(`${der.length - outer.end} bytes of trailing data after the request`);
    const info = expectTlv(der, outer.valueStart, outer.end, 0x30, 'certificationRequestInfo');
    const version = expectTlv(der, info.valueStart, info.end, 0x02, 'version');
    if (version.end - version.valueStart !== 1 || der[version.valueStart] !== 0) throw new DerError('version must be 0 (v1)');
    const subject = expectTlv(der, version.end, info.end, 0x30, 'subject');
    const spki = expectTlv(der, subject.end, info.end, 0x30, 'subjectPKInfo');
    let curve: CsrCurve | undefined;
    for (const c of ['P-256', 'P-384'] as const) {
      const prefix = SPKI_PREFIX[c];
      if (spki.end - spki.start === prefix.length + POINT_LEN[c] && same(der, spki.start, spki.start + prefix.length, prefix) && der[spki.start + prefix.length] === 0x04) curve = c;
    }
    if (curve === undefined) {
      throw new CoreError('ERR_PKI_KEY_UNSUPPORTED', `the certificate request carries ${describeKey(der, spki.start, spki.end)}; only ECDSA P-256 and P-384 keys (uncompressed points) are accepted`);
    }
    let sans: RequestedSans | undefined;
    if (spki.end < info.end) {
      const attrs = expectTlv(der, spki.end, info.end, 0xa0, 'attributes');
      if (attrs.end !== info.end) throw new DerError('trailing data after the attributes');
      sans = parseAttributes(der, attrs.valueStart, attrs.end);
    } else {
      throw new DerError('the attributes field is missing (RFC 2986 requires it, even when empty)');
    }
    const alg = expectTlv(der, info.end, outer.end, 0x30, 'signatureAlgorithm');
    const algOid = expectTlv(der, alg.valueStart, alg.end, 0x06, 'signatureAlgorithm OID');
    if (algOid.end !== alg.end) throw new DerError('ECDSA signature algorithm parameters must be absent');
    let hash: 'sha256' | 'sha384';
    if (same(der, algOid.valueStart, algOid.end, ECDSA_SHA256)) hash = 'sha256';
    else if (same(der, algOid.valueStart, algOid.end, ECDSA_SHA384)) hash = 'sha384';
    else throw new CoreError('ERR_PKI_CSR_INVALID', 'the certificate request is signed with an unsupported algorithm; use ecdsa-with-SHA256 or ecdsa-with-SHA384');
    const sig = expectTlv(der, alg.end, outer.end, 0x03, 'signature');
    if (sig.end !== outer.end) throw new DerError('trailing data after the signature');
    if (sig.end - sig.valueStart < 2 || der[sig.valueStart] !== 0) throw new DerError('the signature BIT STRING must have no unused bits');
    const prefixLen = SPKI_PREFIX[curve].length;
    return {
      der,
      info: der.subarray(info.start, info.end),
      spki: der.subarray(spki.start, spki.end),
      curve,
      point: der.subarray(spki.start + prefixLen, spki.end),
      hash,
      signature: der.subarray(sig.valueStart + 1, sig.end),
      sans,
    };
  } catch (e) {
    if (e instanceof DerError) throw bad(e.message);
    throw e;
  }
}

/**
 * Verifies the request's self-signature (proof of possession of the private key). The public key
 * is imported from its raw point (far cheaper than OpenSSL 3's SPKI decoder), which also checks
 * that the point lies on the curve. `offload` runs the verification on libuv's thread pool.
 * @throws {CoreError} ERR_PKI_CSR_SIGNATURE_INVALID
 */
export async function verifyCsr(csr: ParsedCsr, offload = false): Promise<void> {
  let ok: boolean;
  try {
    const key = KeyObject.from(await webcrypto.subtle.importKey('raw', csr.point, { name: 'ECDSA', namedCurve: csr.curve }, false, ['verify']));
    // With `offload`, the verification runs on libuv's thread pool (the main thread keeps serving).
    ok = offload ? await new Promise<boolean>((resolve) => nodeVerify(csr.hash, csr.info, key, csr.signature, (err, r) => resolve(err === null && r))) : nodeVerify(csr.hash, csr.info, key, csr.signature);
  } catch {
    ok = false;
  }
  if (!ok) {
    throw new CoreError('ERR_PKI_CSR_SIGNATURE_INVALID', 'the certificate request signature does not verify with its own public key (or the key is not a valid curve point); sign the request with the private key it names');
  }
}
