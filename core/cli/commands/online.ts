/**
 * @module cli/commands/online
 * The online CA's commands: `neam-ca online init|prepare|export-csrs|import-issuance|admin-cert`
 * (intermediate lifecycle and admin certificates), `neam-ca serve` (the HTTPS API), `neam-ca entry
 * create|list|show|update|delete` (registration entries), `neam-ca token create` (join tokens),
 * `neam-ca revoke`, `neam-ca node list|evict` and `neam-ca status`. They work on the online
 * database in the state home (`HOME/online/online.db`); a running server picks up their changes
 * within a second.
 *
 * Must never: print a join token anywhere but the one place the operator asked for (stdout or a
 * 0600 file), or accept a PIN as an argument.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

import { parse as parseYaml } from 'yaml';

import { CoreError } from '../../errors.ts';
import type { HsmSession } from '../../hsm/types.ts';
import { createLogger, jsonLineSink } from '../../log/logger.ts';
import { splitPemCertificates } from '../../online/ca-cert.ts';
import { normaliseSerial, revoke, REVOCATION_REASONS, type RevocationReason } from '../../online/cert-store.ts';
import { parseDuration, parseServeConfig, type ServeConfig } from '../../online/config.ts';
import { createEntry, deleteEntry, getEntry, listEntries, updateEntry, type Entry, type EntryLimits } from '../../online/entries.ts';
import { importIssuance, initOnline, listRoots, prepareBatch, type IntermediateRecord } from '../../online/intermediates.ts';
import { exportRequestPayload, importTransferBundle, intermediateName } from '../../online/transfer.ts';
import { createJoinToken, DEFAULT_TOKEN_TTL_SECONDS } from '../../online/join-tokens.ts';
import { issueLocally } from '../../online/local-issue.ts';
import { evictNode, listNodes } from '../../online/nodes.ts';
import { startOnlineServer } from '../../online/server.ts';
import { INTERMEDIATE_ALGORITHMS, onlineDbPath, openOnlineStore, readSettings, type IntermediateAlgorithm } from '../../online/settings.ts';
import { adminSpiffeId, nodeSpiffeId, parseWorkloadSpiffeId } from '../../online/spiffe-id.ts';
import { collectStatus, type StatusReport } from '../../online/status.ts';
import { bundlePem } from '../../online/trust-bundle.ts';
import type { Store } from '../../store/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { Command, CommandContext, OptionSpec } from '../command.ts';
import { loginFrom, MODULE_OPTIONS, openHsmFrom, PIN_OPTIONS, TOKEN_OPTIONS } from '../hsm-options.ts';
import { table } from '../render.ts';

const CONFIG_OPTION: Record<string, OptionSpec> = {
  config: { type: 'string', valueName: 'FILE', description: 'serve configuration (YAML or JSON); its svid limits apply here too' },
};

function str(ctx: CommandContext, name: string): string | undefined {
  const v = ctx.values[name];
  return typeof v === 'string' ? v : undefined;
}

function strs(ctx: CommandContext, name: string): string[] | undefined {
  const v = ctx.values[name];
  return Array.isArray(v) ? (v as string[]) : undefined;
}

function required(ctx: CommandContext, name: string, what: string): string {
  const v = str(ctx, name);
  if (v === undefined || v === '') throw new CoreError('ERR_USAGE', `--${name} ${what} is required`);
  return v;
}

function intOption(ctx: CommandContext, name: string, dflt: number): number {
  const v = str(ctx, name);
  if (v === undefined) return dflt;
  if (!/^\d{1,6}$/u.test(v)) throw new CoreError('ERR_USAGE', `--${name} must be a whole number (got '${v}')`);
  return Number(v);
}

function timeOption(ctx: CommandContext, name: string): number | undefined {
  const v = str(ctx, name);
  if (v === undefined) return undefined;
  const ms = Date.parse(v);
  if (Number.isNaN(ms)) throw new CoreError('ERR_USAGE', `--${name} must be an ISO 8601 time such as 2027-01-01T00:00:00Z (got '${v}')`);
  return ms;
}

/** Reads a serve configuration file (YAML or JSON) and applies command-line overrides. */
function loadConfig(ctx: CommandContext, overrides: Record<string, unknown> = {}): ServeConfig {
  const file = str(ctx, 'config');
  let raw: Record<string, unknown> = {};
  if (file !== undefined) {
    const path = resolve(ctx.cwd, file);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw new CoreError('ERR_IO', `cannot read the configuration file ${path}`, { cause: e });
    }
    let parsed: unknown;
    try {
      parsed = parseYaml(text, { uniqueKeys: true });
    } catch (e) {
      throw new CoreError('ERR_CONFIG_INVALID', `${path} is not valid YAML/JSON: ${(e as Error).message.split('\n')[0] ?? ''}`, { cause: e });
    }
    if (parsed !== null && parsed !== undefined && (typeof parsed !== 'object' || Array.isArray(parsed))) throw new CoreError('ERR_CONFIG_INVALID', `${path} must hold a mapping of settings`);
    raw = (parsed ?? {}) as Record<string, unknown>;
  }
  return parseServeConfig({ ...raw, ...overrides }, file === undefined ? 'the configuration' : resolve(ctx.cwd, file));
}

