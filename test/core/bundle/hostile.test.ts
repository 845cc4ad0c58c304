import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CoreErrorCode } from '../../../core/errors.ts';
import {
  buildTransferCertificate,
  createBundle,
  DEFAULT_LIMITS,
  describeFiles,
  importBundle,
  signDetached,
  unpackBundle,
  writeTar,
  type BuiltBundle,
  type BundleLimits,
  type PayloadFile,
} from '../../../core/bundle/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { canonicalJsonBytes } from '../../../core/util/canonical-json.ts';
import {
  craft,
  csrSha256,
  expectCode,
  file,
  index,
  issuancePayload,
  issue,
  istioPayload,
  makeCrl,
  makeCsr,
  makeRoot,
  makeWorld,
  rawTar,
  requestPayload,
  snapshot,
  type Side,
  type World,
} from './fixtures.ts';

const DAY = 86_400_000;

/** A manifest's JSON with fields replaced, in canonical form (the schema is what must refuse it). */
function canonicalManifestForTests(manifest: Buffer, changes: Record<string, unknown>): Buffer {
  return canonicalJsonBytes({ ...(JSON.parse(manifest.toString()) as Record<string, unknown>), ...changes });
}

interface Case {
  /** The violated field or property (the table is named by it). */
  name: string;
  code: CoreErrorCode;
  /** Builds the hostile bundle; may return a prepared receiver (default: the online side). */
  build: () => { bytes: Buffer; receiver?: Side; limits?: BundleLimits; now?: Date };
  /** Text a person must read in the message. */
  message?: RegExp;
}

