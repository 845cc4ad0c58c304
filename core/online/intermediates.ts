/**
 * @module online/intermediates
 * The intermediate lifecycle on the online side: initialise the CA (settings, KEK), generate the
 * keys of a batch of staggered intermediates (software keys sealed under the token's KEK, or keys
 * generated inside the token), produce their CSRs for the ceremony, import the issued
 * certificates with the root(s) and root CRL (every check before any write, in one transaction),
 * and open the signing keys when the server starts.
 *
 * Must never: import a certificate that does not answer one of our CSRs or does not chain to a
 * root given with it; leave a plaintext intermediate key anywhere but in memory.
 */
import { createHash, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

import { hsmSigner, softwareSigner } from '../crypto/signer.ts';
import { CoreError } from '../errors.ts';
import type { HsmSession, KeyRef, KeySpec } from '../hsm/types.ts';
import type { Database, Store } from '../store/index.ts';
import { buildCsr, checkCrlIssuedBy, parseCrl, toPem, PEM_LABEL, type CrlInfo } from '../pki/index.ts';
import { isSignedBy, readCaCertificate, signAlgorithmFor, type CaCertInfo } from './ca-cert.ts';
import { findOrCreateKek, sealAad, sealPrivateKey, unsealPrivateKey } from './key-seal.ts';
import { findSettings, insertSettings, readSettings, type IntermediateAlgorithm, type KeyStoreMode, type OnlineSettings } from './settings.ts';
import { parseTrustDomain } from './spiffe-id.ts';
import { planWindows, type Window } from './windows.ts';

/** States of an intermediate record. */
export type IntermediateState = 'generated' | 'requested' | 'issued' | 'retired';

/** An intermediate as recorded. */
export interface IntermediateRecord {
  readonly id: string;
  readonly keyLabel: string;
  readonly keyStore: KeyStoreMode;
  readonly keyAlgorithm: IntermediateAlgorithm;
  readonly spki: Buffer;
  readonly csr: Buffer;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
  readonly batch: number;
  readonly state: IntermediateState;
  readonly cert: Buffer | null;
  readonly certSha256: string | null;
  readonly notBeforeMs: number | null;
  readonly notAfterMs: number | null;
  readonly rootSha256: string | null;
  readonly createdAtMs: number;
  readonly importedAtMs: number | null;
}

interface IntermediateRow {
  id: string;
  key_label: string;
  key_store: KeyStoreMode;
  key_algorithm: IntermediateAlgorithm;
  spki: Buffer;
  sealed_key: Buffer | null;
  seal_iv: Buffer | null;
  csr: Buffer;
  window_start: number;
  window_end: number;
  batch: number;
  state: IntermediateState;
  cert: Buffer | null;
  cert_sha256: string | null;
  not_before: number | null;
  not_after: number | null;
  root_sha256: string | null;
  created_at: number;
  imported_at: number | null;
}

function toRecord(r: IntermediateRow): IntermediateRecord {
  return {
    id: r.id,
    keyLabel: r.key_label,
    keyStore: r.key_store,
    keyAlgorithm: r.key_algorithm,
    spki: r.spki,
    csr: r.csr,
    windowStartMs: r.window_start,
    windowEndMs: r.window_end,
    batch: r.batch,
    state: r.state,
    cert: r.cert,
    certSha256: r.cert_sha256,
    notBeforeMs: r.not_before,
    notAfterMs: r.not_after,
    rootSha256: r.root_sha256,
    createdAtMs: r.created_at,
    importedAtMs: r.imported_at,
  };
}

/** Every intermediate, oldest window first. */
export function listIntermediates(db: Database): IntermediateRecord[] {
  return (db.prepare('SELECT * FROM online_intermediates ORDER BY window_start, id').all() as IntermediateRow[]).map(toRecord);
}

/** Issued (usable) intermediates with their certificates. */
export function issuedIntermediates(db: Database): Array<IntermediateRecord & { cert: Buffer; notBeforeMs: number; notAfterMs: number }> {
  return listIntermediates(db).filter((i): i is IntermediateRecord & { cert: Buffer; notBeforeMs: number; notAfterMs: number } => i.state === 'issued' && i.cert !== null && i.notBeforeMs !== null && i.notAfterMs !== null);
}

/** Options of {@link initOnline}. */
export interface InitOptions {
  readonly trustDomain: string;
  readonly keyStore: KeyStoreMode;
  readonly keyAlgorithm: IntermediateAlgorithm;
  readonly kekLabel?: string;
  readonly windows: number;
  readonly windowDays: number;
  readonly overlapDays: number;
  /** Start of the first window (default: now). */
  readonly startMs?: number;
  readonly nowMs: number;
  /** Longest SVID lifetime the server will issue; the overlap must exceed it. */
  readonly maxSvidTtlSeconds: number;
}

function checkPlan(windowDays: number, overlapDays: number, count: number, maxSvidTtlSeconds: number): void {
  try {
    planWindows({ startMs: 0, count, windowDays, overlapDays });
  } catch (e) {
    throw new CoreError('ERR_INPUT_INVALID', `invalid intermediate windows: ${(e as Error).message}`);
  }
  if (overlapDays * 86_400 <= maxSvidTtlSeconds) {
    throw new CoreError('ERR_INPUT_INVALID', `the overlap between windows (${overlapDays} days) must exceed the longest SVID lifetime (${maxSvidTtlSeconds / 3600} h), or issuance would stall at every hand-over`);
  }
}

/**
 * Initialises the online CA: settings, the KEK (sealed mode), and the first batch of
 * intermediate keys and CSRs. Everything is validated first; the settings and the batch are
 * written in one transaction.
 * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_SPIFFE_ID_INVALID, ERR_INPUT_INVALID, HSM codes
 */
export function initOnline(store: Store, session: HsmSession, opts: InitOptions): { settings: OnlineSettings; batch: IntermediateRecord[] } {
  if (findSettings(store.db) !== undefined) throw new CoreError('ERR_ALREADY_EXISTS', 'the online CA is already initialised in this database; use `neam-ca online prepare` for the next batch of intermediates');
  parseTrustDomain(opts.trustDomain);
  checkPlan(opts.windowDays, opts.overlapDays, opts.windows, opts.maxSvidTtlSeconds);
  const kekLabel = opts.keyStore === 'sealed' ? (opts.kekLabel ?? 'neam-ca-online-kek') : null;
  if (kekLabel !== null) findOrCreateKek(session, kekLabel, true);
  const settings: Omit<OnlineSettings, 'bundleSequence'> = {
    trustDomain: opts.trustDomain,
    keyStore: opts.keyStore,
    keyAlgorithm: opts.keyAlgorithm,
    tokenLabel: session.token.label,
    tokenSerial: session.token.serial,
    kekLabel,
    windowDays: opts.windowDays,
    overlapDays: opts.overlapDays,
    createdAtMs: opts.nowMs,
  };
  const generated = generateKeys(session, { ...settings, bundleSequence: 0 }, planWindows({ startMs: opts.startMs ?? opts.nowMs, count: opts.windows, windowDays: opts.windowDays, overlapDays: opts.overlapDays }));
  try {
    store.transaction((db) => {
      insertSettings(db, settings);
      insertBatch(db, generated, 1, opts.nowMs);
    });
  } catch (e) {
    destroyTokenKeys(session, generated);
    throw e;
  }
  return { settings: readSettings(store.db), batch: listIntermediates(store.db) };
}

/** Options of {@link prepareBatch}. */
export interface BatchOptions {
  readonly windows: number;
  /** Start of the first window; default: the end of the last window minus the overlap, or now. */
  readonly startMs?: number;
  readonly nowMs: number;
  readonly maxSvidTtlSeconds: number;
}

/**
 * Generates the next batch of intermediate keys and CSRs (for the next ceremony). By default the
 * first new window starts where the last recorded one ends minus the overlap.
 * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED, ERR_INPUT_INVALID, HSM codes
 */
export function prepareBatch(store: Store, session: HsmSession, opts: BatchOptions): IntermediateRecord[] {
  const settings = readSettings(store.db);
  checkTokenMatches(settings, session);
  checkPlan(settings.windowDays, settings.overlapDays, opts.windows, opts.maxSvidTtlSeconds);
  const all = listIntermediates(store.db);
  const lastEnd = all.reduce((m, i) => Math.max(m, i.notAfterMs ?? i.windowEndMs), 0);
  const start = opts.startMs ?? Math.max(opts.nowMs, lastEnd - settings.overlapDays * 86_400_000);
  const batchNo = all.reduce((m, i) => Math.max(m, i.batch), 0) + 1;
  const generated = generateKeys(session, settings, planWindows({ startMs: start, count: opts.windows, windowDays: settings.windowDays, overlapDays: settings.overlapDays }));
  try {
    store.transaction((db) => insertBatch(db, generated, batchNo, opts.nowMs));
  } catch (e) {
    destroyTokenKeys(session, generated);
    throw e;
  }
  return listIntermediates(store.db).filter((i) => i.batch === batchNo);
}

interface GeneratedKey {
  id: string;
  keyLabel: string;
  keyStore: KeyStoreMode;
  keyAlgorithm: IntermediateAlgorithm;
  spki: Buffer;
  sealed: { iv: Buffer; ciphertext: Buffer } | null;
  tokenKey: KeyRef | null;
  csr: Buffer;
  window: Window;
}

function keySpecOf(alg: IntermediateAlgorithm): KeySpec {
  if (alg === 'rsa-2048') return { type: 'RSA', bits: 2048 };
  return { type: 'EC', curve: alg === 'ec-p256' ? 'P-256' : 'P-384' };
}

function generateSoftwareKey(alg: IntermediateAlgorithm): KeyObject {
  if (alg === 'rsa-2048') return generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 65537 }).privateKey;
  return generateKeyPairSync('ec', { namedCurve: alg === 'ec-p256' ? 'prime256v1' : 'secp384r1' }).privateKey;
}