function withStore<T>(ctx: CommandContext, fn: (store: Store) => Promise<T> | T): Promise<T> {
  const store = openOnlineStore(onlineDbPath(ctx.home));
  return Promise.resolve()
    .then(() => fn(store))
    .finally(() => store.close());
}

async function withSession<T>(ctx: CommandContext, fn: (session: HsmSession) => Promise<T> | T): Promise<T> {
  const hsm = openHsmFrom(ctx);
  try {
    const session = await loginFrom(ctx, hsm);
    try {
      return await fn(session);
    } finally {
      session.close();
    }
  } finally {
    hsm.close();
  }
}

const HSM = { ...MODULE_OPTIONS, ...TOKEN_OPTIONS, ...PIN_OPTIONS };

function renderBatch(list: IntermediateRecord[]): string {
  return table(
    ['ID', 'STATE', 'ALGORITHM', 'KEY', 'REQUESTED WINDOW'],
    list.map((i) => [i.id, i.state, i.keyAlgorithm, i.keyStore, `${new Date(i.windowStartMs).toISOString()} – ${new Date(i.windowEndMs).toISOString()}`]),
  );
}

function batchJson(list: IntermediateRecord[]): unknown[] {
  return list.map((i) => ({ id: i.id, state: i.state, keyAlgorithm: i.keyAlgorithm, keyStore: i.keyStore, batch: i.batch, requestedNotBefore: new Date(i.windowStartMs).toISOString(), requestedNotAfter: new Date(i.windowEndMs).toISOString() }));
}

const init: Command = {
  path: ['online', 'init'],
  summary: 'initialise the online CA: trust domain, key storage, and the first batch of staggered intermediate keys',
  usage: '--trust-domain DOMAIN --token LABEL [--serial S] [--algorithm rsa-2048|ec-p256|ec-p384] [--key-store sealed|token] [--windows 4] [--window-days 90] [--overlap-days 7] [--start TIME]',
  description:
    'Generates K intermediate keys (default 4 windows of 90 days, each overlapping the next by 7 days, so one ceremony covers about a year) either as software keys sealed under an AES-256 key-encryption key in the token (--key-store sealed, the default: fast issuance) or inside the token (--key-store token), and a CSR for each. Export the CSRs with `neam-ca online export-csrs`.',
  options: {
    ...HSM,
    ...CONFIG_OPTION,
    'trust-domain': { type: 'string', valueName: 'DOMAIN', description: 'the SPIFFE trust domain, e.g. example.org' },
    algorithm: { type: 'string', valueName: 'ALG', description: `intermediate key algorithm: ${INTERMEDIATE_ALGORITHMS.join(', ')} (default rsa-2048)` },
    'key-store': { type: 'string', valueName: 'MODE', description: 'sealed (software keys sealed under a token KEK, default) or token (keys inside the token)' },
    windows: { type: 'string', valueName: 'K', description: 'number of staggered intermediates (default 4)' },
    'window-days': { type: 'string', valueName: 'DAYS', description: 'validity window of each intermediate (default 90)' },
    'overlap-days': { type: 'string', valueName: 'DAYS', description: 'overlap between consecutive windows (default 7; must exceed the longest SVID lifetime)' },
    start: { type: 'string', valueName: 'TIME', description: 'start of the first window (ISO 8601, default now)' },
  },
  run: (ctx) =>
    withStore(ctx, (store) =>
      withSession(ctx, (session) => {
        const alg = (str(ctx, 'algorithm') ?? 'rsa-2048') as IntermediateAlgorithm;
        if (!INTERMEDIATE_ALGORITHMS.includes(alg)) throw new CoreError('ERR_USAGE', `--algorithm must be one of ${INTERMEDIATE_ALGORITHMS.join(', ')}`);
        const keyStore = str(ctx, 'key-store') ?? 'sealed';
        if (keyStore !== 'sealed' && keyStore !== 'token') throw new CoreError('ERR_USAGE', '--key-store must be sealed or token');
        const config = loadConfig(ctx);
        const start = timeOption(ctx, 'start');
        const r = initOnline(store, session, {
          trustDomain: required(ctx, 'trust-domain', 'DOMAIN'),
          keyStore,
          keyAlgorithm: alg,
          windows: intOption(ctx, 'windows', 4),
          windowDays: intOption(ctx, 'window-days', 90),
          overlapDays: intOption(ctx, 'overlap-days', 7),
          ...(start === undefined ? {} : { startMs: start }),
          nowMs: Date.now(),
          maxSvidTtlSeconds: config.svid.maxTtl,
        });
        ctx.out.result({ trustDomain: r.settings.trustDomain, keyStore: r.settings.keyStore, database: store.path, intermediates: batchJson(r.batch) }, () =>
          [`Initialised the online CA for trust domain '${r.settings.trustDomain}' (${r.settings.keyStore} keys) in ${store.path}.`, renderBatch(r.batch), '', "Next: 'neam-ca online export-csrs --out DIR' and take the CSRs to the intermediate ceremony."].join('\n'),
        );
      }),
    ),
};

