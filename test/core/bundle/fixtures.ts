/**
 * Test world for bundles: an offline side whose transfer key lives in a SoftHSM token, an online
 * side whose transfer key is a passphrase-encrypted key file, each enrolled on the other by
 * fingerprint, a test root CA made with OpenSSL (an independent implementation) pinned on the
 * online side, OpenSSL-made CSRs, intermediates and CRLs, payload builders per kind, a raw tar
 * writer for hostile archives, the stock-tool oracle (GNU tar, openssl cms, sha256sum) and a
 * snapshot of every bundle table to prove that a refused bundle changed nothing.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { expect } from 'vitest';

import { isCoreError, type CoreErrorCode } from '../../../core/errors.ts';
import {
  assembleBundle,
  BUNDLE_MIGRATIONS,
  BundleState,
  describeFiles,
  enrollPeer,
  fileIdentitySigner,
  generateFileIdentity,
  generateHsmIdentity,
  hsmIdentitySigner,
  makeManifest,
  pinRoot,
  recordIdentity,
  toPem,
  type BuiltBundle,
  type Manifest,
  type PayloadFile,
  type SelfIdentity,
} from '../../../core/bundle/index.ts';
import type { Signer } from '../../../core/crypto/signer.ts';
import { openStore, type Store } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { createSoftHsm, tempDir, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';

/** Passphrase of the online side's key file (tests only). */
export const ONLINE_PASSPHRASE = 'correct horse battery staple 42';

/** One side of the air gap. */
export interface Side {
  readonly name: string;
  store: Store;
  state: BundleState;
  readonly identity: SelfIdentity;
  readonly signer: Signer;
  readonly certDer: Buffer;
}

/** The whole test world. */
export interface World {
  readonly dir: string;
  readonly hsm: SoftHsmFixture;
  readonly offline: Side;
  readonly online: Side;
  readonly now: Date;
  readonly root: { readonly dir: string; readonly pem: string; readonly der: Buffer };
  /** A fresh copy of a side's database (for independent cases). */
  reopen(side: Side): Side;
  close(): void;
}

function pemToDer(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----[A-Z0-9 ]+-----/gu, '').replace(/\s+/gu, ''), 'base64');
}

/** Makes a root CA with OpenSSL in `dir` (root.key, root.pem, openssl.cnf for CRLs). */
export function makeRoot(dir: string, cn = 'NEAM Test Root'): { dir: string; pem: string; der: Buffer } {
  mkdirSync(dir, { recursive: true });
  runOk('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'root.key'), '-subj', `/O=NEAM test/CN=${cn}`, '-days', '3650', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-addext', 'subjectKeyIdentifier=hash',
    '-out', join(dir, 'root.pem'),
  ]);
  writeFileSync(join(dir, 'index.txt'), '');
  writeFileSync(join(dir, 'crlnumber'), '1000\n');
  writeFileSync(
    join(dir, 'openssl.cnf'),
    [
      '[ ca ]', 'default_ca = root', '[ root ]', `database = ${join(dir, 'index.txt')}`, `crlnumber = ${join(dir, 'crlnumber')}`, `certificate = ${join(dir, 'root.pem')}`,
      `private_key = ${join(dir, 'root.key')}`, 'default_md = sha256', 'default_crl_days = 30', 'crl_extensions = crl_ext', '[ crl_ext ]', 'authorityKeyIdentifier = keyid:always', '',
    ].join('\n'),
  );
  const pem = readFileSync(join(dir, 'root.pem'), 'utf8');
  return { dir, pem, der: pemToDer(pem) };
}

/** A new CSR (RSA-2048 by default) made by OpenSSL; its key stays in a temp file. */
export function makeCsr(dir: string, name: string, keyType: 'rsa' | 'ec' = 'rsa'): { pem: string; keyPath: string } {
  const keyPath = join(dir, `${name}.key`);
  const out = join(dir, `${name}.csr`);
  runOk('openssl', ['req', '-new', '-newkey', keyType === 'rsa' ? 'rsa:2048' : 'ec', ...(keyType === 'ec' ? ['-pkeyopt', 'ec_paramgen_curve:P-256'] : []), '-nodes', '-keyout', keyPath, '-subj', `/O=NEAM test/CN=${name}`, '-out', out]);
  return { pem: readFileSync(out, 'utf8'), keyPath };
}