function generateKeys(session: HsmSession, settings: OnlineSettings, windows: Window[]): GeneratedKey[] {
  const out: GeneratedKey[] = [];
  const kek = settings.keyStore === 'sealed' ? findOrCreateKek(session, settings.kekLabel ?? 'neam-ca-online-kek', false) : null;
  try {
    for (const window of windows) {
      const id = session.random(8).toString('hex');
      const keyLabel = `neam-ca-intermediate-${id}`;
      const subject = { organization: settings.trustDomain, commonName: `NEAM CA online intermediate ${id}` };
      const algorithm = signAlgorithmFor(settings.keyAlgorithm);
      if (kek !== null) {
        const key = generateSoftwareKey(settings.keyAlgorithm);
        const signer = softwareSigner(key, algorithm);
        const csr = buildCsr({ subject, signer }).der;
        const sealed = sealPrivateKey(session, kek, key, sealAad(id, signer.spki));
        out.push({ id, keyLabel, keyStore: 'sealed', keyAlgorithm: settings.keyAlgorithm, spki: signer.spki, sealed, tokenKey: null, csr, window });
      } else {
        const pair = session.generateKeyPair(keySpecOf(settings.keyAlgorithm), { label: keyLabel });
        out.push({ id, keyLabel, keyStore: 'token', keyAlgorithm: settings.keyAlgorithm, spki: pair.spki, sealed: null, tokenKey: pair.privateKey, csr: Buffer.alloc(0), window });
        const last = out[out.length - 1] as GeneratedKey;
        last.csr = buildCsr({ subject, signer: hsmSigner(session, pair.privateKey, algorithm) }).der;
      }
    }
  } catch (e) {
    destroyTokenKeys(session, out);
    throw e;
  }
  return out;
}