const prepare: Command = {
  path: ['online', 'prepare'],
  summary: 'generate the next batch of staggered intermediate keys and CSRs (for the next ceremony)',
  usage: '--token LABEL [--windows 4] [--start TIME]',
  options: { ...HSM, ...CONFIG_OPTION, windows: { type: 'string', valueName: 'K', description: 'number of intermediates (default 4)' }, start: { type: 'string', valueName: 'TIME', description: 'start of the first new window (default: where the last one ends minus the overlap)' } },
  run: (ctx) =>
    withStore(ctx, (store) =>
      withSession(ctx, (session) => {
        const start = timeOption(ctx, 'start');
        const batch = prepareBatch(store, session, { windows: intOption(ctx, 'windows', 4), ...(start === undefined ? {} : { startMs: start }), nowMs: Date.now(), maxSvidTtlSeconds: loadConfig(ctx).svid.maxTtl });
        ctx.out.result({ intermediates: batchJson(batch) }, () => `Generated ${batch.length} intermediate key(s):\n${renderBatch(batch)}`);
      }),
    ),
};

const exportCsrs: Command = {
  path: ['online', 'export-csrs'],
  summary: 'write the CSRs awaiting certificates as an intermediate-request bundle payload',
  usage: '--out DIR',
  description:
    "Writes DIR/index.json and DIR/csr/intermediate-ID.csr in the intermediate-request payload layout (docs/bundle-format.md §7.1), with each intermediate's requested window. Sign and record it as a bundle with `neam-ca bundle create --kind intermediate-request --to PEER --payload DIR --out FILE --db HOME/online/online.db` (the online CA keeps its bundle channel state in its own database, so the answer imports atomically). Files are never overwritten.",
  options: { out: { type: 'string', valueName: 'DIR', description: 'payload folder to create (must not exist or be empty)' } },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const out = resolve(ctx.cwd, required(ctx, 'out', 'DIR'));
      if (existsSync(out) && readdirSync(out).length > 0) throw new CoreError('ERR_ALREADY_EXISTS', `${out} already exists and is not empty; the payload folder is never overwritten`);
      const payload = exportRequestPayload(store);
      mkdirSync(join(out, 'csr'), { recursive: true, mode: 0o700 });
      for (const f of payload.files) writeFileExclusive(join(out, f.path), f.data);
      const next = `neam-ca bundle create --kind intermediate-request --to PEER --payload ${out} --out REQUEST.neambundle --db ${onlineDbPath(ctx.home)}`;
      ctx.out.result({ out, next, requests: payload.requests.map((r) => ({ id: r.id, name: intermediateName(r.id), notBefore: r.notBefore, notAfter: r.notAfter, spkiSha256: r.spkiSha256 })) }, () =>
        [
          `Wrote the intermediate-request payload for ${payload.requests.length} CSR(s) to ${out}:`,
          table(['NAME', 'NOT BEFORE', 'NOT AFTER', 'SHA-256(SPKI)'], payload.requests.map((r) => [intermediateName(r.id), r.notBefore, r.notAfter, r.spkiSha256])),
          '',
          `Next: ${next}`,
        ].join('\n'),
      );
    }),
};