/** Issues an intermediate (CA:TRUE, pathlen 0) for a CSR with OpenSSL, signed by `root`. */
export function issue(root: { dir: string }, csrPem: string, name: string, days = 90): string {
  const csr = join(root.dir, `${name}-${randomBytes(4).toString('hex')}.csr`);
  const out = `${csr}.pem`;
  const ext = `${csr}.ext`;
  writeFileSync(csr, csrPem);
  writeFileSync(ext, 'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n');
  runOk('openssl', ['x509', '-req', '-in', csr, '-CA', join(root.dir, 'root.pem'), '-CAkey', join(root.dir, 'root.key'), '-CAcreateserial', '-days', String(days), '-sha256', '-extfile', ext, '-out', out]);
  return readFileSync(out, 'utf8');
}

/** A root CRL (DER) made with `openssl ca -gencrl`; each call has the next CRL number. */
export function makeCrl(root: { dir: string }): Buffer {
  const pem = join(root.dir, `crl-${randomBytes(4).toString('hex')}.pem`);
  runOk('openssl', ['ca', '-config', join(root.dir, 'openssl.cnf'), '-gencrl', '-out', pem]);
  return pemToDer(readFileSync(pem, 'utf8'));
}

/** A payload file from text or bytes. */
export function file(path: string, data: string | Buffer): PayloadFile {
  return { path, data: typeof data === 'string' ? Buffer.from(data) : data };
}

/** payload/index.json. */
export function index(value: unknown): PayloadFile {
  return file('payload/index.json', JSON.stringify(value, null, 2));
}

/** intermediate-request payload. */
export function requestPayload(requests: Array<{ name: string; csrPem: string; notBefore: Date; notAfter: Date }>): PayloadFile[] {
  return [
    index({ requests: requests.map((r) => ({ name: r.name, csr: `payload/csr/${r.name}.csr`, notBefore: r.notBefore.toISOString(), notAfter: r.notAfter.toISOString() })) }),
    ...requests.map((r) => file(`payload/csr/${r.name}.csr`, r.csrPem)),
  ];
}

/** intermediate-issuance payload. */
export function issuancePayload(rootPem: string, crlDer: Buffer, certs: Array<{ name: string; pem: string; csrPem: string }>): PayloadFile[] {
  return [
    index({
      root: 'payload/root.pem',
      rootCrl: 'payload/root.crl',
      trustBundle: 'payload/trust-bundle.pem',
      certificates: certs.map((c) => ({ name: c.name, certificate: `payload/intermediates/${c.name}.pem`, chain: `payload/intermediates/${c.name}-chain.pem`, csrSha256: csrSha256(c.csrPem) })),
    }),
    file('payload/root.pem', rootPem),
    file('payload/root.crl', crlDer),
    file('payload/trust-bundle.pem', rootPem),
    ...certs.flatMap((c) => [file(`payload/intermediates/${c.name}.pem`, c.pem), file(`payload/intermediates/${c.name}-chain.pem`, c.pem + rootPem)]),
  ];
}

/** SHA-256 of a CSR's DER from its PEM. */
export function csrSha256(pem: string): string {
  return createHashHex(pemToDer(pem));
}

function createHashHex(b: Buffer): string {
  return createHash('sha256').update(b).digest('hex');
}

/** An istio-manifests payload. */
export function istioPayload(extra: Record<string, string> = {}): PayloadFile[] {
  const files: Record<string, string> = {
    'payload/istio/peer-authentication.yaml': 'apiVersion: security.istio.io/v1\nkind: PeerAuthentication\nmetadata:\n  name: default\n  namespace: istio-system\nspec:\n  mtls:\n    mode: STRICT\n',
    ...extra,
  };
  return [index({ manifests: Object.keys(files).map((p) => ({ path: p })) }), ...Object.entries(files).map(([p, d]) => file(p, d))];
}