function destroyTokenKeys(session: HsmSession, keys: GeneratedKey[]): void {
  for (const k of keys) {
    if (k.tokenKey === null) continue;
    for (const ref of session.findKeys({ label: k.keyLabel })) {
      try {
        session.destroy(ref);
      } catch {
        // best effort: the label stays reserved and is reported by `neam-ca hsm keys`
      }
    }
  }
}

function insertBatch(db: Database, keys: GeneratedKey[], batch: number, nowMs: number): void {
  const stmt = db.prepare(
    `INSERT INTO online_intermediates (id, key_label, key_store, key_algorithm, spki, sealed_key, seal_iv, csr, window_start, window_end, batch, state, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'generated', ?)`,
  );
  for (const k of keys) {
    stmt.run(k.id, k.keyLabel, k.keyStore, k.keyAlgorithm, k.spki, k.sealed?.ciphertext ?? null, k.sealed?.iv ?? null, k.csr, k.window.startMs, k.window.endMs, batch, nowMs);
  }
}

function checkTokenMatches(settings: OnlineSettings, session: HsmSession): void {
  if (session.token.serial !== settings.tokenSerial) {
    throw new CoreError(
      'ERR_HSM_TOKEN_NOT_PRESENT',
      `this online CA keeps its keys on token '${settings.tokenLabel}' (serial ${settings.tokenSerial}), but the session is on '${session.token.label}' (serial ${session.token.serial}); select the right token with --token and --serial`,
    );
  }
}