const importCmd: Command = {
  path: ['online', 'import-issuance'],
  summary: 'import an intermediate-issuance (or crl) bundle, or certificate files in a rehearsal',
  usage: '--bundle FILE | --cert FILE [--cert FILE…] --root FILE [--root-crl FILE]',
  description:
    "With --bundle: verifies the bundle (signature of the pinned offline peer, sequence, pinned root, answers to the CSRs we sent, windows; docs/bundle-format.md) and imports it, together with our own checks, in one transaction of the online database. Without: imports certificate files directly (rehearsals, tests). Either way every certificate must answer one of our CSRs (same public key), be a CA with keyCertSign and pathLen 0, permit our trust domain if it has URI name constraints, chain to a given or already trusted root, and not be expired; nothing is written unless all checks pass, and importing the same input again changes nothing.",
  options: {
    bundle: { type: 'string', valueName: 'FILE', description: 'an intermediate-issuance or crl bundle from the offline side' },
    cert: { type: 'string', multiple: true, valueName: 'FILE', description: 'PEM file with issued intermediate certificate(s)' },
    root: { type: 'string', multiple: true, valueName: 'FILE', description: 'PEM file with the root certificate(s)' },
    'root-crl': { type: 'string', multiple: true, valueName: 'FILE', description: "the root's CRL (PEM or DER)" },
  },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const read = (f: string): Buffer => {
        try {
          return readFileSync(resolve(ctx.cwd, f));
        } catch (e) {
          throw new CoreError('ERR_IO', `cannot read ${f}`, { cause: e });
        }
      };
      const bundleFile = str(ctx, 'bundle');
      if (bundleFile !== undefined) {
        if (strs(ctx, 'cert') !== undefined || strs(ctx, 'root') !== undefined || strs(ctx, 'root-crl') !== undefined) throw new CoreError('ERR_USAGE', 'give either --bundle FILE or certificate files, not both');
        const t = importTransferBundle(store, read(bundleFile), Date.now());
        const m = t.bundle.manifest;
        ctx.out.result({ bundle: { kind: m.kind, sequence: m.sequence, peer: t.bundle.peer, alreadyImported: t.bundle.alreadyImported, manifestSha256: t.bundle.manifestSha256 }, issuance: t.issuance ?? null, rootCrlsImported: t.rootCrlsImported ?? null }, () =>
          [
            t.bundle.alreadyImported ? `Bundle ${m.sequence} (${m.kind}) from '${t.bundle.peer}' was already imported on ${t.bundle.importedAt}; nothing changed.` : `Imported bundle ${m.sequence} (${m.kind}) from '${t.bundle.peer}'.`,
            ...(t.issuance?.imported ?? []).map((i) => `Imported intermediate ${i.id}: ${i.notBefore} – ${i.notAfter} (SHA-256 ${i.sha256})`),
            ...(t.issuance?.rootsAdded ?? []).map((x) => `Added trust anchor ${x}.`),
            ...(t.rootCrlsImported === undefined ? [] : [`Imported ${t.rootCrlsImported} root CRL(s).`]),
            ...(t.issuance?.warnings ?? []).map((w) => `warning: ${w}`),
          ].join('\n'),
        );
        return;
      }
      const certs = (strs(ctx, 'cert') ?? []).flatMap((f) => splitPemCertificates(read(f).toString('utf8'), f));
      const roots = (strs(ctx, 'root') ?? []).flatMap((f) => splitPemCertificates(read(f).toString('utf8'), f));
      const crls = (strs(ctx, 'root-crl') ?? []).map((f) => {
        const b = read(f);
        const t = b.toString('latin1');
        const m = /-----BEGIN X509 CRL-----([\s\S]+?)-----END X509 CRL-----/u.exec(t);
        return m === null ? b : Buffer.from((m[1] ?? '').replace(/\s+/gu, ''), 'base64');
      });
      if (certs.length === 0 && roots.length === 0) throw new CoreError('ERR_USAGE', 'give --bundle FILE, or --cert FILE and --root FILE');
      const r = importIssuance(store, { intermediates: certs, roots, rootCrls: crls }, Date.now());
      ctx.out.result(r, () =>
        [
          ...r.imported.map((i) => `Imported intermediate ${i.id}: ${i.notBefore} – ${i.notAfter} (SHA-256 ${i.sha256})`),
          ...r.alreadyPresent.map((id) => `Intermediate ${id} was already imported; unchanged.`),
          ...r.rootsAdded.map((s) => `Added trust anchor ${s} (bundle sequence ${r.bundleSequence}).`),
          ...(r.rootCrlsImported > 0 ? [`Imported ${r.rootCrlsImported} root CRL(s).`] : []),
          ...r.warnings.map((w) => `warning: ${w}`),
        ].join('\n'),
      );
    }),
};

const adminCert: Command = {
  path: ['online', 'admin-cert'],
  summary: 'issue an administrator client certificate for the admin API',
  usage: '--name NAME --out DIR --token LABEL [--csr FILE] [--ttl 30d]',
  description: 'Issues spiffe://TD/neam-ca/admin/NAME from the active intermediate. Without --csr a P-256 key is generated and written to DIR/NAME.key (mode 0600). DIR/NAME.pem holds the certificate and chain, DIR/bundle.pem the trust anchors.',
  options: {
    ...HSM,
    ...CONFIG_OPTION,
    name: { type: 'string', valueName: 'NAME', description: 'administrator name (letters, digits, . _ -)' },
    out: { type: 'string', valueName: 'DIR', description: 'output folder (files are not overwritten)' },
    csr: { type: 'string', valueName: 'FILE', description: "the administrator's own PEM CSR (P-256/P-384)" },
    ttl: { type: 'string', valueName: 'DURATION', description: 'lifetime (default 30d; capped at the intermediate)' },
  },
  run: (ctx) =>
    withStore(ctx, (store) =>
      withSession(ctx, async (session) => {
        const settings = readSettings(store.db);
        const name = required(ctx, 'name', 'NAME');
        const id = adminSpiffeId(settings.trustDomain, name).id;
        const out = resolve(ctx.cwd, required(ctx, 'out', 'DIR'));
        const csrFile = str(ctx, 'csr');
        const r = await issueLocally(store, session, {
          kind: 'admin',
          spiffeId: id,
          ...(csrFile === undefined ? {} : { csrPem: readFileSync(resolve(ctx.cwd, csrFile), 'utf8') }),
          ttlSeconds: parseDuration(str(ctx, 'ttl') ?? '30d', '--ttl'),
          nowMs: Date.now(),
          maxSvidTtlSeconds: loadConfig(ctx).svid.maxTtl,
        });
        mkdirSync(out, { recursive: true, mode: 0o700 });
        const certPath = join(out, `${name}.pem`);
        writeFileExclusive(certPath, r.certPem + r.chainPem);
        if (r.keyPem !== undefined) writeFileExclusive(join(out, `${name}.key`), r.keyPem, 0o600);
        writeFileExclusive(join(out, 'bundle.pem'), bundlePem(listRoots(store.db).map((x) => x.cert)));
        ctx.out.result({ spiffeId: id, serial: r.serial, notAfter: r.notAfter, cert: certPath, key: r.keyPem === undefined ? null : join(out, `${name}.key`) }, () =>
          `Issued admin certificate ${id} (serial ${r.serial}, until ${r.notAfter}) to ${certPath}${r.keyPem === undefined ? '' : ` with key ${join(out, `${name}.key`)} (0600)`}.`,
        );
      }),
    ),
};