/** Creates the world. */
export function makeWorld(): World {
  const t = tempDir('neam-bundle-');
  const hsm = createSoftHsm('offline-transfer');
  const now = new Date();
  const open = (name: string): { store: Store; state: BundleState } => {
    const store = openStore(join(t.dir, `${name}.db`), { migrations: [BUNDLE_MIGRATIONS] });
    return { store, state: new BundleState(store) };
  };
  const off = open('offline');
  const on = open('online');
  const offGen = generateHsmIdentity(hsm.session, { name: 'NEAM CA transfer: offline', keyLabel: 'transfer-offline', now });
  const offId = recordIdentity(off.state, offGen, now);
  const pass = Secret.fromString(ONLINE_PASSPHRASE);
  const onGen = generateFileIdentity({ name: 'NEAM CA transfer: online', path: join(t.dir, 'online-transfer.key'), passphrase: pass, now, kdf: { N: 2 ** 15, r: 8, p: 1 } });
  const onId = recordIdentity(on.state, onGen, now);
  enrollPeer(off.state, { name: 'online-ca', certificate: onId.certificate, fingerprint: onId.fingerprint, now });
  enrollPeer(on.state, { name: 'offline-root', certificate: offId.certificate, fingerprint: offId.fingerprint, now });
  const root = makeRoot(join(t.dir, 'root'));
  pinRoot(on.state, { peer: 'offline-root', certificate: root.der, fingerprint: createHashHex(root.der), now });
  const offline: Side = { name: 'offline', ...off, identity: offId, signer: hsmIdentitySigner(offId, hsm.session), certDer: offId.certificate };
  const online: Side = { name: 'online', ...on, identity: onId, signer: fileIdentitySigner(onId, pass), certDer: onId.certificate };
  pass.wipe();
  let copies = 0;
  const stores: Store[] = [off.store, on.store];
  return {
    dir: t.dir,
    hsm,
    offline,
    online,
    now,
    root,
    reopen(side) {
      const path = join(t.dir, `${side.name}-copy-${++copies}.db`);
      side.store.db.exec(`VACUUM INTO '${path}'`);
      const store = openStore(path, { migrations: [BUNDLE_MIGRATIONS] });
      stores.push(store);
      return { ...side, store, state: new BundleState(store) };
    },
    close() {
      for (const s of stores) s.close();
      hsm.close();
      t.cleanup();
    },
  };
}

/** Builds a manifest with defaults from `from` to `to` and signs it with `from`'s key. */
export function craft(from: Side, to: Side, files: readonly PayloadFile[], overrides: Partial<Manifest> = {}, options: { extraEntries?: PayloadFile[]; now?: Date } = {}): BuiltBundle {
  const now = options.now ?? new Date();
  const created = new Date(Math.floor(now.getTime() / 1000) * 1000);
  const manifest = makeManifest({
    kind: 'istio-manifests',
    id: randomUUID(),
    sender: from.identity.fingerprint,
    recipient: to.identity.fingerprint,
    sequence: 1,
    previousManifestSha256: null,
    createdAt: created.toISOString(),
    expiresAt: new Date(created.getTime() + 14 * 86_400_000).toISOString(),
    files: describeFiles(files),
    ...overrides,
  });
  return assembleBundle({ manifest, files, signer: from.signer, certificate: from.certDer, ...(options.extraEntries === undefined ? {} : { extraEntries: options.extraEntries }) });
}

/** Every row of every bundle table, as text (Buffers as hex): equal snapshots mean no change. */
export function snapshot(store: Store): string {
  const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'bundle_%' ORDER BY name").all() as Array<{ name: string }>).map((r) => r.name);
  const out: Record<string, unknown[]> = {};
  for (const t of tables) out[t] = store.db.prepare(`SELECT * FROM ${t} ORDER BY rowid`).all();
  return JSON.stringify(out, (_k, v: unknown) => (v !== null && typeof v === 'object' && (v as { type?: string }).type === 'Buffer' ? Buffer.from((v as { data: number[] }).data).toString('hex') : v));
}

/** Names and sizes of every file under `dir` (recursive), to prove nothing was written. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(`${p}:${statSync(p).size}`);
    }
  };
  walk(dir);
  return out.sort();
}

/** Asserts that `fn` throws a CoreError with `code` (returns it). */
export function expectCode(fn: () => unknown, code: CoreErrorCode): Error & { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (!isCoreError(e)) throw e;
    expect(e.code, e.message).toBe(code);
    return e;
  }
  throw new Error(`expected ${code}, but nothing was thrown`);
}

/**
 * The stock-tool oracle: extracts the bundle with GNU tar, verifies the signature with
 * `openssl cms -verify … -CAfile sender.pem -purpose any` and the payload with
 * `jq … | sha256sum -c`, exactly as docs/bundle-format.md says.
 */
