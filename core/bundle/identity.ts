/**
 * @module bundle/identity
 * Transfer identities and pinning. Each side has one current transfer identity: an ECDSA P-256
 * key (offline: generated inside the HSM, never extractable; online: in its token or a
 * passphrase-encrypted key file) and a self-signed certificate valid for 2 years. The other side
 * pins that certificate by its SHA-256 fingerprint at enrollment, comparing it with the value read
 * aloud; a peer's pinned identity changes only through an `identity-rotation` bundle signed by the
 * pinned (old) key. Roots whose intermediates and CRLs we accept are pinned per peer the same way.
 *
 * Must never: pin a certificate whose fingerprint differs from the one the person typed, accept a
 * second current identity, or see a private key (HSM keys stay in the HSM; file keys are sealed).
 */
import { generateKeyPairSync, randomBytes, X509Certificate } from 'node:crypto';

import { CoreError } from '../errors.ts';
import { hsmSigner, type Signer } from '../crypto/signer.ts';
import type { HsmSession } from '../hsm/types.ts';
import type { RandomSource } from '../pki/index.ts';
import { constantTimeEqual, type Secret } from '../util/secret.ts';
import { loadKeyFileSigner, writeEncryptedKeyFile, DEFAULT_SCRYPT } from './key-file.ts';
import { parsePem } from './pkix.ts';
import type { BundleState, KeyRef, PeerPin, RootPin, SelfIdentity } from './state.ts';
import { buildTransferCertificate, certificateFingerprint, checkTransferCertificate } from './transfer-certificate.ts';

/** A newly generated transfer key with its certificate (not yet recorded). */
export interface GeneratedIdentity {
  readonly name: string;
  readonly certificate: Buffer;
  readonly fingerprint: string;
  readonly key: KeyRef;
  readonly signer: Signer;
}

const PEER_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/u;

/**
 * Normalises a fingerprint as people type it (`AB:CD…`, spaced groups, any case) to 64 lower-case
 * hex digits.
 * @throws {CoreError} ERR_INPUT_INVALID
 */
export function normalizeFingerprint(text: string): string {
  const hex = text.replace(/[\s:]/gu, '').toLowerCase();
  if (!/^[0-9a-f]{64}$/u.test(hex)) throw new CoreError('ERR_INPUT_INVALID', 'a fingerprint is the SHA-256 of the certificate: 64 hex digits (colons and spaces are ignored)');
  return hex;
}

/** A fingerprint in groups of four, for reading aloud: `ab12 cd34 …`. */
export function formatFingerprint(hex: string): string {
  return hex.replace(/(.{4})(?!$)/gu, '$1 ');
}

/**
 * DER of a certificate given as PEM (one CERTIFICATE block) or DER.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID
 */
export function certificateFromInput(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  if (text.includes('-----BEGIN')) {
    const pem = parsePem(bytes.toString('utf8'));
    if ('problem' in pem || pem.blocks.length !== 1 || pem.blocks[0]?.label !== 'CERTIFICATE') {
      throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the certificate file must hold exactly one PEM CERTIFICATE block (or DER)');
    }
    return pem.blocks[0].der;
  }
  return bytes;
}

function checkName(name: string): void {
  if (name.trim().length === 0 || name.length > 64) throw new CoreError('ERR_INPUT_INVALID', 'the identity name must have 1 to 64 characters');
}

/**
 * Generates a transfer key inside the HSM (EC P-256: token, private, sensitive, never
 * extractable, sign only) and its self-signed certificate, signed inside the HSM.
 * @throws {CoreError} ERR_HSM_OBJECT_EXISTS (label in use), other ERR_HSM_*, ERR_BUNDLE_IDENTITY_INVALID
 */