const serve: Command = {
  path: ['serve'],
  summary: 'run the online CA: SVID issuance over mTLS, attestation, CRLs, OCSP, trust bundle, metrics',
  usage: '--token LABEL [--serial S] [--config FILE] [--listen HOST:PORT] [--http-listen HOST:PORT] [--public-url URL] [--workers N]',
  description: 'Opens the online token (PIN from --pin-file, $NEAM_CA_PIN or a prompt), unseals the intermediate keys into memory, and serves until SIGINT/SIGTERM. Logs are JSON lines on stderr. See docs/online.md for the API and the configuration.',
  options: {
    ...HSM,
    ...CONFIG_OPTION,
    listen: { type: 'string', valueName: 'HOST:PORT', description: 'HTTPS (mTLS) listener (default 0.0.0.0:8443)' },
    'http-listen': { type: 'string', valueName: 'HOST:PORT', description: 'plain HTTP listener for CRLs, OCSP, health and metrics (off by default)' },
    'public-url': { type: 'string', valueName: 'URL', description: 'base URL written into certificates for OCSP and CRLs (http://HOST:PORT)' },
    workers: { type: 'string', valueName: 'N', description: 'issuance worker threads (default: number of CPUs)' },
    'server-dns': { type: 'string', multiple: true, valueName: 'NAME', description: "DNS name in the server's own certificate (default localhost)" },
    'server-ip': { type: 'string', multiple: true, valueName: 'IP', description: "IP address in the server's own certificate (default 127.0.0.1)" },
  },
  run: (ctx) =>
    withStore(ctx, (store) =>
      withSession(ctx, async (session) => {
        const overrides: Record<string, unknown> = {};
        const listen = str(ctx, 'listen');
        if (listen !== undefined) overrides['listen'] = listen;
        const httpListen = str(ctx, 'http-listen');
        if (httpListen !== undefined) overrides['httpListen'] = httpListen;
        const publicUrl = str(ctx, 'public-url');
        if (publicUrl !== undefined) overrides['publicUrl'] = publicUrl;
        if (str(ctx, 'workers') !== undefined) overrides['workers'] = intOption(ctx, 'workers', 0);
        const dns = strs(ctx, 'server-dns');
        if (dns !== undefined) overrides['serverDnsNames'] = dns;
        const ips = strs(ctx, 'server-ip');
        if (ips !== undefined) overrides['serverIpAddresses'] = ips;
        const config = loadConfig(ctx, overrides);
        const log = createLogger({ level: ctx.values['log-level'] === 'debug' ? 'debug' : 'info', sinks: [jsonLineSink(process.stderr)], scope: 'serve' });
        const server = await startOnlineServer({ store, session, config, log });
        ctx.out.status(`neam-ca serve: listening on ${server.url}${server.httpUrl === undefined ? '' : ` and ${server.httpUrl}`} (trust domain ${server.runtime.trustDomain}, active intermediate ${server.runtime.active?.id ?? 'none'})`);
        await new Promise<void>((resolveStop) => {
          if (ctx.signal.aborted) resolveStop();
          ctx.signal.addEventListener('abort', () => resolveStop(), { once: true });
        });
        await server.close();
      }),
    ),
};

function limitsFrom(ctx: CommandContext, store: Store): EntryLimits {
  const c = loadConfig(ctx);
  return { trustDomain: readSettings(store.db).trustDomain, defaultTtlSeconds: c.svid.defaultTtl, maxTtlSeconds: c.svid.maxTtl };
}