/** One CSR of the request for the ceremony. */
export interface IntermediateRequest {
  readonly id: string;
  readonly keyAlgorithm: IntermediateAlgorithm;
  readonly csrPem: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly spkiSha256: string;
}

/**
 * The CSRs not yet answered (state generated or requested), with their requested windows; marks
 * them `requested`.
 * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED, ERR_NOT_FOUND when nothing is pending
 */
export function exportRequests(store: Store): { trustDomain: string; requests: IntermediateRequest[] } {
  const settings = readSettings(store.db);
  const pending = listIntermediates(store.db).filter((i) => i.state === 'generated' || i.state === 'requested');
  if (pending.length === 0) throw new CoreError('ERR_NOT_FOUND', "no intermediate is waiting for a certificate; run 'neam-ca online prepare' to generate the next batch");
  store.transaction((db) => {
    const stmt = db.prepare("UPDATE online_intermediates SET state = 'requested' WHERE id = ? AND state = 'generated'");
    for (const p of pending) stmt.run(p.id);
  });
  return {
    trustDomain: settings.trustDomain,
    requests: pending.map((p) => ({
      id: p.id,
      keyAlgorithm: p.keyAlgorithm,
      csrPem: toPem(PEM_LABEL.csr, p.csr),
      notBefore: new Date(p.windowStartMs).toISOString(),
      notAfter: new Date(p.windowEndMs).toISOString(),
      spkiSha256: createHash('sha256').update(p.spki).digest('hex'),
    })),
  };
}

/** What an intermediate-issuance import carries. */
export interface IssuanceInput {
  /** Issued intermediate certificates (DER). */
  readonly intermediates: readonly Buffer[];
  /** Root certificate(s) they chain to (DER). */
  readonly roots: readonly Buffer[];
  /** Root CRL(s) (DER), optional. */
  readonly rootCrls?: readonly Buffer[];
}

/** Outcome of an import. */
export interface ImportResult {
  readonly imported: Array<{ id: string; notBefore: string; notAfter: string; sha256: string }>;
  readonly alreadyPresent: string[];
  readonly rootsAdded: string[];
  readonly rootCrlsImported: number;
  readonly retired: string[];
  readonly warnings: string[];
  readonly bundleSequence: number;
}

function invalid(message: string): CoreError {
  return new CoreError('ERR_ONLINE_INTERMEDIATE_INVALID', message);
}

interface ParsedRootCrl {
  der: Buffer;
  root: CaCertInfo;
  number: string;
  thisUpdateMs: number;
  nextUpdateMs: number | null;
  revokedSerials: Set<string>;
}

function parseRootCrl(der: Buffer, roots: CaCertInfo[], index: number): ParsedRootCrl {
  const what = `root CRL #${index + 1}`;
  let crl: CrlInfo;
  try {
    crl = parseCrl(der, what);
  } catch (e) {
    throw new CoreError('ERR_PKI_CRL_INVALID', `${what} is not a valid DER CRL${e instanceof CoreError ? `: ${e.message}` : ''}`, { cause: e });
  }
  const root = roots.find((r) => {
    try {
      checkCrlIssuedBy(crl, r.cert);
      return true;
    } catch {
      return false;
    }
  });
  if (root === undefined) throw new CoreError('ERR_PKI_CRL_INVALID', `${what} is not signed by a root of this issuance; nothing was imported`);
  return {
    der: crl.der,
    root,
    number: (crl.crlNumber ?? 0n).toString(),
    thisUpdateMs: crl.thisUpdate.getTime(),
    nextUpdateMs: crl.nextUpdate?.getTime() ?? null,
    revokedSerials: new Set(crl.revoked.map((r) => r.serial)),
  };
}

