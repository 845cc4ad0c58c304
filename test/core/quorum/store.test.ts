/**
 * The quorum's public records in SQLite: roster lifecycle through a rotation, requests, approval
 * imports (verified before writing; duplicates refused; declines kept), drills.
 */
import { join } from 'node:path';

import { afterEach, beforeAll, describe, expect, it } from 'vitest';

import { openStore, type Store } from '../../../core/store/index.ts';
import { ActivationSession, checkQuorum, approvalTargetOf, createApprovalRequest, QuorumStore, serializeApproval, signApproval, type ApprovalRequest } from '../../../core/quorum/index.ts';
import type { KeyObject } from 'node:crypto';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { caught, enrollQuorum, fileOf, passphraseOf, type EnrolledQuorum } from './fixtures.ts';

const NOW = new Date('2027-01-10T10:00:00.000Z');

describe('QuorumStore', () => {
  let q: EnrolledQuorum;
  let next: EnrolledQuorum;
  let store: Store;
  let dir: { dir: string; cleanup(): void };
  beforeAll(async () => {
    q = await enrollQuorum();
    next = await enrollQuorum({ names: ['frank', 'grace', 'heidi'], threshold: 2 });
  });
  afterEach(() => {
    store?.close();
    dir?.cleanup();
  });
  const open = (): QuorumStore => {
    dir = tempDir('neam-qstore-');
    store = openStore(join(dir.dir, 'ca.db'));
    return new QuorumStore(store);
  };
  const approve = (request: ApprovalRequest, name: string, decision: 'approve' | 'decline' = 'approve'): string =>
    serializeApproval(signApproval({ request, custodianFile: fileOf(q, name), approvalKey: q.approvalKeys.get(name) as KeyObject, decision, now: NOW }));

  it('keeps one current roster per ceremony; a pending roster becomes current and retires the old one atomically', () => {
    const qs = open();
    qs.addRoster(q.roster, 'current', NOW);
    expect(qs.currentRoster(q.roster.ceremony)).toEqual(q.roster);
    expect(() => qs.addRoster(q.roster, 'current', NOW)).toThrow(expect.objectContaining({ code: 'ERR_ALREADY_EXISTS' }));
    // A rotation's roster names its predecessor.
    const rotated = { ...next.roster, generation: 2, previousQuorumId: q.roster.quorumId };
    qs.addRoster(rotated, 'pending', NOW);
    expect(qs.currentRoster(q.roster.ceremony)?.quorumId).toBe(q.roster.quorumId);
    qs.makeCurrent(rotated.quorumId, NOW);
    expect(qs.currentRoster(q.roster.ceremony)?.quorumId).toBe(rotated.quorumId);
    expect(qs.roster(q.roster.quorumId)?.status).toBe('retired');
    expect(() => qs.makeCurrent(rotated.quorumId, NOW)).toThrow(expect.objectContaining({ code: 'ERR_QUORUM_ROSTER_INVALID' }));
  });

  it('a first enrolment recorded pending before the token PINs change: rostersOf lists every attempt; one is abandoned, the next made current', () => {
    const qs = open();
    expect(qs.rostersOf(q.roster.ceremony)).toEqual([]);
    const first = { ...next.roster, ceremony: q.roster.ceremony };
    qs.addRoster(first, 'pending', NOW);
    expect(qs.currentRoster(q.roster.ceremony)).toBeUndefined();
    // An interrupted attempt whose PIN change never happened is abandoned.
    qs.abandon(first.quorumId, NOW);
    qs.addRoster(q.roster, 'pending', new Date(NOW.getTime() + 1000));
    qs.makeCurrent(q.roster.quorumId, NOW);
    expect(qs.rostersOf(q.roster.ceremony).map((r) => [r.roster.quorumId, r.status])).toEqual([
      [first.quorumId, 'abandoned'],
      [q.roster.quorumId, 'current'],
    ]);
    expect(qs.rostersOf(q.roster.ceremony)[1]!.roster).toEqual(q.roster);
    expect(qs.currentRoster(q.roster.ceremony)).toEqual(q.roster);
    expect(qs.rostersOf('another-ceremony')).toEqual([]);
  });

  it('refuses a second current roster for a ceremony, and a pending roster that does not follow the current one', async () => {
    const qs = open();
    qs.addRoster(q.roster, 'current', NOW);
    expect((await caught(() => qs.addRoster({ ...next.roster }, 'current', NOW))).code).toBe('ERR_QUORUM_ROSTER_INVALID');
    const stray = { ...next.roster, generation: 2, previousQuorumId: 'ab'.repeat(16) };
    qs.addRoster(stray, 'pending', NOW);
    expect((await caught(() => qs.makeCurrent(stray.quorumId, NOW))).code).toBe('ERR_QUORUM_ROSTER_INVALID');
  });

  it('imports approvals after verifying them; refuses duplicates and bad ones without writing; keeps declines', async () => {
    const qs = open();
    qs.addRoster(q.roster, 'current', NOW);
    const request = createApprovalRequest({ roster: q.roster, operation: 'sign-crl', tbsSha256: 'ab'.repeat(32), subject: 'CRL 1 of the root', now: NOW, random: (n) => Buffer.alloc(n, 1) });
    qs.addRequest(request);
    expect(qs.request(request.requestId)).toEqual(request);
    expect(qs.importApproval(approve(request, 'alice'), NOW, 'alice.json').custodian).toBe('alice');
    expect((await caught(() => qs.importApproval(approve(request, 'alice'), NOW))).code).toBe('ERR_QUORUM_APPROVAL_DUPLICATE');
    const other = createApprovalRequest({ roster: q.roster, operation: 'sign-crl', tbsSha256: 'cd'.repeat(32), subject: 'CRL 1 of the root', now: NOW, random: (n) => Buffer.alloc(n, 2) });
    const wrong = JSON.parse(approve(other, 'bob')) as { statement: { requestId: string } };
    wrong.statement.requestId = request.requestId;
    expect((await caught(() => qs.importApproval(JSON.stringify(wrong), NOW))).code).toBe('ERR_QUORUM_APPROVAL_SIGNATURE_INVALID');
    expect((await caught(() => qs.importApproval(approve(request, 'carol', 'decline'), NOW))).code).toBe('ERR_QUORUM_APPROVAL_DECLINED');
    qs.importApproval(approve(request, 'dave'), NOW);
    qs.importApproval(approve(request, 'erin'), NOW);
    const stored = qs.approvals(request.requestId);
    expect(stored.map((a) => [a.statement.custodian, a.statement.decision])).toEqual([
      ['alice', 'approve'],
      ['carol', 'decline'],
      ['dave', 'approve'],
      ['erin', 'approve'],
    ]);
    // The recorded decline keeps blocking the request even with three approvals.
    expect((await caught(() => checkQuorum(q.roster, approvalTargetOf(request), stored, NOW))).code).toBe('ERR_QUORUM_APPROVAL_DECLINED');
    // An approval for a request this workstation never issued.
    expect((await caught(() => qs.importApproval(approve(other, 'bob'), NOW, 'bob.json'))).code).toBe('ERR_NOT_FOUND');
  });

  it('records drill reports', async () => {
    const qs = open();
    qs.addRoster(q.roster, 'current', NOW);
    const a = new ActivationSession(q.roster);
    for (const n of ['alice', 'bob', 'carol']) await a.addCustodian(fileOf(q, n), Secret.fromString(passphraseOf(n)));
    const report = await a.drill(NOW);
    qs.addDrill(report);
    expect(qs.drills(q.roster.quorumId)).toEqual([report]);
  });
});