describe('hostile bundles: each refused with its own code, nothing recorded', () => {
  let w: World;
  let csrA: { pem: string };
  let certA: string;
  let valid: BuiltBundle;
  let other: { dir: string; pem: string; der: Buffer };

  beforeAll(() => {
    w = makeWorld();
    const csrDir = join(w.dir, 'csr');
    mkdirSync(csrDir);
    csrA = makeCsr(csrDir, 'intermediate-a');
    // The online side sends CSR A (and the offline side imports it).
    const req = createBundle(w.online.state, {
      kind: 'intermediate-request',
      to: 'offline-root',
      files: requestPayload([{ name: 'intermediate-a', csrPem: csrA.pem, notBefore: new Date(w.now.getTime() - 60_000), notAfter: new Date(w.now.getTime() + 100 * DAY) }]),
      signer: w.online.signer,
      now: w.now,
    });
    importBundle(w.offline.state, req.bytes, { now: w.now });
    certA = issue(w.root, csrA.pem, 'intermediate-a', 90);
    other = makeRoot(join(w.dir, 'other-root'), 'Some Other Root');
    valid = craft(w.offline, w.online, istioPayload());
  });
  afterAll(() => w.close());

  /** A receiver copy that already imported `valid` (sequence 1). */
  const afterFirst = (): Side => {
    const r = w.reopen(w.online);
    importBundle(r.state, valid.bytes, { now: new Date() });
    return r;
  };
  const parts = (): { manifest: Buffer; sig: Buffer } => {
    const u = unpackBundle(valid.bytes);
    return { manifest: u.manifestBytes, sig: u.signature };
  };
  const signRaw = (manifest: Buffer, files: readonly PayloadFile[]): Buffer =>
    writeTar([{ name: 'manifest.json', data: manifest }, { name: 'manifest.json.p7s', data: signDetached({ content: manifest, certificate: w.offline.certDer, signer: w.offline.signer, signingTime: new Date() }) }, ...files.map((f) => ({ name: f.path, data: f.data }))]);
  const withEntry = (entry: Parameters<typeof rawTar>[0][number]): Buffer => {
    const p = parts();
    return rawTar([{ name: 'manifest.json', data: p.manifest }, { name: 'manifest.json.p7s', data: p.sig }, ...istioPayload().map((f) => ({ name: f.path, data: f.data })), entry]);
  };
  const issuance = (certs: Array<{ name: string; pem: string; csrPem: string }>, rootPem = w.root.pem, crl?: Buffer): BuiltBundle =>
    craft(w.offline, w.online, issuancePayload(rootPem, crl ?? makeCrl(w.root), certs), { kind: 'intermediate-issuance' });

  const cases: Case[] = [
    // 1. size limits
    { name: 'size: whole file over the limit', code: 'ERR_BUNDLE_TOO_LARGE', build: () => ({ bytes: valid.bytes, limits: { ...DEFAULT_LIMITS, maxBundleBytes: 4096 } }) },
    { name: 'size: 2 GiB declared entry size (refused from the header, never read)', code: 'ERR_BUNDLE_TOO_LARGE', message: /2 GiB.*not read/u, build: () => ({ bytes: withEntry({ name: 'payload/huge.txt', size: 2n ** 31n, data: Buffer.alloc(0) }) }) },
    { name: 'size: 8 GiB declared in base-256', code: 'ERR_BUNDLE_TOO_LARGE', build: () => {
      const b = withEntry({ name: 'payload/huge.txt', data: Buffer.alloc(0) });
      // Rewrite the last header's size field in GNU base-256 form and fix its checksum.
      const h = b.subarray(b.length - 1024 - 512, b.length - 1024);
      h.fill(0, 124, 136);
      h[124] = 0x80;
      h.writeUInt32BE(2, 128); // 2 << 32 bytes = 8 GiB
      h.fill(0x20, 148, 156);
      let sum = 0;
      for (const x of h) sum += x;
      h.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'latin1');
      return { bytes: b };
    } },
    { name: 'size: too many entries', code: 'ERR_BUNDLE_TOO_LARGE', build: () => ({ bytes: rawTar(Array.from({ length: 300 }, (_, i) => ({ name: `payload/f${i}.txt`, data: Buffer.from('x') }))) }) },
    { name: 'size: manifest.json over its limit', code: 'ERR_BUNDLE_TOO_LARGE', build: () => ({ bytes: rawTar([{ name: 'manifest.json', size: 2 * 1024 * 1024, data: Buffer.alloc(0) }]) }) },
    // 2. archive sanity
    { name: 'archive: truncated in the middle of an entry', code: 'ERR_BUNDLE_ARCHIVE_INVALID', message: /truncated/u, build: () => ({ bytes: valid.bytes.subarray(0, 512 + 100) }) },
    { name: 'archive: truncated before the end-of-archive marker', code: 'ERR_BUNDLE_ARCHIVE_INVALID', message: /truncated/u, build: () => ({ bytes: valid.bytes.subarray(0, valid.bytes.length - 1024) }) },
    { name: 'archive: lone zero block at the end', code: 'ERR_BUNDLE_ARCHIVE_INVALID', build: () => ({ bytes: valid.bytes.subarray(0, valid.bytes.length - 512) }) },
    { name: 'archive: header checksum wrong', code: 'ERR_BUNDLE_ARCHIVE_INVALID', message: /checksum/u, build: () => ({ bytes: rawTar([{ name: 'manifest.json', data: Buffer.from('{}'), badChecksum: true }]) }) },
    { name: 'archive: not a tar at all', code: 'ERR_BUNDLE_ARCHIVE_INVALID', build: () => ({ bytes: randomBytes(4096) }) },
    { name: 'archive: data after the end marker', code: 'ERR_BUNDLE_ARCHIVE_INVALID', build: () => ({ bytes: Buffer.concat([valid.bytes, Buffer.from('trailing')]) }) },
    { name: 'archive: non-zero padding after an entry', code: 'ERR_BUNDLE_ARCHIVE_INVALID', build: () => {
      const b = Buffer.from(valid.bytes);
      const manifestLen = unpackBundle(valid.bytes).manifestBytes.length;
      b[512 + manifestLen] = 0x41;
      return { bytes: b };
    } },
    { name: 'entry: symbolic link', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', message: /symbolic link/u, build: () => ({ bytes: withEntry({ name: 'payload/link.txt', type: '2', linkname: '/etc/passwd' }) }) },
    { name: 'entry: hard link', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/hard.txt', type: '1', linkname: 'manifest.json' }) }) },
    { name: 'entry: directory', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/dir', type: '5' }) }) },
    { name: 'entry: character device', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/null.txt', type: '3' }) }) },
    { name: 'entry: FIFO', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/fifo.txt', type: '6' }) }) },
    { name: 'entry: pax extended header', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', message: /pax/u, build: () => ({ bytes: withEntry({ name: 'payload/PaxHeader', type: 'x', data: Buffer.from('30 path=../../etc/passwd\n') }) }) },
    { name: 'entry: GNU long name', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: '././@LongLink', type: 'L', data: Buffer.from('../../evil\0') }) }) },
    { name: 'entry: setuid mode', code: 'ERR_BUNDLE_ENTRY_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/suid.txt', mode: 0o4755, data: Buffer.from('x') }) }) },
    { name: 'path: ../ traversal', code: 'ERR_BUNDLE_PATH_FORBIDDEN', message: /'\.\.'/u, build: () => ({ bytes: withEntry({ name: 'payload/../../etc/cron.d/x.txt', data: Buffer.from('x') }) }) },
    { name: 'path: leading ../', code: 'ERR_BUNDLE_PATH_FORBIDDEN', build: () => ({ bytes: withEntry({ name: '../evil.txt', data: Buffer.from('x') }) }) },
    { name: 'path: absolute', code: 'ERR_BUNDLE_PATH_FORBIDDEN', message: /absolute/u, build: () => ({ bytes: withEntry({ name: '/etc/passwd', data: Buffer.from('x') }) }) },
    { name: 'path: outside payload/', code: 'ERR_BUNDLE_PATH_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'evil.txt', data: Buffer.from('x') }) }) },
    { name: 'path: ustar prefix field', code: 'ERR_BUNDLE_PATH_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'x.txt', prefix: 'payload', data: Buffer.from('x') }) }) },
    { name: 'path: control character', code: 'ERR_BUNDLE_PATH_FORBIDDEN', build: () => ({ bytes: withEntry({ name: 'payload/a\nb.txt', data: Buffer.from('x') }) }) },
    { name: 'path: duplicate name', code: 'ERR_BUNDLE_DUPLICATE_ENTRY', build: () => ({ bytes: withEntry({ name: 'payload/index.json', data: Buffer.from('{}') }) }) },
    { name: 'layout: no manifest.json.p7s', code: 'ERR_BUNDLE_ARCHIVE_INVALID', build: () => ({ bytes: rawTar([{ name: 'manifest.json', data: parts().manifest }]) }) },
    // 3. signature against the pinned sender
    { name: 'signature: value does not verify', code: 'ERR_BUNDLE_SIGNATURE_INVALID', build: () => {
      const bad = { ...w.offline, signer: { ...w.offline.signer, sign: (d: Uint8Array) => { const s = Buffer.from(w.offline.signer.sign(d)); s[s.length - 1] = (s[s.length - 1] ?? 0) ^ 1; return s; } } };
      return { bytes: craft(bad, w.online, istioPayload()).bytes };
    } },
    { name: 'signature: manifest changed after signing', code: 'ERR_BUNDLE_SIGNATURE_INVALID', message: /changed after it was signed/u, build: () => {
      const p = parts();
      const changed = Buffer.from(p.manifest.toString().replace('"sequence":1', '"sequence":7'));
      return { bytes: writeTar([{ name: 'manifest.json', data: changed }, { name: 'manifest.json.p7s', data: p.sig }, ...istioPayload().map((f) => ({ name: f.path, data: f.data }))]) };
    } },
    { name: 'signature: not a CMS structure', code: 'ERR_BUNDLE_SIGNATURE_INVALID', build: () => ({ bytes: writeTar([{ name: 'manifest.json', data: parts().manifest }, { name: 'manifest.json.p7s', data: randomBytes(300) }]) }) },
    { name: 'signature: the pinned certificate embedded, but made with another key', code: 'ERR_BUNDLE_SIGNATURE_INVALID', message: /does not verify with the sender certificate/u, build: () => {
      const impostor = softwareSigner(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'ECDSA-SHA256');
      // A signer that claims the pinned public key but signs with its own key.
      const liar = { algorithm: impostor.algorithm, spki: w.offline.signer.spki, sign: (d: Uint8Array) => impostor.sign(d) };
      return { bytes: craft({ ...w.offline, signer: liar }, w.online, istioPayload()).bytes };
    } },
    { name: 'signer: not pinned', code: 'ERR_BUNDLE_SIGNER_NOT_PINNED', message: /not pinned/u, build: () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const signer = softwareSigner(privateKey, 'ECDSA-SHA256');
      const certDer = buildTransferCertificate({ signer, commonName: 'impostor', now: new Date(), random: randomBytes });
      return { bytes: craft({ ...w.offline, signer, certDer }, w.online, istioPayload()).bytes };
    } },
    // 4. manifest schema
    { name: 'manifest: not JSON', code: 'ERR_BUNDLE_MANIFEST_INVALID', message: /not JSON/u, build: () => ({ bytes: signRaw(Buffer.from('this is not json'), []) }) },
    { name: 'manifest: unknown field', code: 'ERR_BUNDLE_MANIFEST_INVALID', message: /unknown field.*'extra'/u, build: () => {
      const m = { ...JSON.parse(parts().manifest.toString()), extra: 'surprise' };
      return { bytes: signRaw(canonicalJsonBytes(m), istioPayload()) };
    } },
    { name: 'manifest: not canonical JSON', code: 'ERR_BUNDLE_MANIFEST_INVALID', message: /canonical/u, build: () => ({ bytes: signRaw(Buffer.from(JSON.stringify(JSON.parse(parts().manifest.toString()), null, 2)), istioPayload()) }) },
    { name: 'manifest: duplicate key', code: 'ERR_BUNDLE_MANIFEST_INVALID', build: () => ({ bytes: signRaw(Buffer.from(parts().manifest.toString().replace('{', '{"kind":"crl",')), istioPayload()) }) },
    { name: 'manifest: sequence is not a positive integer', code: 'ERR_BUNDLE_MANIFEST_INVALID', message: /sequence/u, build: () => ({ bytes: signRaw(canonicalManifestForTests(parts().manifest, { sequence: 0 }), istioPayload()) }) },
    { name: 'manifest: sender is not the signer', code: 'ERR_BUNDLE_MANIFEST_INVALID', message: /signed by/u, build: () => ({ bytes: craft(w.offline, w.online, istioPayload(), { sender: 'ab'.repeat(32) }).bytes }) },
    // 5. recipient
    { name: 'recipient: not us', code: 'ERR_BUNDLE_WRONG_RECIPIENT', build: () => ({ bytes: craft(w.offline, w.online, istioPayload(), { recipient: randomBytes(32).toString('hex') }).bytes }) },
    // 6. time window
    { name: 'expiresAt: in the past', code: 'ERR_BUNDLE_EXPIRED', message: /expired at/u, build: () => {
      const created = new Date(Math.floor(Date.now() / 1000) * 1000 - 20 * DAY);
      return { bytes: craft(w.offline, w.online, istioPayload(), { createdAt: created.toISOString(), expiresAt: new Date(created.getTime() + 14 * DAY).toISOString() }).bytes };
    } },
    { name: 'createdAt: in the future', code: 'ERR_BUNDLE_NOT_YET_VALID', build: () => {
      const created = new Date(Math.floor(Date.now() / 1000) * 1000 + 3600_000);
      return { bytes: craft(w.offline, w.online, istioPayload(), { createdAt: created.toISOString(), expiresAt: new Date(created.getTime() + DAY).toISOString() }).bytes };
    } },
    // 7. sequence and chain
    { name: 'sequence: replayed (a different bundle with a used number)', code: 'ERR_BUNDLE_REPLAYED', message: /sequence 1 .*expected 2/u, build: () => ({ bytes: craft(w.offline, w.online, istioPayload()).bytes, receiver: afterFirst() }) },
    { name: 'sequence: gap', code: 'ERR_BUNDLE_SEQUENCE_GAP', message: /sequence 3 .*next expected is 1/u, build: () => ({ bytes: craft(w.offline, w.online, istioPayload(), { sequence: 3, previousManifestSha256: randomBytes(32).toString('hex') }).bytes }) },
    { name: 'previousManifestSha256: wrong', code: 'ERR_BUNDLE_PREVIOUS_HASH_MISMATCH', build: () => ({ bytes: craft(w.offline, w.online, istioPayload(), { sequence: 2, previousManifestSha256: randomBytes(32).toString('hex') }).bytes, receiver: afterFirst() }) },
    // 8. files
    { name: 'files: a modified payload byte', code: 'ERR_BUNDLE_FILE_HASH_MISMATCH', message: /was changed/u, build: () => {
      const files = istioPayload();
      const tampered = files.map((f) => (f.path.endsWith('.yaml') ? { path: f.path, data: Buffer.from(f.data.toString().replace('STRICT', 'DISABL')) } : f));
      return { bytes: craft(w.offline, w.online, tampered, { files: describeFiles(files) }).bytes };
    } },
    { name: 'files: a listed file missing', code: 'ERR_BUNDLE_FILE_MISSING', build: () => {
      const files = istioPayload();
      return { bytes: craft(w.offline, w.online, files.slice(0, 1), { files: describeFiles(files) }).bytes };
    } },
    { name: 'files: an extra unlisted file', code: 'ERR_BUNDLE_FILE_UNLISTED', message: /not in the signed manifest/u, build: () => ({ bytes: craft(w.offline, w.online, istioPayload(), {}, { extraEntries: [file('payload/istio/extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n')] }).bytes }) },
    // 9. kind-specific
    { name: 'payload: private key material', code: 'ERR_BUNDLE_PRIVATE_KEY', build: () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      return { bytes: craft(w.offline, w.online, istioPayload({ 'payload/istio/notes.yaml': `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  k: |\n${privateKey.export({ type: 'sec1', format: 'pem' }).toString().replace(/^/gmu, '    ')}` })).bytes };
    } },
    { name: 'index: unknown field', code: 'ERR_BUNDLE_KIND_INVALID', build: () => {
      const files = istioPayload().map((f) => (f.path === 'payload/index.json' ? index({ ...JSON.parse(f.data.toString()), bonus: true }) : f));
      return { bytes: craft(w.offline, w.online, files).bytes };
    } },
    { name: 'index: a payload file it does not reference', code: 'ERR_BUNDLE_KIND_INVALID', message: /not referenced/u, build: () => ({ bytes: craft(w.offline, w.online, [...istioPayload(), file('payload/notes.txt', 'hello')]).bytes }) },
    { name: 'certificates: chain to another root', code: 'ERR_BUNDLE_CHAIN_INVALID', message: /not the root pinned/u, build: () => {
      const foreign = issue(other, csrA.pem, 'foreign-a');
      return { bytes: issuance([{ name: 'intermediate-a', pem: foreign, csrPem: csrA.pem }], other.pem, makeCrl(other)).bytes };
    } },
    { name: 'certificates: signed by another root than the bundle root', code: 'ERR_BUNDLE_CHAIN_INVALID', message: /does not chain/u, build: () => ({ bytes: issuance([{ name: 'intermediate-a', pem: issue(other, csrA.pem, 'foreign-b'), csrPem: csrA.pem }]).bytes }) },
    { name: 'certificates: answer no CSR we sent', code: 'ERR_BUNDLE_UNSOLICITED_CERT', message: /answers no CSR we sent/u, build: () => {
      const stranger = makeCsr(join(w.dir, 'csr'), `stranger-${randomUUID().slice(0, 8)}`);
      return { bytes: issuance([{ name: 'stranger', pem: issue(w.root, stranger.pem, 'stranger'), csrPem: stranger.pem }]).bytes };
    } },
    { name: 'certificates: hold another key than the CSR they name', code: 'ERR_BUNDLE_UNSOLICITED_CERT', message: /does not hold the key/u, build: () => {
      const stranger = makeCsr(join(w.dir, 'csr'), `swap-${randomUUID().slice(0, 8)}`);
      return { bytes: issuance([{ name: 'intermediate-a', pem: issue(w.root, stranger.pem, 'swap'), csrPem: csrA.pem }]).bytes };
    } },
    { name: 'certificates: valid beyond the requested window', code: 'ERR_BUNDLE_KIND_INVALID', message: /after the requested/u, build: () => ({ bytes: issuance([{ name: 'intermediate-a', pem: issue(w.root, csrA.pem, 'long', 400), csrPem: csrA.pem }]).bytes }) },
    { name: 'rootCrl: signed by another root', code: 'ERR_BUNDLE_CHAIN_INVALID', build: () => ({ bytes: issuance([{ name: 'intermediate-a', pem: certA, csrPem: csrA.pem }], w.root.pem, makeCrl(other)).bytes }) },
  ];

  for (const c of cases) {
    it(`${c.name} → ${c.code}`, () => {
      const built = c.build();
      const receiver = built.receiver ?? w.online;
      const before = snapshot(receiver.store);
      const e = expectCode(() => importBundle(receiver.state, built.bytes, { now: built.now ?? new Date(), ...(built.limits === undefined ? {} : { limits: built.limits }) }), c.code);
      if (c.message !== undefined) expect(e.message).toMatch(c.message);
      expect(snapshot(receiver.store)).toBe(before);
    });
  }

  it('the same certificate bundle, well formed, is accepted (so the refusals above are about the violation, not the set-up)', () => {
    const receiver = w.reopen(w.online);
    const r = importBundle(receiver.state, issuance([{ name: 'intermediate-a', pem: certA, csrPem: csrA.pem }]).bytes, { now: new Date() });
    expect(r.alreadyImported).toBe(false);
    expect(receiver.state.sentCsr(csrSha256(csrA.pem))?.answeredBy).not.toBeNull();
  });
});
