/**
 * The quorum check around core/ca's signPrepared (security review M3): the bytes the quorum
 * approved are compared with the prepared object BEFORE the HSM is asked, and the approved digest
 * reaches signPrepared as `expectTbsSha256`, so a mixed-up prepared object is refused with no
 * signature and no row in the CA store (before the fix it was signed, recorded, and only then
 * reported). `signPreparedWithQuorum` takes the prepared object itself so the two cannot differ.
 * OpenSSL verifies what is issued.
 */
import type { KeyObject } from 'node:crypto';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { prepareIntermediate, prepareCrl, signPrepared, type PreparedCertificate } from '../../../core/ca/index.ts';
import { defaultProfile } from '../../../core/pki/index.ts';
import { createApprovalRequest, signApproval, signPreparedWithQuorum, signWithQuorum, type Approval, type ApprovalRequest } from '../../../core/quorum/index.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { createCa, hsmCsr, makeRoot, type CaFixture } from '../ca/helpers.ts';
import { caught, enrollQuorum, fileOf, type EnrolledQuorum } from './fixtures.ts';

const CEREMONY = { id: 'quorum-sign', rehearsal: true };

describe('signing a prepared object with quorum approval (SoftHSM, core/ca)', () => {
  let ca: CaFixture;
  let root: ReturnType<typeof makeRoot>;
  let q: EnrolledQuorum;
  const now = new Date(Math.floor(Date.now() / 1000) * 1000);

  beforeAll(async () => {
    ca = createCa();
    root = makeRoot(ca, { now: new Date(now.getTime() - 60_000) });
    q = await enrollQuorum({ now });
  });
  afterAll(() => ca.close());

  const intermediate = (label: string): PreparedCertificate =>
    prepareIntermediate({ profile: defaultProfile('intermediate'), csr: hsmCsr(ca, { type: 'RSA', bits: 2048 }, label).pem, issuerCertificate: root.issued.der, now, random: ca.random, store: ca.store });
  const requestFor = (tbsDer: Buffer, operation = 'sign-intermediate'): ApprovalRequest => createApprovalRequest({ roster: q.roster, operation, tbsDer, now, random: ca.random });
  const approve = (request: ApprovalRequest, names = ['alice', 'bob', 'carol']): Approval[] =>
    names.map((n) => signApproval({ request, custodianFile: fileOf(q, n), approvalKey: q.approvalKeys.get(n) as KeyObject, decision: 'approve', now }));
  const state = (): { signatures: number; rows: ReturnType<CaFixture['counts']> } => ({ signatures: ca.fx.hsm.stats.signatures, rows: ca.counts() });

  it('signWithQuorum refuses a prepared object that is not the approved bytes before the HSM is asked; nothing is recorded', async () => {
    const approved = intermediate('approved');
    const other = intermediate('other');
    const approvals = approve(requestFor(approved.tbsDer));
    const before = state();
    let called = false;
    const e = await caught(() =>
      signWithQuorum({
        roster: q.roster,
        operation: 'sign-intermediate',
        tbsDer: approved.tbsDer,
        prepared: other,
        approvals,
        now,
        sign: () => {
          called = true;
          return signPrepared(other, root.key.signer(other.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now });
        },
        signedDer: (r) => r.der,
      }),
    );
    expect(e.code).toBe('ERR_PKI_TBS_MISMATCH');
    expect(e.message).toContain('nothing was signed');
    expect(called).toBe(false);
    expect(state()).toEqual(before);
  });

  it('signWithQuorum hands the approved digest to the signer, so signPrepared refuses other bytes itself (no partial state)', async () => {
    const approved = intermediate('approved-2');
    const other = intermediate('other-2');
    const approvals = approve(requestFor(approved.tbsDer));
    const before = state();
    let seen: string | undefined;
    // An old-style caller that signs the wrong prepared object but passes the guard along.
    const e = await caught(() =>
      signWithQuorum({
        roster: q.roster,
        operation: 'sign-intermediate',
        tbsDer: approved.tbsDer,
        approvals,
        now,
        sign: (_tbs, guard) => {
          seen = guard.expectTbsSha256;
          return signPrepared(other, root.key.signer(other.signatureAlgorithm), { store: ca.store, ceremony: CEREMONY, now, expectTbsSha256: guard.expectTbsSha256 });
        },
        signedDer: (r) => r.der,
      }),
    );
    expect(seen).toBe(approved.tbsSha256);
    expect(e.code).toBe('ERR_PKI_TBS_MISMATCH');
    expect(e.message).toMatch(/are not the approved ones \(SHA-256 [0-9a-f]{64}\); nothing was signed/u);
    expect(state()).toEqual(before);
  });

  it('signPreparedWithQuorum signs exactly the approved intermediate and CRL; OpenSSL verifies them', async () => {
    const prepared = intermediate('good');
    const before = state();
    const { result, decision } = await signPreparedWithQuorum({ roster: q.roster, prepared, approvals: approve(requestFor(prepared.tbsDer)), now, signer: root.key.signer(prepared.signatureAlgorithm), options: { store: ca.store, ceremony: CEREMONY } });
    expect(result.kind).toBe('certificate');
    expect(result.info.tbsSha256).toBe(prepared.tbsSha256);
    expect(decision).toMatchObject({ operation: 'sign-intermediate', tbsSha256: prepared.tbsSha256, threshold: 3 });
    expect(ca.fx.hsm.stats.signatures).toBe(before.signatures + 1);
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', ca.file('root.pem', root.issued.pem), ca.file('int.pem', result.pem)])).toContain('OK');

    const crl = prepareCrl({ profile: defaultProfile('crl-root'), issuerCertificate: root.issued.der, store: ca.store, now });
    const signedCrl = await signPreparedWithQuorum({ roster: q.roster, prepared: crl, approvals: approve(requestFor(crl.tbsDer, 'sign-crl'), ['carol', 'dave', 'erin']), now, signer: root.key.signer(crl.signatureAlgorithm), options: { store: ca.store, ceremony: CEREMONY } });
    expect(signedCrl.decision.operation).toBe('sign-crl');
    const v = run('openssl', ['crl', '-in', ca.file('root.crl', signedCrl.result.pem), '-CAfile', ca.file('root2.pem', root.issued.pem), '-noout', '-verify']);
    expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK/u);
  });

  it('signPreparedWithQuorum refuses approvals of other bytes and an operation that does not fit the object, with no signature', async () => {
    const prepared = intermediate('refused');
    const other = intermediate('refused-other');
    const before = state();
    const wrong = await caught(() => signPreparedWithQuorum({ roster: q.roster, prepared, approvals: approve(requestFor(other.tbsDer)), now, signer: root.key.signer(prepared.signatureAlgorithm), options: { store: ca.store, ceremony: CEREMONY } }));
    expect(wrong.code).toBe('ERR_QUORUM_APPROVAL_WRONG_TBS');
    const op = await caught(() => signPreparedWithQuorum({ roster: q.roster, operation: 'sign-crl', prepared, approvals: approve(requestFor(prepared.tbsDer, 'sign-crl')), now, signer: root.key.signer(prepared.signatureAlgorithm), options: { store: ca.store, ceremony: CEREMONY } }));
    expect(op.code).toBe('ERR_QUORUM_PARAMS_INVALID');
    expect(state()).toEqual(before);
  });
});
