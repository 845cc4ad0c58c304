import { generateKeyPairSync } from 'node:crypto';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { softwareSigner } from '../../../core/crypto/signer.ts';
import { exportRequests, importIssuance, initOnline, listIntermediates, openIntermediateKeys, prepareBatch } from '../../../core/online/intermediates.ts';
import { buildCsr, PEM_LABEL, toPem } from '../../../core/pki/index.ts';
import { openOnlineStore, readSettings } from '../../../core/online/settings.ts';
import type { Store } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { createSoftHsm, tempDir, TEST_SO_PIN, TEST_USER_PIN, type SoftHsmFixture } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { createTestRoot, pemToDer, revokeWithRoot, rootCrl, signIntermediate, type TestRoot } from './fixtures.ts';

const DAY = 86_400_000;
const TD = 'example.org';

describe('intermediate lifecycle (SoftHSM)', () => {
  const cleanups: Array<() => void> = [];
  afterEach(() => cleanups.splice(0).reverse().forEach((c) => c()));
  function setup(keyStore: 'sealed' | 'token' = 'sealed', algorithm: 'ec-p256' | 'rsa-2048' = 'ec-p256', windows = 2): { hsm: SoftHsmFixture; store: Store; root: TestRoot; dir: string; now: number } {
    const tmp = tempDir('neam-int-');
    const hsm = createSoftHsm('online');
    const store = openOnlineStore(join(tmp.dir, 'online.db'));
    cleanups.push(tmp.cleanup, () => hsm.close(), () => store.close());
    const now = Date.now();
    initOnline(store, hsm.session, { trustDomain: TD, keyStore, keyAlgorithm: algorithm, windows, windowDays: 90, overlapDays: 7, startMs: now - DAY, nowMs: now, maxSvidTtlSeconds: 86_400 });
    return { hsm, store, root: createTestRoot(join(tmp.dir, 'root')), dir: tmp.dir, now };
  }
  function sign(root: TestRoot, store: Store, ext = 'v3_int', shift = 0): string[] {
    return exportRequests(store).requests.map((r) => signIntermediate(root, r.csrPem, { startMs: Date.parse(r.notBefore) + shift, endMs: Date.parse(r.notAfter) + shift }, ext));
  }

  it('generates sealed software keys under a token KEK; the CSRs verify with OpenSSL; the keys reopen only with the KEK', () => {
    const { hsm, store } = setup('sealed', 'rsa-2048');
    const ints = listIntermediates(store.db);
    expect(ints).toHaveLength(2);
    expect(ints.map((i) => i.state)).toEqual(['generated', 'generated']);
    expect((ints[1]?.windowStartMs ?? 0) - (ints[0]?.windowStartMs ?? 0)).toBe(83 * DAY);
    for (const r of exportRequests(store).requests) expect(run('openssl', ['req', '-verify', '-noout'], { input: r.csrPem }).stderr).toMatch(/verify OK/u);
    expect(listIntermediates(store.db).map((i) => i.state)).toEqual(['requested', 'requested']);
    const kek = hsm.session.describeKeys().find((k) => k.label === 'neam-ca-online-kek');
    expect(kek?.protection).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, encrypt: true, decrypt: true });
    // The sealed blob is not a PKCS#8 key in clear.
    const row = store.db.prepare('SELECT sealed_key FROM online_intermediates LIMIT 1').get() as { sealed_key: Buffer };
    expect(row.sealed_key.subarray(0, 4).toString('hex')).not.toBe('30820');
    expect(() => runOk('openssl', ['pkey', '-inform', 'DER', '-noout'], { input: row.sealed_key })).toThrow();
    // Swapping the sealed keys of two records is detected (AAD binds id and public key).
    const [a, b] = store.db.prepare('SELECT id, sealed_key, seal_iv FROM online_intermediates ORDER BY id').all() as Array<{ id: string; sealed_key: Buffer; seal_iv: Buffer }>;
    store.db.prepare('UPDATE online_intermediates SET sealed_key = ?, seal_iv = ? WHERE id = ?').run(b?.sealed_key, b?.seal_iv, a?.id);
    expect(() => openIntermediateKeys(store.db, hsm.session, [a?.id ?? ''])).toThrow(expect.objectContaining({ code: 'ERR_ONLINE_INTERMEDIATE_INVALID' }));
    expect(openIntermediateKeys(store.db, hsm.session, [b?.id ?? '']).get(b?.id ?? '')?.kind).toBe('software');
  });

  it('generates keys inside the token (sensitive, never extractable) in token mode', () => {
    const { hsm, store } = setup('token', 'ec-p256', 1);
    const keys = hsm.session.describeKeys().filter((k) => k.class === 'private');
    expect(keys).toHaveLength(1);
    expect(keys[0]?.protection).toMatchObject({ sensitive: true, extractable: false, neverExtractable: true, local: true, sign: true });
    const id = listIntermediates(store.db)[0]?.id ?? '';
    expect(openIntermediateKeys(store.db, hsm.session, [id]).get(id)?.kind).toBe('token');
    expect(readSettings(store.db).kekLabel).toBeNull();
  });

  it('imports certificates signed by the root (idempotently), the root and the root CRL', () => {
    const { store, root, now } = setup();
    const pems = sign(root, store);
    const r = importIssuance(store, { intermediates: pems.map((p) => pemToDer(p)), roots: [root.der], rootCrls: [rootCrl(root)] }, now);
    expect(r.imported).toHaveLength(2);
    expect(r.rootsAdded).toHaveLength(1);
    expect(r.rootCrlsImported).toBe(1);
    expect(r.bundleSequence).toBe(1);
    expect(listIntermediates(store.db).map((i) => i.state)).toEqual(['issued', 'issued']);
    const again = importIssuance(store, { intermediates: pems.map((p) => pemToDer(p)), roots: [root.der] }, now);
    expect(again.imported).toHaveLength(0);
    expect(again.alreadyPresent).toHaveLength(2);
    expect(again.bundleSequence).toBe(1);
  });

  it('retires an intermediate the root CRL revokes', () => {
    const { store, root, now } = setup();
    const pems = sign(root, store);
    revokeWithRoot(root, pems[1] ?? '');
    const r = importIssuance(store, { intermediates: pems.map((p) => pemToDer(p)), roots: [root.der], rootCrls: [rootCrl(root)] }, now);
    expect(r.retired).toHaveLength(1);
    expect(listIntermediates(store.db).map((i) => i.state)).toEqual(['issued', 'retired']);
  });

  describe('refuses an issuance that does not fit, and writes nothing', () => {
    const cases: Array<{ name: string; make: (s: ReturnType<typeof setup>) => { intermediates: Buffer[]; roots: Buffer[] }; reason: RegExp; code?: string }> = [
      {
        name: 'a certificate for a key we never generated',
        make: ({ root, store }) => {
          sign(root, store);
          const k = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
          const pem = signIntermediate(root, toPem(PEM_LABEL.csr, buildCsr({ subject: { organization: TD, commonName: 'x' }, signer: softwareSigner(k, 'ECDSA-SHA256') }).der), { startMs: Date.now() - DAY, endMs: Date.now() + DAY });
          return { intermediates: [pemToDer(pem)], roots: [root.der] };
        },
        reason: /answers no CSR this online CA sent/u,
      },
      { name: 'not a CA certificate', make: ({ root, store }) => ({ intermediates: sign(root, store, 'v3_notca').map((p) => pemToDer(p)), roots: [root.der] }), reason: /not a CA certificate/u },
      { name: 'name constraints for another trust domain', make: ({ root, store }) => ({ intermediates: sign(root, store, 'v3_int_wrongtd').map((p) => pemToDer(p)), roots: [root.der] }), reason: /do not permit trust domain 'example.org'/u },
      {
        name: 'does not chain to the given root',
        make: ({ root, store, dir }) => {
          const other = createTestRoot(join(dir, 'other-root'));
          return { intermediates: sign(other, store).map((p) => pemToDer(p)), roots: [root.der] };
        },
        reason: /does not chain to a root/u,
      },
      {
        name: 'already expired',
        make: ({ root, store }) => ({ intermediates: sign(root, store, 'v3_int', -200 * DAY).map((p) => pemToDer(p)), roots: [root.der] }),
        reason: /expired on/u,
      },
      {
        name: 'a root that is not self-signed',
        make: ({ root, store }) => {
          const pems = sign(root, store);
          return { intermediates: pems.map((p) => pemToDer(p)), roots: [pemToDer(pems[0] ?? '')] };
        },
        reason: /is not self-signed/u,
      },
      { name: 'garbage', make: () => ({ intermediates: [Buffer.from('not a certificate')], roots: [] }), reason: /not a valid DER X\.509 certificate/u, code: 'ERR_PKI_CERT_INVALID' },
    ];
    for (const c of cases) {
      it(c.name, () => {
        const s = setup();
        const input = c.make(s);
        const before = JSON.stringify(listIntermediates(s.store.db).map((i) => i.state));
        expect(() => importIssuance(s.store, input, s.now)).toThrow(expect.objectContaining({ code: c.code ?? 'ERR_ONLINE_INTERMEDIATE_INVALID' }));
        expect(() => importIssuance(s.store, input, s.now)).toThrow(c.reason);
        expect(JSON.stringify(listIntermediates(s.store.db).map((i) => i.state))).toBe(before);
        expect((s.store.db.prepare('SELECT COUNT(*) AS n FROM online_roots').get() as { n: number }).n).toBe(0);
      });
    }
  });

  it('refuses a second init, an overlap not longer than the SVID lifetime, and the wrong token for a new batch', () => {
    const { hsm, store, now } = setup();
    expect(() => initOnline(store, hsm.session, { trustDomain: TD, keyStore: 'sealed', keyAlgorithm: 'ec-p256', windows: 1, windowDays: 90, overlapDays: 7, nowMs: now, maxSvidTtlSeconds: 86_400 })).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_EXISTS' }));
    const tmp = tempDir();
    cleanups.push(tmp.cleanup);
    const s2 = openOnlineStore(join(tmp.dir, 'x.db'));
    cleanups.push(() => s2.close());
    expect(() => initOnline(s2, hsm.session, { trustDomain: TD, keyStore: 'sealed', keyAlgorithm: 'ec-p256', windows: 2, windowDays: 90, overlapDays: 1, nowMs: now, maxSvidTtlSeconds: 86_400 })).toThrow(/must exceed the longest SVID lifetime/u);
    expect(() => initOnline(s2, hsm.session, { trustDomain: 'Bad', keyStore: 'sealed', keyAlgorithm: 'ec-p256', windows: 2, windowDays: 90, overlapDays: 7, nowMs: now, maxSvidTtlSeconds: 86_400 })).toThrow(expect.objectContaining({ code: 'ERR_SPIFFE_ID_INVALID' }));
    const t = hsm.hsm.initToken('other', Secret.fromString(TEST_SO_PIN), Secret.fromString(TEST_USER_PIN));
    const other = hsm.hsm.openSession({ label: t.label, serial: t.serial });
    cleanups.push(() => other.close());
    other.login(Secret.fromString(TEST_USER_PIN));
    expect(() => prepareBatch(store, other, { windows: 1, nowMs: now, maxSvidTtlSeconds: 86_400 })).toThrow(expect.objectContaining({ code: 'ERR_HSM_TOKEN_NOT_PRESENT' }));
  });

  it('prepares the next batch starting where the last window ends minus the overlap', () => {
    const { hsm, store, now } = setup();
    const last = listIntermediates(store.db).at(-1);
    const batch = prepareBatch(store, hsm.session, { windows: 2, nowMs: now, maxSvidTtlSeconds: 86_400 });
    expect(batch).toHaveLength(2);
    expect(batch[0]?.batch).toBe(2);
    expect(batch[0]?.windowStartMs).toBe((last?.windowEndMs ?? 0) - 7 * DAY);
  });
});
