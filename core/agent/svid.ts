/**
 * @module agent/svid
 * The agent's side of issuance: a fresh ECDSA P-256 key and a PKCS#10 request for it (core/pki
 * `buildCsr` with a software signer), and the checks on what the CA sends back before anything is
 * written: the leaf is an X509-SVID for exactly the SPIFFE ID asked for (one URI SAN, CA:FALSE),
 * it certifies *our* key, and it chains through the given intermediates to a trust anchor of the
 * bundle. Also: reading certificate times from delivered files, trust-bundle parsing with pinned
 * anchors, and the revoked serials of a CRL set.
 *
 * Must never: accept a certificate for another identity or another key, return a private key in an
 * error, or trust a bundle without a pinned anchor on first contact.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';

import { CoreError, isCoreError } from '../errors.ts';
import { softwareSigner } from '../crypto/signer.ts';
import { checkIssuedBy } from '../pki/chain.ts';
import { buildCsr } from '../pki/csr.ts';
import { parseCertificate, parseCrl, type CertificateInfo } from '../pki/decode.ts';
import { parsePem, toPem, PEM_LABEL } from '../pki/pem.ts';

/** A new workload or node key and its CSR. */
export interface KeyAndCsr {
  /** PKCS#8 PEM (goes only into a 0600 file). */
  keyPem: string;
  csrPem: string;
  /** SPKI DER of the key. */
  spki: Buffer;
}

/**
 * Generates a P-256 key and a CSR signed with it (empty subject: the CA takes the names from the
 * registration entry).
 */
export function newKeyAndCsr(): KeyAndCsr {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const signer = softwareSigner(privateKey, 'ECDSA-SHA256');
  const { der } = buildCsr({ subject: {}, signer });
  return { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, csrPem: toPem(PEM_LABEL.csr, der), spki: signer.spki };
}

function bad(what: string, message: string): CoreError {
  return new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA's answer for ${what} is unusable: ${message}; nothing was written and the current files stay`);
}

/** Splits PEM text into certificates (strict PEM, certificates only). */
export function pemCertificates(text: string, what: string): CertificateInfo[] {
  const blocks = parsePem(text, { labels: [PEM_LABEL.certificate], source: what, maxBytes: 4 * 1024 * 1024 });
  return blocks.map((b, i) => parseCertificate(b.der, `${what} #${i + 1}`));
}

/** A checked SVID ready for delivery. */
export interface CheckedSvid {
  serial: string;
  notBefore: number;
  notAfter: number;
  /** Leaf then chain, PEM. */
  certChainPem: string;
  leaf: CertificateInfo;
}

function uriSans(c: CertificateInfo): string[] {
  return (c.subjectAltName?.names ?? []).filter((n) => n.type === 'uri').map((n) => n.value);
}

/**
 * Checks an issued SVID against what was asked: SPIFFE ID, our key, X509-SVID leaf shape, and a
 * chain to one of `anchors`. Time is not checked against the local clock (a skewed host would
 * refuse every certificate); the caller compares and warns.
 * @throws {CoreError} ERR_AGENT_RESPONSE_INVALID
 */
export function checkIssuedSvid(r: { svid: string; chain: string; serial: string }, expect: { spiffeId: string; spki: Buffer; anchors: CertificateInfo[] }): CheckedSvid {
  const what = expect.spiffeId;
  let leaf: CertificateInfo;
  let chain: CertificateInfo[];
  try {
    const leaves = pemCertificates(r.svid, 'the SVID');
    if (leaves.length !== 1) throw bad(what, `'svid' holds ${leaves.length} certificates, expected the leaf alone`);
    leaf = leaves[0] as CertificateInfo;
    chain = r.chain.trim() === '' ? [] : pemCertificates(r.chain, 'the chain');
  } catch (e) {
    if (isCoreError(e, 'ERR_AGENT_RESPONSE_INVALID')) throw e;
    throw bad(what, `it does not hold valid certificates (${isCoreError(e) ? e.message : 'parse error'})`);
  }
  const uris = uriSans(leaf);
  if (uris.length !== 1 || uris[0] !== expect.spiffeId) throw bad(what, `the certificate names ${uris.length === 0 ? 'no SPIFFE ID' : uris.join(', ')} instead of exactly ${expect.spiffeId}`);
  if (!leaf.spki.equals(expect.spki)) throw bad(what, 'the certificate is for a different public key than the one in our request');
  if (leaf.basicConstraints?.ca === true) throw bad(what, 'the leaf is a CA certificate (X509-SVID §4.1 requires CA:FALSE)');
  if (leaf.keyUsage !== undefined && (leaf.keyUsage.usages.includes('keyCertSign') || leaf.keyUsage.usages.includes('cRLSign'))) throw bad(what, 'the leaf may sign certificates or CRLs (X509-SVID §4.3)');
  if (leaf.notAfter.getTime() <= leaf.notBefore.getTime()) throw bad(what, 'its validity period is empty');
  if (r.serial.toLowerCase() !== leaf.serial) throw bad(what, `the reported serial ${r.serial.slice(0, 40)} is not the certificate's (${leaf.serial})`);
  try {
    let child = leaf;
    for (const c of chain) {
      checkIssuedBy(child, c);
      child = c;
    }
    const anchor = expect.anchors.find((a) => a.subject.der.equals(child.issuer.der));
    if (anchor === undefined) throw bad(what, `the chain ends at '${child.issuer.text || child.subject.text}', which is not a trust anchor of the bundle`);
    if (!child.der.equals(anchor.der)) checkIssuedBy(child, anchor);
  } catch (e) {
    if (isCoreError(e, 'ERR_AGENT_RESPONSE_INVALID')) throw e;
    throw bad(what, `the chain does not verify (${isCoreError(e) ? e.message : 'error'})`);
  }
  const certChainPem = [leaf, ...chain].map((c) => toPem(PEM_LABEL.certificate, c.der)).join('');
  return { serial: leaf.serial, notBefore: leaf.notBefore.getTime(), notAfter: leaf.notAfter.getTime(), certChainPem, leaf };
}