export function stockVerify(bytes: Buffer, senderDer: Buffer, dir: string): { cms: string; sums: string; files: string[] } {
  mkdirSync(dir, { recursive: true });
  const bundle = join(dir, 'bundle.neambundle');
  writeFileSync(bundle, bytes);
  const out = join(dir, 'x');
  mkdirSync(out);
  runOk('tar', ['-xf', bundle, '-C', out]);
  writeFileSync(join(out, 'sender.pem'), toPem('CERTIFICATE', senderDer));
  const cms = run('openssl', ['cms', '-verify', '-binary', '-inform', 'DER', '-in', 'manifest.json.p7s', '-content', 'manifest.json', '-CAfile', 'sender.pem', '-purpose', 'any', '-out', '/dev/null'], { cwd: out });
  const sums = run('sh', ['-c', `jq -r '.files[] | "\\(.sha256)  \\(.path)"' manifest.json | sha256sum -c`], { cwd: out });
  expect(cms.status, cms.stderr).toBe(0);
  expect(cms.stderr).toContain('Verification successful');
  expect(sums.status, sums.stdout + sums.stderr).toBe(0);
  // The signer certificate inside the signature is the pinned one (compare fingerprints).
  runOk('openssl', ['pkcs7', '-inform', 'DER', '-in', 'manifest.json.p7s', '-print_certs', '-out', 'embedded.pem'], { cwd: out });
  const embedded = runOk('openssl', ['x509', '-in', 'embedded.pem', '-noout', '-fingerprint', '-sha256'], { cwd: out });
  expect(embedded.split('=')[1]?.trim().replace(/:/gu, '').toLowerCase()).toBe(createHashHex(senderDer));
  // The signature carries a signing-time attribute: the manifest's creation time (openssl's dump).
  const dump = runOk('openssl', ['cms', '-cmsout', '-print', '-inform', 'DER', '-in', 'manifest.json.p7s'], { cwd: out });
  const signingTime = /object: signingTime \(1\.2\.840\.113549\.1\.9\.5\)\s+set:\s+UTCTIME:([^\n]+)/u.exec(dump)?.[1];
  expect(signingTime, 'signingTime attribute in the CMS signature').toBeDefined();
  const created = (JSON.parse(readFileSync(join(out, 'manifest.json'), 'utf8')) as { createdAt: string }).createdAt;
  expect(Math.abs(Date.parse(signingTime!.replace(/\s+/gu, ' ')) - Date.parse(created)), `signingTime '${signingTime}' against created '${created}'`).toBeLessThan(1000);
  // No payload file that the manifest does not list.
  const unlisted = run('bash', ['-c', `diff <(find payload -type f | LC_ALL=C sort) <(jq -r '.files[].path' manifest.json | LC_ALL=C sort)`], { cwd: out });
  expect(unlisted.status, unlisted.stdout).toBe(0);
  return { cms: cms.stderr, sums: sums.stdout, files: listFiles(out).map((f) => f.slice(out.length + 1).replace(/:\d+$/u, '')).filter((f) => f !== 'sender.pem' && f !== 'embedded.pem') };
}

/** Raw tar entry for hostile archives (no name checks; valid checksum unless `badChecksum`). */
export interface RawEntry {
  name: string;
  data?: Buffer;
  type?: string;
  mode?: number;
  linkname?: string;
  /** Declared size (defaults to data length). */
  size?: number | bigint;
  prefix?: string;
  badChecksum?: boolean;
}

/** Writes a ustar archive without any of our writer's checks. */
export function rawTar(entries: RawEntry[], options: { end?: boolean } = {}): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const h = Buffer.alloc(512);
    h.write(e.name, 0, 100, 'latin1');
    h.write(`${(e.mode ?? 0o644).toString(8).padStart(7, '0')}\0`, 100, 8, 'latin1');
    h.write('0000000\0', 108, 8, 'latin1');
    h.write('0000000\0', 116, 8, 'latin1');
    const size = BigInt(e.size ?? e.data?.length ?? 0);
    h.write(`${size.toString(8).padStart(11, '0')}\0`, 124, 12, 'latin1');
    h.write('00000000000\0', 136, 12, 'latin1');
    h.write(e.type ?? '0', 156, 1, 'latin1');
    if (e.linkname !== undefined) h.write(e.linkname, 157, 100, 'latin1');
    h.write('ustar\0', 257, 6, 'latin1');
    h.write('00', 263, 2, 'latin1');
    if (e.prefix !== undefined) h.write(e.prefix, 345, 155, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const b of h) sum += b;
    if (e.badChecksum === true) sum += 1;
    h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
    parts.push(h);
    const data = e.data ?? Buffer.alloc(0);
    parts.push(data);
    if (data.length % 512 !== 0) parts.push(Buffer.alloc(512 - (data.length % 512)));
  }
  if (options.end !== false) parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
