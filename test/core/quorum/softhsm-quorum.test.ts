/**
 * Must-show: a 3-of-5 quorum on SoftHSM with the production scrypt cost. Three custodians open
 * the token and the root key signs certificates the quorum approved (OpenSSL verifies them and
 * recomputes the approved TBS digest); two cannot; every refusal at share entry and at the quorum
 * check has its own code and makes no HSM signature (and no login).
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { openHsm, type HsmModule, type HsmSession, type KeyRef } from '../../../core/hsm/index.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import {
  ActivationSession,
  createApprovalRequest,
  DEFAULT_SCRYPT,
  openCustodianFile,
  signApproval,
  signWithQuorum,
  type Approval,
  type ApprovalRequest,
  type CustodianFile,
} from '../../../core/quorum/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { runOk } from '../../helpers/tools.ts';
import { assembleSigned, buildCaTbs, caught, certPem, enrollQuorum, fileOf, FIVE, passphraseOf, type EnrolledQuorum } from './fixtures.ts';

const NOW = new Date('2027-01-10T10:00:00.000Z');
const pass = (name: string): Secret => Secret.fromString(passphraseOf(name));

describe('3-of-5 quorum on SoftHSM (production scrypt cost)', () => {
  let dir: { dir: string; cleanup(): void };
  let hsm: HsmModule;
  let q: EnrolledQuorum;
  let foreign: EnrolledQuorum;
  let session: HsmSession;
  let rootKey: KeyRef;
  let rootSpki: Buffer;
  let rootPem: string;
  const approvalKeys = new Map<string, KeyObject>();

  beforeAll(async () => {
    dir = tempDir('neam-quorum-');
    hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(dir.dir) });
    // The root token is initialised with temporary PINs that exist only in memory; the enrolment
    // replaces both with PINs derived from the activation secret. Nobody typed or saw any of them.
    q = await enrollQuorum({ kdf: DEFAULT_SCRYPT, token: { hsm, label: 'neam-root' } });
    q.pin.wipe();
    foreign = await enrollQuorum({ ceremony: 'root-other', names: ['alice', 'bob', 'carol'], threshold: 2 });
    session = hsm.openSession({ label: 'neam-root' });
    // Custodians unseal their approval keys with their passphrases (as `neam-ca approve` does).
    for (const name of FIVE) {
      const opened = await openCustodianFile(fileOf(q, name), pass(name), { approvalKey: true });
      approvalKeys.set(name, opened.approvalKey as KeyObject);
    }
  });

  afterAll(() => {
    session?.close();
    hsm?.close();
    dir?.cleanup();
  });

  const stats = (): { signatures: number; logins: number } => ({ signatures: hsm.stats.signatures, logins: hsm.stats.logins });

  const approve = (request: ApprovalRequest, name: string, decision: 'approve' | 'decline' = 'approve', now = NOW): Approval =>
    signApproval({ request, custodianFile: fileOf(q, name), approvalKey: approvalKeys.get(name) as KeyObject, decision, now });

  it('two custodians cannot open the token: ERR_QUORUM_NOT_MET says how many more, and no login is attempted', async () => {
    const before = stats();
    const activation = new ActivationSession(q.roster);
    const p1 = await activation.addCustodian(fileOf(q, 'alice'), pass('alice'));
    expect(p1).toMatchObject({ have: 1, remaining: 2, complete: false });
    const p2 = await activation.addCustodian(fileOf(q, 'bob'), pass('bob'));
    expect(p2).toMatchObject({ have: 2, remaining: 1, complete: false });
    const e = await caught(() => activation.login(session));
    expect(e.code).toBe('ERR_QUORUM_NOT_MET');
    expect(e.message).toContain('2 of 3 custodians have entered their shares; 1 more needed (from: carol, dave, erin)');
    expect(stats()).toEqual(before);
    expect(session.loggedIn).toBe(false);
  });

  const entryRefusals: Array<{ name: string; code: string; run: (a: ActivationSession) => Promise<unknown> }> = [
    {
      name: 'a tampered share (one ciphertext byte flipped)',
      code: 'ERR_QUORUM_SHARE_TAMPERED',
      run: (a) => {
        const f = structuredClone(fileOf(q, 'carol')) as CustodianFile;
        const ct = Buffer.from(f.sealed.share.ciphertext, 'base64');
        ct[3] = (ct[3] as number) ^ 0x01;
        f.sealed.share.ciphertext = ct.toString('base64');
        return a.addCustodian(f, pass('carol'));
      },
    },
    { name: 'a share from another ceremony', code: 'ERR_QUORUM_SHARE_FOREIGN', run: (a) => a.addCustodian(fileOf(foreign, 'carol'), pass('carol')) },
    { name: 'a wrong passphrase', code: 'ERR_QUORUM_PASSPHRASE_INCORRECT', run: (a) => a.addCustodian(fileOf(q, 'carol'), pass('dave')) },
    { name: 'the same custodian twice', code: 'ERR_QUORUM_SHARE_DUPLICATE', run: (a) => a.addCustodian(fileOf(q, 'alice'), pass('alice')) },
  ];
  for (const r of entryRefusals) {
    it(`refuses ${r.name} at entry with ${r.code}; no login, no signature`, async () => {
      const activation = new ActivationSession(q.roster);
      await activation.addCustodian(fileOf(q, 'alice'), pass('alice'));
      await activation.addCustodian(fileOf(q, 'bob'), pass('bob'));
      const before = stats();
      const e = await caught(() => r.run(activation));
      expect(e.code).toBe(r.code);
      // Reported at entry: the session still has its two good shares and says one more is needed.
      expect(activation.have).toBe(2);
      expect(activation.remaining).toBe(1);
      expect(stats()).toEqual(before);
      activation.wipe();
    });
  }

  it('three custodians open the token; the root key signs only what the quorum approved; OpenSSL verifies', async () => {
    const activation = new ActivationSession(q.roster);
    for (const name of ['alice', 'carol', 'erin']) await activation.addCustodian(fileOf(q, name), pass(name));
    expect(activation.complete).toBe(true);
    const logins = hsm.stats.logins;
    await activation.login(session);
    expect(hsm.stats.logins).toBe(logins + 1);
    expect(session.loggedIn).toBe(true);
    // The session is spent: the secret and the shares are gone.
    await expect(activation.login(session)).rejects.toMatchObject({ code: 'ERR_QUORUM_PARAMS_INVALID' });

    const pair = session.generateKeyPair({ type: 'RSA', bits: 4096 }, { label: 'root' });
    rootKey = pair.privateKey;
    rootSpki = pair.spki;

    // Root certificate (self-signed), approved by alice, bob, dave.
    const rootTbs = buildCaTbs({ issuer: 'CN=NEAM Test Root,O=NEAM', subject: 'CN=NEAM Test Root,O=NEAM', subjectSpki: rootSpki, issuerSpki: rootSpki, notBefore: NOW, days: 3650 });
    const rootRequest = createApprovalRequest({ roster: q.roster, operation: 'sign-root-certificate', tbsDer: rootTbs, now: NOW, random: (n) => Buffer.alloc(n, 7) });
    expect(rootRequest.subject).toBe('CN=NEAM Test Root, O=NEAM');
    const sigs = hsm.stats.signatures;
    const root = await signWithQuorum({
      roster: q.roster,
      operation: 'sign-root-certificate',
      tbsDer: rootTbs,
      subject: rootRequest.subject,
      approvals: ['alice', 'bob', 'dave'].map((n) => approve(rootRequest, n)),
      now: NOW,
      sign: (tbs) => assembleSigned(tbs, session.sign(rootKey, 'RSA-PKCS1-SHA256', tbs)),
      signedDer: (der) => der,
    });
    expect(hsm.stats.signatures).toBe(sigs + 1);
    expect(root.decision.approvals.map((a) => a.custodian)).toEqual(['alice', 'bob', 'dave']);
    rootPem = certPem(root.result);

    // Intermediate: a software RSA-2048 key (the online side's), approved by carol, dave, erin.
    const inter = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const interSpki = inter.publicKey.export({ type: 'spki', format: 'der' });
    const interTbs = buildCaTbs({ issuer: 'CN=NEAM Test Root,O=NEAM', subject: 'CN=NEAM Intermediate 2027-Q1,O=NEAM', subjectSpki: interSpki, issuerSpki: rootSpki, notBefore: NOW, days: 90, pathLen: 0 });
    const interRequest = createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', tbsDer: interTbs, now: NOW, random: (n) => Buffer.alloc(n, 9) });
    const issued = await signWithQuorum({
      roster: q.roster,
      operation: 'sign-intermediate',
      tbsDer: interTbs,
      approvals: ['carol', 'dave', 'erin'].map((n) => approve(interRequest, n)),
      now: NOW,
      sign: (tbs) => assembleSigned(tbs, session.sign(rootKey, 'RSA-PKCS1-SHA256', tbs)),
      signedDer: (der) => der,
    });

    // Independent oracles: OpenSSL verifies both certificates strictly, and its own DER parser
    // finds the same TBS bytes whose SHA-256 the custodians approved.
    writeFileSync(join(dir.dir, 'root.pem'), rootPem);
    writeFileSync(join(dir.dir, 'inter.pem'), certPem(issued.result));
    writeFileSync(join(dir.dir, 'inter.der'), issued.result);
    // The certificates start at NOW (a fixed date), so OpenSSL checks them at that time.
    const at = String(Math.floor(NOW.getTime() / 1000) + 60);
    expect(runOk('openssl', ['verify', '-x509_strict', '-attime', at, '-CAfile', join(dir.dir, 'root.pem'), join(dir.dir, 'root.pem')])).toContain('OK');
    expect(runOk('openssl', ['verify', '-x509_strict', '-attime', at, '-CAfile', join(dir.dir, 'root.pem'), join(dir.dir, 'inter.pem')])).toContain('OK');
    const parse = runOk('openssl', ['asn1parse', '-inform', 'DER', '-in', join(dir.dir, 'inter.der')]).split('\n')[1] as string;
    const m = /^\s*(\d+):d=1\s+hl=(\d+)\s+l=\s*(\d+)\s+cons: SEQUENCE/u.exec(parse);
    expect(m).not.toBeNull();
    const [off, hl, len] = [Number(m?.[1]), Number(m?.[2]), Number(m?.[3])];
    const tbsByOpenssl = issued.result.subarray(off, off + hl + len);
    expect(runOk('openssl', ['dgst', '-sha256', '-r'], { input: tbsByOpenssl }).split(' ')[0]).toBe(interRequest.tbsSha256);
  });

  /** Builds a fresh intermediate TBS and its request; refusals below are checked against it. */
  const freshTarget = (): { tbs: Buffer; request: ApprovalRequest } => {
    const k = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' });
    const tbs = buildCaTbs({ issuer: 'CN=NEAM Test Root,O=NEAM', subject: 'CN=NEAM Intermediate X,O=NEAM', subjectSpki: k, issuerSpki: rootSpki, notBefore: NOW, days: 90, pathLen: 0 });
    return { tbs, request: createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', tbsDer: tbs, now: NOW, random: (n) => Buffer.alloc(n, 3) }) };
  };

  const quorumRefusals: Array<{ name: string; code: string; approvals: (t: { tbs: Buffer; request: ApprovalRequest }) => Approval[] }> = [
    {
      name: 'an approval over a different TBS',
      code: 'ERR_QUORUM_APPROVAL_WRONG_TBS',
      approvals: (t) => {
        const other = freshTarget();
        return [approve(t.request, 'alice'), approve(t.request, 'bob'), approve(other.request, 'carol')];
      },
    },
    {
      name: 'an expired approval',
      code: 'ERR_QUORUM_APPROVAL_EXPIRED',
      approvals: (t) => {
        const old = createApprovalRequest({ roster: q.roster, operation: 'sign-intermediate', tbsDer: t.tbs, now: new Date(NOW.getTime() - 3 * 86_400_000), validForMs: 86_400_000, random: (n) => Buffer.alloc(n, 4) });
        return [approve(t.request, 'alice'), approve(t.request, 'bob'), approve(old, 'carol', 'approve', new Date(NOW.getTime() - 2.5 * 86_400_000))];
      },
    },
    {
      name: 'an approval by a key that is not enrolled',
      code: 'ERR_QUORUM_APPROVAL_NOT_ENROLLED',
      approvals: (t) => {
        const intruder = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
        const spki = createPublicKey(intruder).export({ type: 'spki', format: 'der' }).toString('base64');
        const forged = signApproval({ request: t.request, custodianFile: { ...fileOf(q, 'carol'), approvalKey: { ...fileOf(q, 'carol').approvalKey, spki } }, approvalKey: intruder, decision: 'approve', now: NOW });
        return [approve(t.request, 'alice'), approve(t.request, 'bob'), forged];
      },
    },
    { name: 'the same custodian approving twice', code: 'ERR_QUORUM_APPROVAL_DUPLICATE', approvals: (t) => [approve(t.request, 'alice'), approve(t.request, 'bob'), approve(t.request, 'alice', 'approve', new Date(NOW.getTime() + 1000))] },
    {
      name: 'an approval whose statement was altered after signing',
      code: 'ERR_QUORUM_APPROVAL_SIGNATURE_INVALID',
      approvals: (t) => {
        const a = approve(t.request, 'carol');
        return [approve(t.request, 'alice'), approve(t.request, 'bob'), { ...a, statement: { ...a.statement, expiresAt: new Date(NOW.getTime() + 20 * 86_400_000).toISOString() } }];
      },
    },
    { name: 'a custodian who declined', code: 'ERR_QUORUM_APPROVAL_DECLINED', approvals: (t) => [approve(t.request, 'alice'), approve(t.request, 'bob'), approve(t.request, 'carol'), approve(t.request, 'dave', 'decline')] },
    { name: 'only two approvals', code: 'ERR_QUORUM_NOT_MET', approvals: (t) => [approve(t.request, 'alice'), approve(t.request, 'bob')] },
  ];
  for (const r of quorumRefusals) {
    it(`refuses ${r.name} with ${r.code}; the HSM makes no signature`, async () => {
      expect(session.loggedIn).toBe(true);
      const t = freshTarget();
      const approvals = r.approvals(t);
      const before = stats();
      let signerCalled = false;
      const e = await caught(() =>
        signWithQuorum({
          roster: q.roster,
          operation: 'sign-intermediate',
          tbsDer: t.tbs,
          approvals,
          now: NOW,
          sign: (tbs) => {
            signerCalled = true;
            return assembleSigned(tbs, session.sign(rootKey, 'RSA-PKCS1-SHA256', tbs));
          },
          signedDer: (d) => d,
        }),
      );
      expect(e.code).toBe(r.code);
      expect(signerCalled).toBe(false);
      expect(stats()).toEqual(before);
    });
  }

  it('refuses an issued object whose TBS is not the approved bytes (ERR_PKI_TBS_MISMATCH)', async () => {
    const t = freshTarget();
    const other = freshTarget();
    const e = await caught(() =>
      signWithQuorum({
        roster: q.roster,
        operation: 'sign-intermediate',
        tbsDer: t.tbs,
        approvals: ['alice', 'bob', 'carol'].map((n) => approve(t.request, n)),
        now: NOW,
        // A signer that signs something else than it was given.
        sign: () => assembleSigned(other.tbs, session.sign(rootKey, 'RSA-PKCS1-SHA256', other.tbs)),
        signedDer: (d) => d,
      }),
    );
    expect(e.code).toBe('ERR_PKI_TBS_MISMATCH');
    expect(e.message).toContain('must not be used');
  });
});