/** The leaf of delivered `svid.pem` text (times and serial), or undefined when unreadable. */
export function readLeaf(certChainPem: string): CertificateInfo | undefined {
  try {
    return pemCertificates(certChainPem, 'svid.pem')[0];
  } catch {
    return undefined;
  }
}

/** True when the PKCS#8 PEM key matches the leaf's public key. */
export function keyMatches(keyPem: string, leaf: CertificateInfo): boolean {
  try {
    return createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' }).equals(leaf.spki);
  } catch {
    return false;
  }
}

/** A trust bundle: its certificates and their SHA-256 fingerprints. */
export interface TrustBundle {
  pem: string;
  anchors: CertificateInfo[];
  sha256: string[];
}

/**
 * Parses a trust bundle (PEM roots). Refuses an empty bundle and non-CA certificates.
 * @throws {CoreError} ERR_AGENT_RESPONSE_INVALID
 */
export function parseBundle(pem: string, what = 'the trust bundle'): TrustBundle {
  let anchors: CertificateInfo[];
  try {
    anchors = pemCertificates(pem, what);
  } catch (e) {
    throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `${what} is not a PEM list of certificates (${isCoreError(e) ? e.message : 'parse error'}); the current bundle stays`);
  }
  if (anchors.length === 0) throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `${what} holds no certificate; an empty bundle would make every SVID untrusted, so the current bundle stays`);
  for (const a of anchors) {
    if (a.basicConstraints?.ca !== true) throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `${what} holds '${a.subject.text}', which is not a CA certificate; the current bundle stays`);
  }
  return { pem: anchors.map((a) => toPem(PEM_LABEL.certificate, a.der)).join(''), anchors, sha256: anchors.map((a) => a.sha256) };
}

/** SHA-256 hex of text (change detection of bundles and CRL sets). */
export function textSha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** What the agent needs from a CRL set. */
export interface CrlSetSummary {
  /** Revoked serials by issuer name DER (hex). */
  revoked: Map<string, Set<string>>;
  /** Changes when an issuer or a revoked serial is added or removed (not on mere republication). */
  key: string;
  /** Half-way between thisUpdate and nextUpdate of the CRL that goes stale first (wall ms). */
  refreshAt: number | undefined;
}

/**
 * Reads a CRL set (PEM): revoked serials per issuer, a change key, and when to refresh it.
 * @throws {CoreError} ERR_AGENT_RESPONSE_INVALID
 */
export function crlSetSummary(crlsPem: string): CrlSetSummary {
  const revoked = new Map<string, Set<string>>();
  let refreshAt: number | undefined;
  try {
    const blocks = parsePem(crlsPem, { labels: [PEM_LABEL.crl], source: 'the CRL set', maxBytes: 64 * 1024 * 1024 });
    if (blocks.length === 0) throw new CoreError('ERR_PKI_PEM_INVALID', 'it holds no CRL');
    for (const b of blocks) {
      const crl = parseCrl(b.der, 'a CRL of the set');
      const key = crl.issuer.der.toString('hex');
      const set = revoked.get(key) ?? new Set<string>();
      for (const r of crl.revoked) set.add(r.serial);
      revoked.set(key, set);
      if (crl.nextUpdate !== undefined) {
        const half = crl.thisUpdate.getTime() + Math.floor((crl.nextUpdate.getTime() - crl.thisUpdate.getTime()) / 2);
        refreshAt = refreshAt === undefined ? half : Math.min(refreshAt, half);
      }
    }
  } catch (e) {
    throw new CoreError('ERR_AGENT_RESPONSE_INVALID', `the CA's CRL set is unusable (${isCoreError(e) ? e.message : 'parse error'}); the current CRLs stay`);
  }
  const lines = [...revoked].map(([issuer, serials]) => `${issuer}:${[...serials].sort().join(',')}`).sort();
  return { revoked, key: textSha256(lines.join('\n')), refreshAt };
}