export function generateHsmIdentity(session: HsmSession, options: { name: string; keyLabel: string; now: Date; random?: RandomSource }): GeneratedIdentity {
  checkName(options.name);
  if (session.findKeys({ label: options.keyLabel }).length > 0) {
    throw new CoreError('ERR_HSM_OBJECT_EXISTS', `the token '${session.token.label}' already holds a key labelled '${options.keyLabel}'; choose another label`, { details: { label: options.keyLabel } });
  }
  const pair = session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: options.keyLabel });
  const signer = hsmSigner(session, pair.privateKey, 'ECDSA-SHA256');
  // The serial comes from the token's RNG unless the caller gives another source.
  const certificate = buildTransferCertificate({ signer, commonName: options.name, now: options.now, random: options.random ?? ((n) => session.random(n)) });
  return {
    name: options.name,
    certificate,
    fingerprint: certificateFingerprint(certificate),
    key: { store: 'hsm', tokenLabel: session.token.label, tokenSerial: session.token.serial, keyLabel: options.keyLabel, keyId: pair.privateKey.id },
    signer,
  };
}

/**
 * Generates a software transfer key, seals it in a passphrase-encrypted key file (mode 0600,
 * never overwriting) and makes its self-signed certificate.
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_IO, ERR_SECRET_INVALID
 */
export function generateFileIdentity(options: { name: string; path: string; passphrase: Secret; now: Date; random?: RandomSource; kdf?: { N: number; r: number; p: number } }): GeneratedIdentity {
  checkName(options.name);
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeEncryptedKeyFile(options.path, privateKey, options.passphrase, options.kdf ?? DEFAULT_SCRYPT);
  const signer = loadKeyFileSigner(options.path, options.passphrase);
  const certificate = buildTransferCertificate({ signer, commonName: options.name, now: options.now, random: options.random ?? randomBytes });
  return { name: options.name, certificate, fingerprint: certificateFingerprint(certificate), key: { store: 'file', path: options.path }, signer };
}

/**
 * Records a generated identity as our first (current) transfer identity.
 * @throws {CoreError} ERR_ALREADY_EXISTS (an identity exists: rotate instead)
 */
export function recordIdentity(state: BundleState, generated: GeneratedIdentity, now: Date): SelfIdentity {
  return state.transaction(() => {
    const current = state.currentIdentity();
    if (current !== undefined) {
      throw new CoreError('ERR_ALREADY_EXISTS', `a transfer identity already exists (${current.fingerprint}); use 'neam-ca bundle identity rotate' to replace it, so peers learn the new one through a signed bundle`, {
        details: { fingerprint: current.fingerprint },
      });
    }
    if (state.pin(generated.fingerprint) !== undefined) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'this certificate is pinned as a peer; a system cannot be its own peer');
    state.addIdentity({ fingerprint: generated.fingerprint, name: generated.name, certificate: generated.certificate, key: generated.key, createdAt: now.toISOString() }, now.toISOString());
    const id = state.currentIdentity();
    if (id === undefined) throw new CoreError('ERR_INTERNAL', 'identity not recorded');
    return id;
  });
}

/**
 * The signer of one of our identities whose key is in the HSM, from an open, logged-in session
 * on the right token.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID (wrong token or key), ERR_HSM_*
 */
export function hsmIdentitySigner(identity: SelfIdentity, session: HsmSession): Signer {
  const key = identity.key;
  if (key.store !== 'hsm') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the transfer key of '${identity.name}' is in a key file, not in a token`);
  if (session.token.serial !== key.tokenSerial || session.token.label !== key.tokenLabel) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the transfer key of '${identity.name}' is on token '${key.tokenLabel}' (serial ${key.tokenSerial}), not on '${session.token.label}' (serial ${session.token.serial})`);
  }
  const signer = hsmSigner(session, session.findKey('private', key.keyLabel, key.keyId), 'ECDSA-SHA256');
  assertSignerMatches(identity, signer);
  return signer;
}

/**
 * The signer of one of our identities whose key is in an encrypted key file.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID, ERR_SECRET_INVALID, ERR_IO
 */
export function fileIdentitySigner(identity: SelfIdentity, passphrase: Secret): Signer {
  if (identity.key.store !== 'file') throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the transfer key of '${identity.name}' is in a token, not in a key file`);
  const signer = loadKeyFileSigner(identity.key.path, passphrase);
  assertSignerMatches(identity, signer);
  return signer;
}

/**
 * Throws unless `signer` holds the key of `identity`'s certificate.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID
 */
export function assertSignerMatches(identity: SelfIdentity, signer: Signer): void {
  const spki = new X509Certificate(identity.certificate).publicKey.export({ type: 'spki', format: 'der' });
  if (!constantTimeEqual(spki, signer.spki)) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the key given does not belong to the transfer identity '${identity.name}' (${identity.fingerprint})`);
}

