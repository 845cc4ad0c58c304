import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { CoreErrorCode } from '../../../core/errors.ts';
import { createBundle, importBundle, toPem, type PayloadFile } from '../../../core/bundle/index.ts';
import { craft, expectCode, file, index, issuancePayload, issue, istioPayload, makeCrl, makeCsr, makeWorld, requestPayload, snapshot, type World } from './fixtures.ts';

const DAY = 86_400_000;

describe('kind payload checks (at creation, so a bad payload never leaves)', () => {
  let w: World;
  let csrDir: string;
  let csr: { pem: string };
  beforeAll(() => {
    w = makeWorld();
    csrDir = join(w.dir, 'csr');
    mkdirSync(csrDir);
    csr = makeCsr(csrDir, 'a');
  });
  afterAll(() => w.close());

  const window = { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 100 * DAY) };
  const tamperedCsr = (): string => {
    const der = Buffer.from(csr.pem.replace(/-----[A-Z ]+-----|\s+/gu, ''), 'base64');
    der[der.length - 10] = (der[der.length - 10] ?? 0) ^ 0xff; // inside the signature
    return toPem('CERTIFICATE REQUEST', der);
  };

  // Table named by the violated field of payload/index.json (or of the file it names).
  const cases: Array<{ name: string; kind: Parameters<typeof createBundle>[1]['kind']; from: 'online' | 'offline'; files: () => PayloadFile[]; code: CoreErrorCode; message?: RegExp }> = [
    { name: 'intermediate-request requests.csr (signature does not verify)', kind: 'intermediate-request', from: 'online', files: () => requestPayload([{ name: 'a', csrPem: tamperedCsr(), ...window }]), code: 'ERR_BUNDLE_KIND_INVALID', message: /proof of possession/u },
    { name: 'intermediate-request requests.csr (not a CSR)', kind: 'intermediate-request', from: 'online', files: () => requestPayload([{ name: 'a', csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', ...window }]), code: 'ERR_BUNDLE_KIND_INVALID' },
    { name: 'intermediate-request requests.name (twice)', kind: 'intermediate-request', from: 'online', files: () => {
      const f = requestPayload([{ name: 'a', csrPem: csr.pem, ...window }]);
      return [index({ requests: [0, 1].map(() => ({ name: 'a', csr: 'payload/csr/a.csr', notBefore: window.notBefore.toISOString(), notAfter: window.notAfter.toISOString() })) }), ...f.slice(1)];
    }, code: 'ERR_BUNDLE_KIND_INVALID', message: /requested twice/u },
    { name: 'intermediate-request requests.notAfter (window over a year)', kind: 'intermediate-request', from: 'online', files: () => requestPayload([{ name: 'a', csrPem: csr.pem, notBefore: window.notBefore, notAfter: new Date(Date.now() + 400 * DAY) }]), code: 'ERR_BUNDLE_KIND_INVALID', message: /longer than 366 days/u },
    { name: 'intermediate-request requests.notAfter (before notBefore)', kind: 'intermediate-request', from: 'online', files: () => requestPayload([{ name: 'a', csrPem: csr.pem, notBefore: window.notAfter, notAfter: window.notBefore }]), code: 'ERR_BUNDLE_KIND_INVALID' },
    { name: 'intermediate-request requests (same key twice)', kind: 'intermediate-request', from: 'online', files: () => requestPayload([{ name: 'a', csrPem: csr.pem, ...window }, { name: 'b', csrPem: csr.pem, ...window }]), code: 'ERR_BUNDLE_KIND_INVALID', message: /same key/u },
    { name: 'intermediate-request requests.csr (extension)', kind: 'intermediate-request', from: 'online', files: () => [index({ requests: [{ name: 'a', csr: 'payload/a.pem', notBefore: window.notBefore.toISOString(), notAfter: window.notAfter.toISOString() }] }), file('payload/a.pem', csr.pem)], code: 'ERR_BUNDLE_KIND_INVALID', message: /\.csr/u },
    { name: 'intermediate-issuance root (not self-signed)', kind: 'intermediate-issuance', from: 'offline', files: () => {
      const cert = issue(w.root, csr.pem, 'a');
      return issuancePayload(cert, makeCrl(w.root), [{ name: 'a', pem: cert, csrPem: csr.pem }]);
    }, code: 'ERR_BUNDLE_CHAIN_INVALID' },
    { name: 'intermediate-issuance certificates.chain (wrong content)', kind: 'intermediate-issuance', from: 'offline', files: () => {
      const cert = issue(w.root, csr.pem, 'a');
      return issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'a', pem: cert, csrPem: csr.pem }]).map((f) => (f.path.endsWith('-chain.pem') ? file(f.path, w.root.pem + cert) : f));
    }, code: 'ERR_BUNDLE_KIND_INVALID', message: /exactly the intermediate then the root/u },
    { name: 'intermediate-issuance trustBundle (without the root)', kind: 'intermediate-issuance', from: 'offline', files: () => {
      const cert = issue(w.root, csr.pem, 'a');
      return issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'a', pem: cert, csrPem: csr.pem }]).map((f) => (f.path === 'payload/trust-bundle.pem' ? file(f.path, cert) : f));
    }, code: 'ERR_BUNDLE_KIND_INVALID', message: /does not contain the root/u },
    { name: 'crl crls.crl (not a CRL)', kind: 'crl', from: 'offline', files: () => [index({ crls: [{ name: 'root', crl: 'payload/root.crl' }] }), file('payload/root.crl', randomBytes(300))], code: 'ERR_BUNDLE_KIND_INVALID' },
    { name: 'revocation-request revocations.reason', kind: 'revocation-request', from: 'online', files: () => [index({ revocations: [{ certificate: 'payload/a.pem', reason: 'certificateHold' }] }), file('payload/a.pem', w.root.pem)], code: 'ERR_BUNDLE_KIND_INVALID', message: /reason/u },
    { name: 'istio-manifests manifests.path (YAML alias)', kind: 'istio-manifests', from: 'offline', files: () => istioPayload({ 'payload/istio/a.yaml': 'apiVersion: v1\nkind: ConfigMap\nmetadata: &m\n  name: a\ndata:\n  x: *m\n' }), code: 'ERR_BUNDLE_KIND_INVALID', message: /aliases/u },
    { name: 'istio-manifests manifests.path (not a Kubernetes object)', kind: 'istio-manifests', from: 'offline', files: () => istioPayload({ 'payload/istio/a.yaml': '- just\n- a list\n' }), code: 'ERR_BUNDLE_KIND_INVALID', message: /not a Kubernetes object/u },
    { name: 'istio-manifests manifests.path (duplicate YAML key)', kind: 'istio-manifests', from: 'offline', files: () => istioPayload({ 'payload/istio/a.yaml': 'apiVersion: v1\nkind: A\nkind: B\nmetadata:\n  name: a\n' }), code: 'ERR_BUNDLE_KIND_INVALID' },
    { name: 'istio-manifests manifests.path (50,000 nested sequences, which would exhaust the YAML parser)', kind: 'istio-manifests', from: 'offline', files: () => istioPayload({ 'payload/istio/a.yaml': `${'- '.repeat(50_000)}x\n` }), code: 'ERR_BUNDLE_KIND_INVALID', message: /more than 64 nested sequences/u },
    { name: 'istio-manifests manifests.path (absurd indentation)', kind: 'istio-manifests', from: 'offline', files: () => istioPayload({ 'payload/istio/a.yaml': `a:\n${' '.repeat(300)}b: c\n` }), code: 'ERR_BUNDLE_KIND_INVALID', message: /indented by more than 256/u },
    { name: 'identity-rotation certificate (not a transfer certificate)', kind: 'identity-rotation', from: 'offline', files: () => [index({ certificate: 'payload/new.pem' }), file('payload/new.pem', w.root.pem)], code: 'ERR_BUNDLE_IDENTITY_INVALID' },
    { name: 'identity-rotation certificate (the current one)', kind: 'identity-rotation', from: 'offline', files: () => [index({ certificate: 'payload/new.pem' }), file('payload/new.pem', toPem('CERTIFICATE', w.offline.certDer))], code: 'ERR_BUNDLE_IDENTITY_INVALID', message: /needs a new key/u },
  ];
  for (const c of cases) {
    it(`refuses ${c.name} → ${c.code}`, () => {
      const side = c.from === 'online' ? w.online : w.offline;
      const before = snapshot(side.store);
      const e = expectCode(() => createBundle(side.state, { kind: c.kind, to: c.from === 'online' ? 'offline-root' : 'online-ca', files: c.files(), signer: side.signer, now: new Date() }), c.code);
      if (c.message !== undefined) expect(e.message).toMatch(c.message);
      expect(snapshot(side.store)).toBe(before);
    });
  }

  it('a CSR is sent once, and answered once', () => {
    const b = createBundle(w.online.state, { kind: 'intermediate-request', to: 'offline-root', files: requestPayload([{ name: 'a', csrPem: csr.pem, ...window }]), signer: w.online.signer, now: new Date() });
    expect(expectCode(() => createBundle(w.online.state, { kind: 'intermediate-request', to: 'offline-root', files: requestPayload([{ name: 'a2', csrPem: csr.pem, ...window }]), signer: w.online.signer, now: new Date() }), 'ERR_BUNDLE_KIND_INVALID').message).toMatch(/already sent/u);
    expect(b.manifest.sequence).toBe(1);
    const cert = issue(w.root, csr.pem, 'a');
    const first = craft(w.offline, w.online, issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'a', pem: cert, csrPem: csr.pem }]), { kind: 'intermediate-issuance' });
    importBundle(w.online.state, first.bytes, { now: new Date() });
    const second = craft(w.offline, w.online, issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'a', pem: issue(w.root, csr.pem, 'a-again'), csrPem: csr.pem }]), { kind: 'intermediate-issuance', sequence: 2, previousManifestSha256: first.manifestSha256 });
    const before = snapshot(w.online.store);
    expect(expectCode(() => importBundle(w.online.state, second.bytes, { now: new Date() }), 'ERR_BUNDLE_UNSOLICITED_CERT').message).toMatch(/already answered/u);
    expect(snapshot(w.online.store)).toBe(before);
  });

  it('an expired intermediate, or a stale root CRL, is refused at import', () => {
    const c2 = makeCsr(csrDir, `late-${randomBytes(2).toString('hex')}`);
    createBundle(w.online.state, { kind: 'intermediate-request', to: 'offline-root', files: requestPayload([{ name: 'late', csrPem: c2.pem, ...window }]), signer: w.online.signer, now: new Date() });
    const seq = w.online.state.channel('offline-root', 'in');
    const created = new Date(Math.floor(Date.now() / 1000) * 1000);
    const next = { sequence: seq.lastSequence + 1, previousManifestSha256: seq.lastManifestSha256, createdAt: created.toISOString(), expiresAt: new Date(created.getTime() + 60 * DAY).toISOString() };
    const shortLived = craft(w.offline, w.online, issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'late', pem: issue(w.root, c2.pem, 'late', 1), csrPem: c2.pem }]), { kind: 'intermediate-issuance', ...next });
    expect(expectCode(() => importBundle(w.online.state, shortLived.bytes, { now: new Date(Date.now() + 2 * DAY) }), 'ERR_BUNDLE_KIND_INVALID').message).toMatch(/'late' expired on/u);
    const staleCrl = craft(w.offline, w.online, issuancePayload(w.root.pem, makeCrl(w.root), [{ name: 'late', pem: issue(w.root, c2.pem, 'late2', 90), csrPem: c2.pem }]), { kind: 'intermediate-issuance', ...next });
    expect(expectCode(() => importBundle(w.online.state, staleCrl.bytes, { now: new Date(Date.now() + 31 * DAY) }), 'ERR_BUNDLE_KIND_INVALID').message).toMatch(/root CRL is stale/u);
    expect(importBundle(w.online.state, staleCrl.bytes, { now: new Date() }).alreadyImported).toBe(false);
  });
});