/**
 * Imports issued intermediates, their root(s) and the root CRL. Every certificate must answer
 * one of our CSRs (same public key), be a CA with keyCertSign and pathLen 0, carry no trust-domain
 * SAN or name constraint other than ours, chain to a given (or known) self-signed root, and not be
 * expired. All checks run before anything is written; the import is one transaction and
 * idempotent (a certificate already imported is reported, not duplicated).
 * @throws {CoreError} ERR_ONLINE_INTERMEDIATE_INVALID, ERR_PKI_CERT_INVALID, ERR_PKI_CRL_INVALID, ERR_ONLINE_NOT_INITIALIZED
 */
export function importIssuance(store: Store, input: IssuanceInput, nowMs: number): ImportResult {
  const settings = readSettings(store.db);
  const tdUri = `spiffe://${settings.trustDomain}`;
  const warnings: string[] = [];
  if (input.intermediates.length === 0 && input.roots.length === 0) throw invalid('the issuance holds no certificates');
  const knownRoots = (store.db.prepare('SELECT cert FROM online_roots WHERE removed_at IS NULL').all() as Array<{ cert: Buffer }>).map((r) => readCaCertificate(r.cert, 'a stored root'));
  const givenRoots = input.roots.map((d, i) => readCaCertificate(d, `root certificate #${i + 1}`));
  for (const r of givenRoots) {
    if (!r.selfSigned) throw invalid(`root certificate '${r.subject}' is not self-signed; give the trust anchor itself`);
    if (!r.isCa || !r.keyCertSign) throw invalid(`root certificate '${r.subject}' is not a CA certificate with keyCertSign`);
    if (r.notAfterMs <= nowMs) throw invalid(`root certificate '${r.subject}' expired on ${new Date(r.notAfterMs).toISOString()}`);
  }
  const roots = [...knownRoots, ...givenRoots.filter((g) => !knownRoots.some((k) => k.sha256 === g.sha256))];
  const records = listIntermediates(store.db);
  const toImport: Array<{ rec: IntermediateRecord; info: CaCertInfo; root: CaCertInfo }> = [];
  const alreadyPresent: string[] = [];
  input.intermediates.forEach((der, i) => {
    const info = readCaCertificate(der, `intermediate certificate #${i + 1}`);
    const rec = records.find((r) => r.spki.equals(info.spki));
    if (rec === undefined) throw invalid(`intermediate certificate '${info.subject}' answers no CSR this online CA sent (its public key is not one of ours); nothing was imported`);
    if (rec.state === 'issued' || rec.state === 'retired') {
      if (rec.certSha256 === info.sha256) {
        alreadyPresent.push(rec.id);
        return;
      }
      throw invalid(`intermediate ${rec.id} already has a certificate (SHA-256 ${rec.certSha256 ?? '?'}); a second certificate for the same key is refused`);
    }
    if (!info.isCa || !info.keyCertSign) throw invalid(`intermediate certificate for ${rec.id} is not a CA certificate with keyCertSign`);
    if (info.pathLen !== 0) throw invalid(`intermediate certificate for ${rec.id} must have pathLenConstraint 0 (found ${info.pathLen ?? 'none'})`);
    if (info.uriSans.some((u) => u !== tdUri)) throw invalid(`intermediate certificate for ${rec.id} names ${info.uriSans.join(', ')}; only ${tdUri} is acceptable for this trust domain`);
    if (info.permittedUris !== undefined && !info.permittedUris.some((p) => p === settings.trustDomain || p === `.${settings.trustDomain}`)) {
      throw invalid(`intermediate certificate for ${rec.id} has URI name constraints [${info.permittedUris.join(', ')}] that do not permit trust domain '${settings.trustDomain}'; its SVIDs would be rejected`);
    }
    if (info.permittedUris === undefined) warnings.push(`intermediate ${rec.id} has no URI name constraint (the platform profile sets permitted URI ${settings.trustDomain})`);
    if (info.digitalSignature) warnings.push(`intermediate ${rec.id} sets keyUsage digitalSignature, which X509-SVID Appendix A reserves for leaves`);
    if (info.notAfterMs <= nowMs) throw invalid(`intermediate certificate for ${rec.id} expired on ${new Date(info.notAfterMs).toISOString()}`);
    const root = roots.find((r) => r.subjectDer.equals(info.issuerDer) && isSignedBy(info, r));
    if (root === undefined) throw invalid(`intermediate certificate for ${rec.id} (issuer '${info.issuer}') does not chain to a root given with it or already trusted; nothing was imported`);
    if (info.notAfterMs > root.notAfterMs) warnings.push(`intermediate ${rec.id} outlives its root (${new Date(root.notAfterMs).toISOString()})`);
    const dayMs = 86_400_000;
    if (Math.abs(info.notBeforeMs - rec.windowStartMs) > dayMs || Math.abs(info.notAfterMs - rec.windowEndMs) > dayMs) {
      warnings.push(`intermediate ${rec.id} was issued for ${new Date(info.notBeforeMs).toISOString()} – ${new Date(info.notAfterMs).toISOString()}, not the requested window ${new Date(rec.windowStartMs).toISOString()} – ${new Date(rec.windowEndMs).toISOString()}`);
    }
    toImport.push({ rec, info, root });
  });
  const crls = (input.rootCrls ?? []).map((d, i) => parseRootCrl(d, roots, i));
  const retired = revokedIntermediates(records, crls, new Map(toImport.map((t) => [t.rec.id, t.info])));
  const rootsAdded = givenRoots.filter((g) => !knownRoots.some((k) => k.sha256 === g.sha256));
  let crlCount = 0;
  store.transaction((db) => {
    for (const r of rootsAdded) {
      db.prepare('INSERT INTO online_roots (sha256, cert, subject, not_after, added_at) VALUES (?, ?, ?, ?, ?)').run(r.sha256, r.der, r.subject, r.notAfterMs, nowMs);
    }
    if (rootsAdded.length > 0) db.prepare('UPDATE online_settings SET bundle_sequence = bundle_sequence + 1 WHERE id = 1').run();
    const upd = db.prepare("UPDATE online_intermediates SET state = 'issued', cert = ?, cert_sha256 = ?, not_before = ?, not_after = ?, root_sha256 = ?, imported_at = ? WHERE id = ?");
    for (const t of toImport) upd.run(t.info.der, t.info.sha256, t.info.notBeforeMs, t.info.notAfterMs, t.root.sha256, nowMs, t.rec.id);
    for (const crl of crls) {
      const r = db
        .prepare('INSERT OR IGNORE INTO online_root_crls (root_sha256, crl_number, this_update, next_update, der, imported_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(crl.root.sha256, crl.number, crl.thisUpdateMs, crl.nextUpdateMs, crl.der, nowMs);
      crlCount += r.changes;
    }
    for (const id of retired) db.prepare("UPDATE online_intermediates SET state = 'retired' WHERE id = ?").run(id);
  });
  for (const id of retired) warnings.push(`intermediate ${id} is revoked by the root CRL and was retired; it will not sign`);
  return {
    imported: toImport.map((t) => ({ id: t.rec.id, notBefore: new Date(t.info.notBeforeMs).toISOString(), notAfter: new Date(t.info.notAfterMs).toISOString(), sha256: t.info.sha256 })),
    alreadyPresent,
    rootsAdded: rootsAdded.map((r) => r.sha256),
    rootCrlsImported: crlCount,
    retired,
    warnings,
    bundleSequence: readSettings(store.db).bundleSequence,
  };
}

/**
 * Imports root CRLs (e.g. from a `crl` bundle): each must be signed by a trust anchor we hold.
 * Returns how many were new.
 * @throws {CoreError} ERR_PKI_CRL_INVALID, ERR_ONLINE_NOT_INITIALIZED
 */
export function importRootCrls(store: Store, crls: readonly Buffer[], nowMs: number): number {
  readSettings(store.db);
  const roots = (store.db.prepare('SELECT cert FROM online_roots WHERE removed_at IS NULL').all() as Array<{ cert: Buffer }>).map((r) => readCaCertificate(r.cert, 'a stored root'));
  const parsed = crls.map((d, i) => parseRootCrl(d, roots, i));
  const retired = revokedIntermediates(listIntermediates(store.db), parsed, new Map());
  let n = 0;
  store.transaction((db) => {
    for (const crl of parsed) {
      n += db
        .prepare('INSERT OR IGNORE INTO online_root_crls (root_sha256, crl_number, this_update, next_update, der, imported_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(crl.root.sha256, crl.number, crl.thisUpdateMs, crl.nextUpdateMs, crl.der, nowMs).changes;
    }
    for (const id of retired) db.prepare("UPDATE online_intermediates SET state = 'retired' WHERE id = ?").run(id);
  });
  return n;
}

/** Intermediates (issued, or being imported now) that a root CRL lists as revoked. */
function revokedIntermediates(records: readonly IntermediateRecord[], crls: readonly ParsedRootCrl[], importing: ReadonlyMap<string, CaCertInfo>): string[] {
  const out: string[] = [];
  for (const rec of records) {
    const cert = importing.get(rec.id) ?? (rec.cert === null ? undefined : readCaCertificate(rec.cert, `intermediate ${rec.id}`));
    if (cert === undefined || rec.state === 'retired') continue;
    if (crls.some((crl) => cert.issuerDer.equals(crl.root.subjectDer) && crl.revokedSerials.has(cert.serialHex))) out.push(rec.id);
  }
  return out;
}

/** The current trust anchors (DER). */
export function listRoots(db: Database): Array<{ sha256: string; cert: Buffer; subject: string; notAfterMs: number }> {
  return (db.prepare('SELECT sha256, cert, subject, not_after FROM online_roots WHERE removed_at IS NULL ORDER BY added_at, sha256').all() as Array<{ sha256: string; cert: Buffer; subject: string; not_after: number }>).map((r) => ({
    sha256: r.sha256,
    cert: r.cert,
    subject: r.subject,
    notAfterMs: r.not_after,
  }));
}

/** The newest imported CRL of each root (DER). */
export function latestRootCrls(db: Database): Buffer[] {
  const rows = db.prepare('SELECT root_sha256, crl_number, this_update, der FROM online_root_crls ORDER BY root_sha256, this_update DESC').all() as Array<{ root_sha256: string; der: Buffer }>;
  const seen = new Set<string>();
  const out: Buffer[] = [];
  for (const r of rows) {
    if (seen.has(r.root_sha256)) continue;
    seen.add(r.root_sha256);
    out.push(r.der);
  }
  return out;
}

/** A key an intermediate signs with. */
export type IntermediateKey = { readonly kind: 'software'; readonly key: KeyObject } | { readonly kind: 'token'; readonly ref: KeyRef };

/**
 * Opens the signing keys of the given intermediates: unseals software keys with the KEK, or finds
 * the token keys (checking their public keys).
 * @throws {CoreError} ERR_ONLINE_INTERMEDIATE_INVALID, ERR_HSM_* codes
 */
export function openIntermediateKeys(db: Database, session: HsmSession, ids: readonly string[]): Map<string, IntermediateKey> {
  const settings = readSettings(db);
  checkTokenMatches(settings, session);
  const out = new Map<string, IntermediateKey>();
  const kek = settings.keyStore === 'sealed' || ids.some((id) => (db.prepare('SELECT key_store FROM online_intermediates WHERE id = ?').get(id) as { key_store: string } | undefined)?.key_store === 'sealed') ? findOrCreateKek(session, settings.kekLabel ?? 'neam-ca-online-kek', false) : null;
  for (const id of ids) {
    const row = db.prepare('SELECT * FROM online_intermediates WHERE id = ?').get(id) as IntermediateRow | undefined;
    if (row === undefined) throw invalid(`intermediate ${id} is not recorded`);
    if (row.key_store === 'sealed') {
      if (kek === null || row.sealed_key === null || row.seal_iv === null) throw invalid(`intermediate ${id} has no sealed key`);
      out.set(id, { kind: 'software', key: unsealPrivateKey(session, kek, { iv: row.seal_iv, ciphertext: row.sealed_key }, sealAad(id, row.spki), row.spki, `intermediate ${id}`) });
    } else {
      const ref = session.findKey('private', row.key_label);
      if (!session.publicKeySpki(ref).equals(row.spki)) throw invalid(`the token key '${row.key_label}' does not match intermediate ${id}'s recorded public key`);
      out.set(id, { kind: 'token', ref });
    }
  }
  return out;
}

/** A fresh random id (hex) for records. */
export function newId(bytes = 8): string {
  return randomBytes(bytes).toString('hex');
}
