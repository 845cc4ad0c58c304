/**
 * @module online/ca-runtime
 * The running online CA, without HTTP: the intermediates loaded with their keys and compiled
 * templates, the activation rule applied over time, issuance through the worker pool (and the
 * token for token-held keys), the certificate recorder, the in-memory views the request path
 * needs (entries by id and parent, revoked serials, evicted nodes, trust bundle), CRL
 * publication, OCSP signers, and the server's own TLS certificate. Changes made by other
 * processes (the CLI writes the same database) are picked up by watching SQLite's data_version.
 *
 * Must never: issue from an intermediate that is not active, hand out a certificate before its
 * record is committed, or keep a plaintext key anywhere but in KeyObjects.
 */
import { createHash, generateKeyPairSync, sign as nodeSign } from 'node:crypto';

import { openCaStore, prepareCrl, signPrepared, type CaStore } from '../ca/index.ts';
import { hsmSigner, softwareSigner, type Signer } from '../crypto/signer.ts';

import { CoreError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import type { Logger } from '../log/logger.ts';
import { CRL_REASONS, DEFAULT_PROFILE_INPUTS, issuerFromCertificate, PEM_LABEL, profileFromObject, toPem, type CrlProfile, type CrlReasonName } from '../pki/index.ts';
import type { Store } from '../store/index.ts';
import { issuerProfile, readCaCertificate, signAlgorithmFor, type CaCertInfo } from './ca-cert.ts';
import { CertRecorder, countExpiring, insertCert, latestNotAfters, revokedForIssuer, revokedSerials, ThreadedCertRecorder, type CertKind, type CertSink } from './cert-store.ts';
import type { ServeConfig } from './config.ts';
import { listEntries, type Entry } from './entries.ts';
import { asBuffer, type IssuerSpec } from './issuance-jobs.ts';
import { finishSvid, prepareFromKey, type IssuedSvid } from './issuance.ts';
import { issuedIntermediates, latestRootCrls, listRoots, openIntermediateKeys, type IntermediateKey, type IntermediateRecord } from './intermediates.ts';
import type { onlineMetrics } from './metrics.ts';
import { evictedNodes } from './nodes.ts';
import { ocspIssuer, type OcspIssuer } from './ocsp.ts';
import { readSettings, type OnlineSettings } from './settings.ts';
import { SERVER_PATH } from './spiffe-id.ts';
import { selfCheckTemplate } from './svid-lint.ts';
import { certificatePem, compileTemplate, type SvidTemplate } from './svid-template.ts';
import { bundlePem, spiffeBundle } from './trust-bundle.ts';
import { coverage, selectActive } from './windows.ts';
import { IssuancePool } from './worker-pool.ts';

/** An intermediate ready to sign. */
export interface LoadedIntermediate {
  readonly id: string;
  readonly record: IntermediateRecord;
  readonly info: CaCertInfo;
  readonly template: SvidTemplate;
  readonly key: IntermediateKey;
  readonly pem: string;
  readonly ocsp: OcspIssuer;
  sign(data: Buffer): Buffer;
}

/** A certificate issued and recorded. */
export interface IssuedCert extends IssuedSvid {
  readonly issuerId: string;
  readonly chainPem: string;
}

/** The latest CRL of an intermediate. */
export interface PublishedCrl {
  readonly issuerId: string;
  readonly der: Buffer;
  readonly number: number;
  readonly thisUpdateMs: number;
  readonly nextUpdateMs: number;
}

/** Options of {@link CaRuntime.start}. */
export interface RuntimeOptions {
  readonly store: Store;
  readonly session: HsmSession;
  readonly config: ServeConfig;
  readonly log: Logger;
  readonly now: () => number;
  readonly metrics: ReturnType<typeof onlineMetrics>;
}

/** TLS credentials of the server. */
export interface ServerCredentials {
  readonly key: string;
  readonly cert: string;
  readonly ca: string;
  readonly notAfterMs: number;
  readonly issuedAtMs: number;
  readonly issuerId: string;
}

/** The running CA. */
export class CaRuntime {
  readonly settings: OnlineSettings;
  readonly pool: IssuancePool;
  readonly recorder: CertSink;
  readonly #o: RuntimeOptions;
  readonly #caStore: CaStore;
  readonly #crlProfile: CrlProfile;
  #ints = new Map<string, LoadedIntermediate>();
  #active: { int: LoadedIntermediate; mode: 'full' | 'capped' } | undefined;
  #entries = new Map<string, Entry>();
  #byParent = new Map<string, { entries: Entry[]; json: string; etag: string }>();
  #revoked = new Set<string>();
  #evicted = new Set<string>();
  #roots: Buffer[] = [];
  #bundlePem = '';
  #bundleJson = '';
  #bundleSequence = 0;
  #rootCrls: Buffer[] = [];
  #crls = new Map<string, PublishedCrl>();
  #dataVersion = -1;
  #lastSignature = '';
  /** Newest notAfter per workload/node identity, kept current as certificates are recorded. */
  #latest = new Map<string, number>();
  #lastCoverageWarnMs = 0;

  private constructor(o: RuntimeOptions, settings: OnlineSettings, pool: IssuancePool, recorder: CertSink) {
    this.#o = o;
    this.settings = settings;
    this.pool = pool;
    this.recorder = recorder;
    // CRLs are prepared, linted, signed, verified and recorded by the CA layer (core/ca) in the
    // online database; the profile is the platform's crl-intermediate with our validity.
    this.#caStore = openCaStore(o.store);
    this.#crlProfile = profileFromObject({ ...DEFAULT_PROFILE_INPUTS['crl-intermediate'], validity: { nextUpdate: `${o.config.crl.validity}s`, backdate: '1m' } }, 'the online CRL profile') as CrlProfile;
  }

  /**
   * Loads the CA state, opens the intermediate keys and starts the workers.
   * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED, ERR_ONLINE_NO_ACTIVE_INTERMEDIATE, ERR_ONLINE_INTERMEDIATE_INVALID, HSM codes
   */
  static async start(o: RuntimeOptions): Promise<CaRuntime> {
    const settings = readSettings(o.store.db);
    const pool = await IssuancePool.start(settings.keyStore === 'token' ? 0 : o.config.workers, [], o.log.child('workers'));
    let recorder: CertSink;
    try {
      // `full`: the fsync of each group commit runs on its own writer thread, off the event loop.
      // `batched`: commits without fsync happen on the main thread (cheap) and the WAL is
      // fsynced every 100 ms on the thread pool.
      recorder = o.store.path === ':memory:' || o.config.recordDurability === 'batched' ? new CertRecorder(o.store, o.config.recordDurability) : await ThreadedCertRecorder.start(o.store.path, 'full');
    } catch (e) {
      await pool.close();
      throw e;
    }
    const rt = new CaRuntime(o, settings, pool, recorder);
    try {
      rt.reload();
      if (rt.#active === undefined) {
        throw new CoreError('ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', `no imported intermediate is valid now (${rt.#ints.size} loaded); import the intermediate-issuance from the ceremony ('neam-ca online import-issuance') before serving`);
      }
    } catch (e) {
      await pool.close();
      await recorder.close();
      throw e;
    }
    return rt;
  }

  /** The current trust domain. */
  get trustDomain(): string {
    return this.settings.trustDomain;
  }

  /** The active intermediate, if any. */
  get active(): LoadedIntermediate | undefined {
    return this.#active?.int;
  }

  /** How the active intermediate was chosen. */
  get activeMode(): 'full' | 'capped' | undefined {
    return this.#active?.mode;
  }

  /** Loaded intermediates. */
  get intermediates(): readonly LoadedIntermediate[] {
    return [...this.#ints.values()];
  }

  /**
   * Reloads the in-memory views when another connection changed what they hold. SQLite's
   * data_version moves with every commit of another connection, including the certificate
   * writer's group commits, so a cheap signature of the watched tables decides whether to reload.
   */
  refreshIfChanged(): boolean {
    const v = this.#o.store.db.pragma('data_version', { simple: true }) as number;
    if (v === this.#dataVersion) return false;
    this.#dataVersion = v;
    const sig = this.#signature();
    if (sig === this.#lastSignature) return false;
    this.reload();
    return true;
  }

  #signature(): string {
    const db = this.#o.store.db;
    const parts = [
      db.prepare('SELECT COUNT(*) AS n, MAX(updated_at) AS u, TOTAL(ttl_seconds) AS t FROM online_entries').get(),
      db.prepare('SELECT COUNT(*) AS n, MAX(revoked_at) AS r FROM online_certs WHERE revoked_at IS NOT NULL').get(),
      db.prepare('SELECT COUNT(*) AS n, MAX(evicted_at) AS e FROM online_nodes WHERE evicted_at IS NOT NULL').get(),
      db.prepare("SELECT COUNT(*) AS n, GROUP_CONCAT(id || ':' || state) AS s FROM online_intermediates").get(),
      db.prepare('SELECT COUNT(*) AS n, MAX(added_at) AS a, MAX(removed_at) AS r FROM online_roots').get(),
      db.prepare('SELECT COUNT(*) AS n, MAX(imported_at) AS i FROM online_root_crls').get(),
      db.prepare('SELECT bundle_sequence AS b FROM online_settings').get(),
    ];
    return JSON.stringify(parts);
  }

  /** Reloads the state from the database. */
  reload(): void {
    const { store, session, config, log } = this.#o;
    const db = store.db;
    this.#dataVersion = db.pragma('data_version', { simple: true }) as number;
    this.#lastSignature = this.#signature();
    const nowMs = this.#o.now();
    // Intermediates: open keys of the ones not loaded yet; drop retired/expired ones.
    const issued = issuedIntermediates(db).filter((i) => i.notAfterMs > nowMs);
    const fresh = issued.filter((i) => !this.#ints.has(i.id));
    if (fresh.length > 0) {
      const keys = openIntermediateKeys(db, session, fresh.map((f) => f.id));
      for (const rec of fresh) {
        const key = keys.get(rec.id);
        if (key === undefined) continue;
        try {
          this.#ints.set(rec.id, this.#load(rec, key));
        } catch (e) {
          log.error('intermediate not loaded: its SVID template failed the self-check', { intermediate: rec.id, error: e });
          continue;
        }
        log.info('intermediate loaded', { intermediate: rec.id, notBefore: new Date(rec.notBeforeMs).toISOString(), notAfter: new Date(rec.notAfterMs).toISOString(), keyStore: rec.keyStore });
      }
    }
    for (const id of [...this.#ints.keys()]) if (!issued.some((i) => i.id === id)) this.#ints.delete(id);
    // Trust bundle.
    const s = readSettings(db);
    this.#roots = listRoots(db).map((r) => r.cert);
    this.#bundleSequence = s.bundleSequence;
    this.#bundlePem = bundlePem(this.#roots);
    this.#bundleJson = JSON.stringify(spiffeBundle(this.#roots, s.bundleSequence, config.bundle.refreshHint));
    this.#rootCrls = latestRootCrls(db);
    // Entries, revocations, evictions.
    this.#entries = new Map(listEntries(db).map((e) => [e.id, e]));
    this.#byParent.clear();
    const revoked = revokedSerials(db, nowMs);
    const revocationsChanged = revoked.size !== this.#revoked.size || [...revoked].some((x) => !this.#revoked.has(x));
    this.#revoked = revoked;
    // Rebuilt at start and after a revocation (which can change an identity's newest certificate).
    if (revocationsChanged || this.#latest.size === 0) this.#latest = latestNotAfters(db, nowMs);
    this.#evicted = evictedNodes(db);
    this.updateActivation();
    this.pool.setIssuers(this.#issuerSpecs());
    if (revocationsChanged && this.#crls.size > 0) this.publishCrls();
  }

  #load(rec: IntermediateRecord & { cert: Buffer }, key: IntermediateKey): LoadedIntermediate {
    const info = readCaCertificate(rec.cert, `intermediate ${rec.id}`);
    const base = this.#o.config.publicUrl;
    const profile = issuerProfile(rec.id, info, base === undefined ? {} : { ocspUrl: `${base}/ocsp`, crlUrl: `${base}/crl/${rec.id}.crl` });
    const template = compileTemplate(profile);
    // Lint one certificate of the template with core/pki before it may issue anything.
    selfCheckTemplate(template, issuerFromCertificate(info.cert), this.settings.trustDomain, this.#o.now(), this.#o.config.svid.maxTtl);
    const alg = profile.signatureAlgorithm;
    const session = this.#o.session;
    const sign = key.kind === 'software' ? (data: Buffer): Buffer => nodeSign(template.hash, data, key.key) : (data: Buffer): Buffer => session.sign(key.ref, alg, data);
    return { id: rec.id, record: rec, info, template, key, pem: certificatePem(rec.cert), sign, ocsp: ocspIssuer(rec.id, rec.cert, info.subjectDer, info.spki, alg, sign) };
  }

  #issuerSpecs(): IssuerSpec[] {
    return [...this.#ints.values()].map((i) => ({ profile: i.template.issuer, key: i.key.kind === 'software' ? i.key.key : undefined }));
  }

  /** Applies the activation rule at the current time; returns true when the active intermediate changed. */
  updateActivation(): boolean {
    const nowMs = this.#o.now();
    const maxTtlMs = this.#o.config.svid.maxTtl * 1000;
    const candidates = [...this.#ints.values()].map((i) => ({ id: i.id, notBeforeMs: i.info.notBeforeMs, notAfterMs: i.info.notAfterMs, int: i }));
    const sel = selectActive(candidates, nowMs, maxTtlMs);
    const before = this.#active?.int.id;
    this.#active = sel === undefined ? undefined : { int: sel.active.int, mode: sel.mode };
    const m = this.#o.metrics;
    for (const i of this.#ints.values()) {
      m.activeIntermediate.set(i.id === this.#active?.int.id ? 1 : 0, { intermediate: i.id });
      m.intermediateNotAfter.set(Math.floor(i.info.notAfterMs / 1000), { intermediate: i.id });
    }
    const cov = coverage(candidates, nowMs, maxTtlMs);
    m.coverageDays.set(Math.round(cov.daysLeft * 100) / 100);
    const low = cov.daysLeft * 86_400 < this.#o.config.coverageWarning;
    m.coverageLow.set(low ? 1 : 0);
    if (low && nowMs - this.#lastCoverageWarnMs > 3_600_000) {
      this.#lastCoverageWarnMs = nowMs;
      this.#o.log.warn('signed intermediate coverage is running out: schedule the next intermediate ceremony', { coverageUntil: new Date(cov.endMs).toISOString(), daysLeft: Math.round(cov.daysLeft * 10) / 10 });
    }
    const after = this.#active?.int.id;
    if (after !== before) {
      if (after === undefined) this.#o.log.error('no intermediate is valid now: issuance stopped', {});
      else this.#o.log.info('intermediate activated', { intermediate: after, mode: this.#active?.mode, notAfter: new Date(this.#active?.int.info.notAfterMs ?? 0).toISOString() });
      if (this.#active?.mode === 'capped') this.#o.log.warn('the active intermediate expires within the maximum SVID lifetime; SVID lifetimes are capped', { intermediate: after });
      return true;
    }
    return false;
  }

  /** The entry, if it exists. */
  entry(id: string): Entry | undefined {
    return this.#entries.get(id);
  }

  /** Entries a node is parent of, their JSON and an ETag. */
  entriesFor(parentId: string): { entries: Entry[]; json: string; etag: string } {
    let v = this.#byParent.get(parentId);
    if (v === undefined) {
      const entries = [...this.#entries.values()].filter((e) => e.parentId === parentId).sort((a, b) => (a.spiffeId < b.spiffeId ? -1 : a.spiffeId > b.spiffeId ? 1 : a.id < b.id ? -1 : 1));
      const body = entries.map((e) => ({ id: e.id, spiffeId: e.spiffeId, selectors: e.selectors, ttlSeconds: e.ttlSeconds, dnsNames: e.dnsNames, updatedAt: new Date(e.updatedAtMs).toISOString() }));
      const etag = `"${createHash('sha256').update(JSON.stringify(body)).digest('hex').slice(0, 32)}"`;
      v = { entries, json: JSON.stringify({ entries: body, revision: etag.slice(1, -1) }), etag };
      this.#byParent.set(parentId, v);
    }
    return v;
  }

  /** True when the serial is revoked (and unexpired). */
  isRevoked(serial: string): boolean {
    return this.#revoked.has(serial);
  }

  /** True when a node was evicted. */
  isEvicted(nodeId: string): boolean {
    return this.#evicted.has(nodeId);
  }

  /** The trust bundle. */
  get bundle(): { pem: string; json: string; sequence: number; roots: readonly Buffer[] } {
    return { pem: this.#bundlePem, json: this.#bundleJson, sequence: this.#bundleSequence, roots: this.#roots };
  }

  /**
   * Issues a certificate from the active intermediate (not yet recorded: call {@link record}).
   * @throws {CoreError} ERR_ONLINE_NO_ACTIVE_INTERMEDIATE, ERR_ONLINE_UNAVAILABLE, the CSR and SAN errors
   */
  async issue(spiffeId: string, dnsNames: readonly string[], ttlSeconds: number, csrPem: string): Promise<IssuedCert> {
    const active = this.#active?.int;
    if (active === undefined) throw new CoreError('ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', 'no intermediate is valid now; the CA cannot issue until the next intermediate-issuance is imported');
    if (this.pool.outstanding >= this.#o.config.limits.maxPending) throw new CoreError('ERR_ONLINE_UNAVAILABLE', 'the CA is at capacity; retry shortly');
    const r = await this.pool.run({ issuerId: active.id, csrPem, spiffeId, dnsNames, ttlSeconds, nowMs: this.#o.now() });
    if (!r.ok) throw new CoreError(r.error.code, r.error.message);
    if (r.der !== undefined) return { der: asBuffer(r.der), serialHex: r.serialHex, notBeforeMs: r.notBeforeMs, notAfterMs: r.notAfterMs, spkiSha256: r.spkiSha256, issuerId: active.id, chainPem: active.pem };
    // Token mode: the worker (or inline path) built the TBS; the token signs it here.
    const tbs = asBuffer(r.tbs);
    const svid = finishSvid(active.template, { tbs, serial: asBuffer(r.serial), notBeforeMs: r.notBeforeMs, notAfterMs: r.notAfterMs, spkiSha256: r.spkiSha256 }, active.sign(tbs));
    return { ...svid, issuerId: active.id, chainPem: active.pem };
  }

  /** Identities whose newest certificate expires within each horizon (metrics). */
  expiringCounts(horizonsMs: readonly number[]): number[] {
    const nowMs = this.#o.now();
    for (const [id, t] of this.#latest) if (t <= nowMs) this.#latest.delete(id);
    return countExpiring(this.#latest, nowMs, horizonsMs);
  }

  /** Records an issued certificate (group commit); resolves once durable. */
  async record(cert: IssuedCert, kind: CertKind, spiffeId: string, entryId: string | null, nodeId: string | null): Promise<void> {
    await this.recorder.record({
      serial: cert.serialHex,
      issuerId: cert.issuerId,
      kind,
      spiffeId,
      entryId,
      nodeId,
      notBeforeMs: cert.notBeforeMs,
      notAfterMs: cert.notAfterMs,
      issuedAtMs: this.#o.now(),
      spkiSha256: cert.spkiSha256,
      der: cert.der,
    });
    if (kind === 'workload' || kind === 'node') this.#latest.set(spiffeId, Math.max(this.#latest.get(spiffeId) ?? 0, cert.notAfterMs));
  }

  /** Notes a node SVID recorded outside {@link record} (attestation's own transaction). */
  noteIssued(spiffeId: string, notAfterMs: number): void {
    this.#latest.set(spiffeId, Math.max(this.#latest.get(spiffeId) ?? 0, notAfterMs));
  }

  /** Signs and records a fresh TLS certificate for the server itself (P-256 key held in memory only). */
  issueServerCredentials(): ServerCredentials {
    const active = this.#active?.int;
    if (active === undefined) throw new CoreError('ERR_ONLINE_NO_ACTIVE_INTERMEDIATE', 'no intermediate is valid now; the server cannot obtain its TLS certificate');
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const spki = publicKey.export({ type: 'spki', format: 'der' });
    const nowMs = this.#o.now();
    const spiffeId = `spiffe://${this.trustDomain}${SERVER_PATH}`;
    const prepared = prepareFromKey(active.template, spki, 26, { spiffeId, dnsNames: this.#o.config.serverDnsNames, ipAddresses: this.#o.config.serverIpAddresses, ttlSeconds: this.#o.config.svid.serverTtl, nowMs });
    const svid = finishSvid(active.template, prepared, active.sign(prepared.tbs));
    this.#o.store.transaction((db) =>
      insertCert(db, { serial: svid.serialHex, issuerId: active.id, kind: 'server', spiffeId, entryId: null, nodeId: null, notBeforeMs: svid.notBeforeMs, notAfterMs: svid.notAfterMs, issuedAtMs: nowMs, spkiSha256: svid.spkiSha256, der: svid.der }),
    );
    this.#o.metrics.issued.inc({ kind: 'server' });
    this.#o.log.info('server TLS certificate issued', { serial: svid.serialHex, intermediate: active.id, notAfter: new Date(svid.notAfterMs).toISOString() });
    return {
      key: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
      cert: certificatePem(svid.der) + active.pem,
      ca: this.#bundlePem,
      notAfterMs: svid.notAfterMs,
      issuedAtMs: nowMs,
      issuerId: active.id,
    };
  }

  #signer(int: LoadedIntermediate, algorithm: Signer['algorithm']): Signer {
    return int.key.kind === 'software' ? softwareSigner(int.key.key, algorithm) : hsmSigner(this.#o.session, int.key.ref, algorithm);
  }

  /**
   * Signs a fresh CRL for every intermediate valid now through core/ca (prepare, lint, sign,
   * verify, compare the signed TBS, lint again, record), listing its unexpired revoked SVIDs. The
   * intermediate is trusted as the CRL issuer because it verifies up to one of the imported roots
   * (passed as trust anchors: core/ca never trusts an issuer certificate as given).
   */
  publishCrls(): void {
    const nowMs = this.#o.now();
    const { store, metrics, log } = this.#o;
    for (const int of this.#ints.values()) {
      if (int.info.notBeforeMs > nowMs || int.info.notAfterMs <= nowMs) continue;
      try {
        const revoked = revokedForIssuer(store.db, int.id, nowMs).map((r) => ({ serial: r.serial, revocationDate: new Date(r.revokedAtMs), reason: reasonName(r.reason) }));
        const prepared = prepareCrl({ profile: this.#crlProfile, issuerCertificate: int.info.der, store: this.#caStore, trustAnchors: this.#roots, now: new Date(nowMs), revoked });
        const issued = signPrepared(prepared, this.#signer(int, prepared.signatureAlgorithm), { store: this.#caStore, trustAnchors: this.#roots, ceremony: { id: `online-crl:${int.id}` }, now: new Date(nowMs) });
        this.#dataVersion = store.db.pragma('data_version', { simple: true }) as number;
        this.#crls.set(int.id, { issuerId: int.id, der: issued.der, number: prepared.crlNumber, thisUpdateMs: Date.parse(issued.record.thisUpdate), nextUpdateMs: Date.parse(issued.record.nextUpdate) });
        metrics.crlPublished.inc({ intermediate: int.id });
        metrics.crlLastPublish.set(Math.floor(nowMs / 1000), { intermediate: int.id });
        log.debug('CRL published', { intermediate: int.id, crlNumber: prepared.crlNumber, revoked: revoked.length });
      } catch (e) {
        log.error('CRL publication failed', { intermediate: int.id, error: e });
      }
    }
  }

  /** The latest CRL of an intermediate. */
  crl(issuerId: string): PublishedCrl | undefined {
    return this.#crls.get(issuerId);
  }

  /** Every CRL a relying party needs for the chains we issue (root CRLs and intermediate CRLs), PEM. */
  allCrlsPem(): string {
    return [...this.#rootCrls.map((d) => toPem(PEM_LABEL.crl, d)), ...[...this.#crls.values()].map((c) => toPem(PEM_LABEL.crl, c.der))].join('');
  }

  /** OCSP signers. */
  ocspIssuers(): OcspIssuer[] {
    return [...this.#ints.values()].map((i) => i.ocsp);
  }

  /** Stops the workers and flushes pending records. */
  async close(): Promise<void> {
    await this.pool.close();
    await this.recorder.close();
  }
}

/** The signature algorithm of a loaded intermediate (for diagnostics). */
export function intermediateAlgorithm(i: LoadedIntermediate): string {
  return i.info.keyAlgorithm === 'other' ? 'other' : signAlgorithmFor(i.info.keyAlgorithm);
}

const REASON_NAMES = new Map<number, CrlReasonName>(Object.entries(CRL_REASONS).map(([k, v]) => [v, k as CrlReasonName]));

/** The CRLReason name of a stored reason code. */
function reasonName(code: number): CrlReasonName {
  return REASON_NAMES.get(code) ?? 'unspecified';
}