function entryView(e: Entry): Record<string, unknown> {
  return { id: e.id, spiffeId: e.spiffeId, parentId: e.parentId, selectors: e.selectors, ttlSeconds: e.ttlSeconds, dnsNames: e.dnsNames, createdAt: new Date(e.createdAtMs).toISOString(), updatedAt: new Date(e.updatedAtMs).toISOString() };
}

function entryText(e: Entry): string {
  return [`Entry ${e.id}`, `  SPIFFE ID: ${e.spiffeId}`, `  parent:    ${e.parentId}`, `  selectors: ${e.selectors.join(', ') || '(none)'}`, `  TTL:       ${e.ttlSeconds} s`, `  DNS names: ${e.dnsNames.join(', ') || '(none)'}`].join('\n');
}

const ENTRY_OPTIONS: Record<string, OptionSpec> = {
  selector: { type: 'string', multiple: true, valueName: 'TYPE:VALUE', description: 'workload selector (repeatable)' },
  ttl: { type: 'string', valueName: 'DURATION', description: 'SVID lifetime (default 24h, at most the server maximum)' },
  dns: { type: 'string', multiple: true, valueName: 'NAME', description: 'DNS name to include in the SVID (repeatable)' },
};

function parentFrom(ctx: CommandContext, store: Store): string {
  const p = required(ctx, 'parent', 'NODE');
  return p.includes('://') ? p : nodeSpiffeId(readSettings(store.db).trustDomain, p).id;
}

const entryCreate: Command = {
  path: ['entry', 'create'],
  summary: 'register a workload: SPIFFE ID, parent node, selectors, TTL, DNS names',
  usage: '--spiffe-id ID --parent NODE [--selector TYPE:VALUE…] [--ttl 24h] [--dns NAME…]',
  options: {
    ...CONFIG_OPTION,
    'spiffe-id': { type: 'string', valueName: 'ID', description: 'spiffe://TRUST-DOMAIN/path of the workload' },
    parent: { type: 'string', valueName: 'NODE', description: 'parent node: spiffe://TD/neam-ca/node/NAME or just NAME' },
    ...ENTRY_OPTIONS,
  },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const ttl = str(ctx, 'ttl');
      const e = createEntry(
        store,
        {
          spiffeId: required(ctx, 'spiffe-id', 'ID'),
          parentId: parentFrom(ctx, store),
          selectors: strs(ctx, 'selector') ?? [],
          dnsNames: strs(ctx, 'dns') ?? [],
          ...(ttl === undefined ? {} : { ttlSeconds: parseDuration(ttl, '--ttl') }),
        },
        limitsFrom(ctx, store),
        Date.now(),
      );
      ctx.out.result(entryView(e), () => `Created ${entryText(e)}`);
    }),
};

const entryList: Command = {
  path: ['entry', 'list'],
  summary: 'list registration entries',
  usage: '[--parent NODE] [--spiffe-id ID]',
  options: { parent: { type: 'string', valueName: 'NODE', description: 'only entries of this node' }, 'spiffe-id': { type: 'string', valueName: 'ID', description: 'only entries for this SPIFFE ID' } },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const filter: { parentId?: string; spiffeId?: string } = {};
      if (str(ctx, 'parent') !== undefined) filter.parentId = parentFrom(ctx, store);
      const sid = str(ctx, 'spiffe-id');
      if (sid !== undefined) filter.spiffeId = sid;
      const list = listEntries(store.db, filter);
      ctx.out.result({ entries: list.map(entryView) }, () => (list.length === 0 ? 'No entries.' : table(['ID', 'SPIFFE ID', 'PARENT', 'TTL', 'SELECTORS', 'DNS'], list.map((e) => [e.id, e.spiffeId, e.parentId, String(e.ttlSeconds), e.selectors.join(','), e.dnsNames.join(',')]))));
    }),
};

const entryShow: Command = {
  path: ['entry', 'show'],
  summary: 'show one registration entry',
  usage: 'ID',
  positionals: { names: ['ID'], min: 1, max: 1 },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const e = getEntry(store.db, ctx.positionals[0] ?? '');
      ctx.out.result(entryView(e), () => entryText(e));
    }),
};

const entryUpdate: Command = {
  path: ['entry', 'update'],
  summary: "change an entry's selectors, TTL or DNS names",
  usage: 'ID [--selector TYPE:VALUE…] [--ttl 24h] [--dns NAME…]',
  positionals: { names: ['ID'], min: 1, max: 1 },
  options: { ...CONFIG_OPTION, ...ENTRY_OPTIONS },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const ttl = str(ctx, 'ttl');
      const sel = strs(ctx, 'selector');
      const dns = strs(ctx, 'dns');
      const e = updateEntry(store, ctx.positionals[0] ?? '', { ...(sel === undefined ? {} : { selectors: sel }), ...(dns === undefined ? {} : { dnsNames: dns }), ...(ttl === undefined ? {} : { ttlSeconds: parseDuration(ttl, '--ttl') }) }, limitsFrom(ctx, store), Date.now());
      ctx.out.result(entryView(e), () => `Updated ${entryText(e)}`);
    }),
};