/**
 * Enrolls a peer: checks its transfer certificate and that its SHA-256 equals the fingerprint read
 * aloud, then pins it.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID (fingerprint mismatch, unusable certificate),
 *   ERR_ALREADY_EXISTS (peer name or certificate already known), ERR_INPUT_INVALID
 */
export function enrollPeer(state: BundleState, options: { name: string; certificate: Buffer; fingerprint: string; now: Date }): PeerPin {
  if (!PEER_NAME.test(options.name)) throw new CoreError('ERR_INPUT_INVALID', 'a peer name is 1-63 lower-case letters, digits or dashes (e.g. offline-root, online-ca)');
  const der = certificateFromInput(options.certificate);
  const expected = normalizeFingerprint(options.fingerprint);
  const actual = certificateFingerprint(der);
  if (!constantTimeEqual(Buffer.from(actual, 'hex'), Buffer.from(expected, 'hex'))) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the certificate's SHA-256 fingerprint is ${formatFingerprint(actual)}, not the ${formatFingerprint(expected)} that was read aloud. Do not enroll it; find out which is right`, {
      details: { expected, actual },
    });
  }
  checkTransferCertificate(der, options.now);
  return state.transaction(() => {
    if (state.hasPeer(options.name)) throw new CoreError('ERR_ALREADY_EXISTS', `a peer named '${options.name}' is already enrolled; its identity changes only through a rotation bundle`);
    const existing = state.pin(actual);
    if (existing !== undefined) throw new CoreError('ERR_ALREADY_EXISTS', `this certificate is already pinned for '${existing.peer}'`);
    if (state.identity(actual) !== undefined) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'this is one of our own transfer certificates; enroll the other side');
    state.addPeer(options.name, { fingerprint: actual, certificate: der }, options.now.toISOString());
    const pin = state.currentPin(options.name);
    if (pin === undefined) throw new CoreError('ERR_INTERNAL', 'pin not recorded');
    return pin;
  });
}

/**
 * Pins a root certificate for a peer (its fingerprint read aloud at the root ceremony): issued
 * intermediates and CRLs from that peer must chain to a pinned root.
 * @throws {CoreError} ERR_BUNDLE_IDENTITY_INVALID (fingerprint mismatch, not a self-signed CA),
 *   ERR_NOT_FOUND (unknown peer), ERR_ALREADY_EXISTS
 */
export function pinRoot(state: BundleState, options: { peer: string; certificate: Buffer; fingerprint: string; now: Date }): RootPin {
  const der = certificateFromInput(options.certificate);
  const expected = normalizeFingerprint(options.fingerprint);
  const actual = certificateFingerprint(der);
  if (!constantTimeEqual(Buffer.from(actual, 'hex'), Buffer.from(expected, 'hex'))) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', `the root certificate's SHA-256 fingerprint is ${formatFingerprint(actual)}, not the ${formatFingerprint(expected)} that was read aloud. Do not pin it`, {
      details: { expected, actual },
    });
  }
  let x: X509Certificate;
  try {
    x = new X509Certificate(der);
  } catch (e) {
    throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'the root certificate cannot be parsed', { cause: e });
  }
  if (x.subject !== x.issuer || !x.verify(x.publicKey) || !x.ca) throw new CoreError('ERR_BUNDLE_IDENTITY_INVALID', 'a pinned root must be a self-signed CA certificate');
  return state.transaction(() => {
    if (!state.hasPeer(options.peer)) throw new CoreError('ERR_NOT_FOUND', `no peer named '${options.peer}' is enrolled`);
    if (state.rootPins(options.peer).some((r) => r.fingerprint === actual)) throw new CoreError('ERR_ALREADY_EXISTS', `this root is already pinned for '${options.peer}'`);
    state.addRootPin(options.peer, actual, der, options.now.toISOString());
    const pin = state.rootPins(options.peer).find((r) => r.fingerprint === actual);
    if (pin === undefined) throw new CoreError('ERR_INTERNAL', 'root pin not recorded');
    return pin;
  });
}