const entryDelete: Command = {
  path: ['entry', 'delete'],
  summary: 'delete a registration entry (issued SVIDs stay valid until they expire or are revoked)',
  usage: 'ID',
  positionals: { names: ['ID'], min: 1, max: 1 },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const e = deleteEntry(store, ctx.positionals[0] ?? '');
      ctx.out.result(entryView(e), () => `Deleted entry ${e.id} (${e.spiffeId}). Revoke its certificates with 'neam-ca revoke --spiffe-id ${e.spiffeId}' if they must stop working now.`);
    }),
};

const tokenCreate: Command = {
  path: ['token', 'create'],
  summary: 'create a single-use join token for a node (shown once)',
  usage: '[--node NAME|ID] [--ttl 1h] [--out FILE]',
  description: 'The token is printed once on stdout (or written to --out FILE with mode 0600) and stored only as its SHA-256. The agent presents it with a CSR to POST /v1/attest and receives the node SVID for spiffe://TD/neam-ca/node/NAME.',
  options: {
    node: { type: 'string', valueName: 'NAME', description: 'node name or full node SPIFFE ID (default: a random name)' },
    ttl: { type: 'string', valueName: 'DURATION', description: `token lifetime (default ${DEFAULT_TOKEN_TTL_SECONDS / 3600}h, at most 7d)` },
    out: { type: 'string', valueName: 'FILE', description: 'write the token to FILE (mode 0600, never overwritten) instead of stdout' },
  },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const settings = readSettings(store.db);
      const name = str(ctx, 'node') ?? `node-${Math.random().toString(16).slice(2, 10)}`;
      const nodeId = nodeSpiffeId(settings.trustDomain, name).id;
      const t = createJoinToken(store, nodeId, parseDuration(str(ctx, 'ttl') ?? String(DEFAULT_TOKEN_TTL_SECONDS), '--ttl'), Date.now());
      // The agent pins these before it trusts the server's certificate on first contact.
      const trustAnchors = listRoots(store.db).map((r) => r.sha256);
      try {
        const out = str(ctx, 'out');
        const expiresAt = new Date(t.expiresAtMs).toISOString();
        const anchors = `# trust anchor SHA-256: ${trustAnchors.join(', ') || '(none imported yet)'}`;
        if (out !== undefined) {
          const path = resolve(ctx.cwd, out);
          t.token.use((b) => writeFileExclusive(path, Buffer.concat([b, Buffer.from('\n')]), 0o600));
          ctx.out.result({ nodeId, expiresAt, file: path, trustAnchors }, () => `Join token for ${nodeId} written to ${path} (mode 0600); it expires at ${expiresAt} and works once.\n${anchors}`);
        } else {
          ctx.out.result({ nodeId, expiresAt, token: t.token.unsafeText(), trustAnchors }, () => `${t.token.unsafeText()}\n# node ${nodeId}, expires ${expiresAt}, single use\n${anchors}`);
        }
      } finally {
        t.token.wipe();
      }
    }),
};

const revokeCmd: Command = {
  path: ['revoke'],
  summary: 'revoke a certificate by serial, or every certificate of a SPIFFE ID',
  usage: '(--serial HEX | --spiffe-id ID) [--reason REASON]',
  description: `Reasons: ${Object.keys(REVOCATION_REASONS).join(', ')}. A running server republishes its CRLs within a second and answers OCSP with the new status at once.`,
  options: {
    serial: { type: 'string', valueName: 'HEX', description: 'certificate serial (hex, colons allowed)' },
    'spiffe-id': { type: 'string', valueName: 'ID', description: 'revoke all unexpired certificates of this SPIFFE ID' },
    reason: { type: 'string', valueName: 'REASON', description: 'revocation reason (default unspecified)' },
  },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const serial = str(ctx, 'serial');
      const sid = str(ctx, 'spiffe-id');
      if ((serial === undefined) === (sid === undefined)) throw new CoreError('ERR_USAGE', 'give exactly one of --serial HEX or --spiffe-id ID');
      const reason = (str(ctx, 'reason') ?? 'unspecified') as RevocationReason;
      if (!(reason in REVOCATION_REASONS)) throw new CoreError('ERR_USAGE', `--reason must be one of ${Object.keys(REVOCATION_REASONS).join(', ')}`);
      const target = serial !== undefined ? { serial: normaliseSerial(serial) } : { spiffeId: parseWorkloadSpiffeId(sid ?? '', readSettings(store.db).trustDomain).id };
      const r = revoke(store, target, reason, Date.now());
      ctx.out.result(r, () =>
        [
          ...r.revoked.map((x) => `Revoked ${x.serial} (${x.spiffeId}).`),
          ...r.alreadyRevoked.map((x) => `${x} was already revoked.`),
          ...(r.expired.length > 0 ? [`${r.expired.length} expired certificate(s) left as they are.`] : []),
          ...(r.revoked.length === 0 && r.alreadyRevoked.length === 0 ? ['Nothing to revoke.'] : []),
        ].join('\n'),
      );
    }),
};

const nodeList: Command = {
  path: ['node', 'list'],
  summary: 'list attested nodes',
  run: (ctx) =>
    withStore(ctx, (store) => {
      const nodes = listNodes(store.db);
      ctx.out.result({ nodes: nodes.map((n) => ({ spiffeId: n.spiffeId, attestedAt: new Date(n.attestedAtMs).toISOString(), lastSeenAt: new Date(n.lastSeenAtMs).toISOString(), evictedAt: n.evictedAtMs === null ? null : new Date(n.evictedAtMs).toISOString() })) }, () =>
        nodes.length === 0 ? 'No attested nodes.' : table(['NODE', 'ATTESTED', 'LAST SEEN', 'EVICTED'], nodes.map((n) => [n.spiffeId, new Date(n.attestedAtMs).toISOString(), new Date(n.lastSeenAtMs).toISOString(), n.evictedAtMs === null ? '-' : new Date(n.evictedAtMs).toISOString()])),
      );
    }),
};

const nodeEvict: Command = {
  path: ['node', 'evict'],
  summary: 'evict a node: revoke its node SVIDs and refuse it until it attests with a new join token',
  usage: 'NODE',
  positionals: { names: ['NODE'], min: 1, max: 1 },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const nodeId = nodeSpiffeId(readSettings(store.db).trustDomain, ctx.positionals[0] ?? '').id;
      const r = evictNode(store, nodeId, Date.now());
      ctx.out.result({ nodeId, ...r }, () => `Evicted ${nodeId}; revoked ${r.revokedSerials.length} node SVID(s).`);
    }),
};

/** Text rendering of a status report. */
export function renderStatus(s: StatusReport): string {
  const lines = [
    `Trust domain:   ${s.trustDomain} (intermediate keys: ${s.keyStore}, ${s.keyAlgorithm}; token ${s.token.label} serial ${s.token.serial})`,
    `Active:         ${s.active === null ? 'NONE (cannot issue)' : `${s.active.id} until ${s.active.notAfter}${s.active.mode === 'capped' ? ' (SVID lifetimes capped)' : ''}`}`,
    `Coverage:       until ${s.coverage.until} (${s.coverage.daysLeft} days; warning below ${s.coverage.warningDays} days)`,
    '',
    table(
      ['INTERMEDIATE', 'STATE', 'BATCH', 'NOT BEFORE', 'NOT AFTER', 'ACTIVE'],
      s.intermediates.map((i) => [i.id, i.state, String(i.batch), i.notBefore ?? `(requested ${i.requestedWindow[0]})`, i.notAfter ?? `(requested ${i.requestedWindow[1]})`, i.active ? '*' : '']),
    ),
    '',
    `Trust anchors:  ${s.roots.length} (bundle sequence ${s.bundleSequence})`,
    `Entries:        ${s.entries}; nodes: ${s.nodes.total} (${s.nodes.evicted} evicted); join tokens outstanding: ${s.joinTokens.outstanding}`,
    `Certificates:   ${s.certificates.valid} valid, ${s.certificates.issuedLast24h} issued in the last 24 h, ${s.certificates.revokedUnexpired} revoked`,
    `Expiring:       ${s.certificates.expiringWithin['24h']} identities within 24 h, ${s.certificates.expiringWithin['12h']} within 12 h, ${s.certificates.expiringWithin['6h']} within 6 h (newest certificate, no successor)`,
    ...s.crls.map((c) => `CRL ${c.issuerId}:  #${c.number} at ${c.thisUpdate}, next ${c.nextUpdate}, ${c.revoked} revoked`),
  ];
  if (s.warnings.length > 0) lines.push('', ...s.warnings.map((w) => `WARNING: ${w}`));
  return lines.join('\n');
}

const status: Command = {
  path: ['status'],
  summary: 'show the online CA: active intermediate, coverage left, entries, nodes, certificates, CRLs, warnings',
  usage: '[--config FILE]',
  description: 'Exit code 0 when healthy; 1 with the warnings printed when coverage is below the threshold or no intermediate is active (so monitoring can run it).',
  options: { ...CONFIG_OPTION },
  run: (ctx) =>
    withStore(ctx, (store) => {
      const c = loadConfig(ctx);
      const s = collectStatus(store.db, Date.now(), { maxSvidTtlSeconds: c.svid.maxTtl, coverageWarningSeconds: c.coverageWarning });
      ctx.out.result(s, () => renderStatus(s));
      return s.active === null || s.coverage.warning !== null ? 1 : 0;
    }),
};

/** `neam-ca` commands of the online CA. */
export const ONLINE_COMMANDS: Command[] = [init, prepare, exportCsrs, importCmd, adminCert, serve, entryCreate, entryList, entryShow, entryUpdate, entryDelete, tokenCreate, revokeCmd, nodeList, nodeEvict, status];
