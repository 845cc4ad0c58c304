/**
 * Must-show: the activation secret (and the token PINs derived from it) and the custodians' passphrases never
 * appear in logs, error messages (message, details, JSON form, cause chain), the SQLite store
 * (database, WAL and shared-memory files), or any file written (rosters, requests, approvals,
 * drill reports, the SoftHSM token store, and the sealed custodian files themselves), in any
 * common encoding. Every failure path a custodian can hit is exercised on the way.
 */
import { hkdfSync, type KeyObject } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CoreError } from '../../../core/errors.ts';
import { openHsm, type HsmModule } from '../../../core/hsm/index.ts';
import { ensureSoftHsmConf, findSoftHsmModule } from '../../../core/hsm/softhsm.ts';
import { createLogger, memorySink } from '../../../core/log/logger.ts';
import {
  ActivationSession,
  beginRotation,
  checkQuorum,
  approvalTargetOf,
  createApprovalRequest,
  initTokenWithTemporaryPins,
  openCustodianFile,
  QuorumEnrollment,
  QuorumStore,
  serializeApproval,
  serializeApprovalRequest,
  serializeCustodianFile,
  serializeRoster,
  signApproval,
  type CustodianFile,
} from '../../../core/quorum/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { FAST_KDF, recordingRandom } from './fixtures.ts';
import { countFiles, findSecretLeaks, secretForms } from './scan.ts';

const NOW = new Date('2027-05-01T08:00:00.000Z');
const PASS: Record<string, string> = {
  alice: 'Ålice wälks to the härbour 7',
  bob: 'bob-and-the-seventeen-owls',
  carol: 'carol: "quotes" & <angles> 3',
  dave: 'dave dreams of 42 teacups!!',
  erin: 'erin erin erin is twelve+ chars',
  frank: 'frank found five foxes 555',
  grace: 'grace grows garlic in june 1',
};
const pass = (n: string): Secret => Secret.fromString(PASS[n] as string);

describe('secret hygiene of the quorum (API, SoftHSM, store)', () => {
  let dir: { dir: string; cleanup(): void };
  let hsm: HsmModule;
  const sink = memorySink();
  const log = createLogger({ level: 'debug', sinks: [sink] });
  const errors: unknown[] = [];
  const secrets: Buffer[] = [];
  const written: string[] = [];

  /** Runs fn, keeps any error for the scan, and returns its code. */
  async function attempt(fn: () => unknown): Promise<string | undefined> {
    try {
      await fn();
      return undefined;
    } catch (e) {
      errors.push(e);
      return e instanceof CoreError ? e.code : 'not a CoreError';
    }
  }
  const write = (name: string, text: string): void => {
    const p = join(dir.dir, 'out', name);
    writeFileSync(p, text);
    written.push(p);
  };

  beforeAll(() => {
    dir = tempDir('neam-qsecrets-');
    hsm = openHsm({ modulePath: findSoftHsmModule(), softhsmConf: ensureSoftHsmConf(join(dir.dir, 'softhsm')) });
  });
  afterAll(() => {
    hsm.close();
    dir.cleanup();
  });

  it('runs enrolment, every refusal, activation, approvals, store, drill and rotation, then finds no secret anywhere', async () => {
    mkdirSync(join(dir.dir, 'out'));
    const store = openStore(join(dir.dir, 'ca.db'));
    const qs = new QuorumStore(store);

    // Enrolment (the recording random source tells the test the secret: the first 32 bytes).
    const rec = recordingRandom();
    const enrollment = await QuorumEnrollment.start({ ceremony: 'scan-2027', threshold: 3, total: 5, now: NOW, random: rec.random, kdf: FAST_KDF, log });
    secrets.push(rec.draws[0] as Buffer);
    const files = new Map<string, CustodianFile>();
    expect(await attempt(() => enrollment.addCustodian({ name: 'alice', passphrase: pass('alice'), confirmation: pass('bob') }))).toBe('ERR_QUORUM_PASSPHRASE_MISMATCH');
    expect(await attempt(() => enrollment.addCustodian({ name: 'alice', passphrase: Secret.fromString('Ålice'), confirmation: Secret.fromString('Ålice') }))).toBe('ERR_QUORUM_PASSPHRASE_WEAK');
    for (const n of ['alice', 'bob', 'carol', 'dave', 'erin']) {
      const f = await enrollment.addCustodian({ name: n, passphrase: pass(n), confirmation: pass(n) });
      files.set(n, f);
      write(`custodian-${n}.json`, serializeCustodianFile(f));
    }
    // The token's temporary PINs exist only in memory; the enrolment replaces both.
    const { temporarySoPin } = initTokenWithTemporaryPins(hsm, 'scan-root');
    const session = hsm.openSession({ label: 'scan-root' });
    write('roster-pending.json', serializeRoster(enrollment.roster()));
    const { roster } = await enrollment.commitToToken(session, { temporarySoPin });
    temporarySoPin.wipe();
    write('roster.json', serializeRoster(roster));
    qs.addRoster(roster, 'current', NOW);

    // Every refusal a custodian can meet at entry.
    const a = new ActivationSession(roster, { log });
    await a.addCustodian(files.get('alice') as CustodianFile, pass('alice'));
    expect(await attempt(() => a.addCustodian(files.get('bob') as CustodianFile, pass('carol')))).toBe('ERR_QUORUM_PASSPHRASE_INCORRECT');
    expect(await attempt(() => a.addCustodian(files.get('alice') as CustodianFile, pass('alice')))).toBe('ERR_QUORUM_SHARE_DUPLICATE');
    const tampered = structuredClone(files.get('bob') as CustodianFile);
    tampered.sealed.share.ciphertext = Buffer.from(tampered.sealed.share.ciphertext, 'base64').reverse().toString('base64');
    expect(await attempt(() => a.addCustodian(tampered, pass('bob')))).toBe('ERR_QUORUM_SHARE_TAMPERED');
    expect(await attempt(() => a.login(session))).toBe('ERR_QUORUM_NOT_MET');
    await a.addCustodian(files.get('bob') as CustodianFile, pass('bob'));
    await a.addCustodian(files.get('erin') as CustodianFile, pass('erin'));
    await a.login(session);

    // Approvals and the store.
    const request = createApprovalRequest({ roster, operation: 'sign-crl', tbsSha256: '12'.repeat(32), subject: 'CRL 1', now: NOW, random: rec.random });
    qs.addRequest(request);
    write('request.json', serializeApprovalRequest(request));
    for (const n of ['alice', 'carol', 'dave']) {
      const opened = await openCustodianFile(files.get(n) as CustodianFile, pass(n), { approvalKey: true });
      const approval = signApproval({ request, custodianFile: files.get(n) as CustodianFile, approvalKey: opened.approvalKey as KeyObject, decision: 'approve', now: NOW });
      write(`approval-${n}.json`, serializeApproval(approval));
      qs.importApproval(approval, NOW);
    }
    expect(await attempt(() => checkQuorum(roster, approvalTargetOf(request), qs.approvals(request.requestId).slice(0, 2), NOW, log))).toBe('ERR_QUORUM_NOT_MET');
    checkQuorum(roster, approvalTargetOf(request), qs.approvals(request.requestId), NOW, log);

    // Drill, then rotation with the current quorum (the new secret is the second 32-byte draw).
    const drill = new ActivationSession(roster, { log });
    for (const n of ['carol', 'dave', 'erin']) await drill.addCustodian(files.get(n) as CustodianFile, pass(n));
    const report = await drill.drill(NOW);
    qs.addDrill(report);
    write('drill.json', JSON.stringify(report));
    const current = new ActivationSession(roster, { log });
    for (const n of ['alice', 'bob', 'carol']) await current.addCustodian(files.get(n) as CustodianFile, pass(n));
    const rec2 = recordingRandom();
    const rotation = await beginRotation(current, { threshold: 2, total: 2, now: NOW, random: rec2.random, kdf: FAST_KDF, log });
    secrets.push(rec2.draws[0] as Buffer);
    for (const n of ['frank', 'grace']) write(`custodian-${n}.json`, serializeCustodianFile(await rotation.addCustodian({ name: n, passphrase: pass(n), confirmation: pass(n) })));
    qs.addRoster(rotation.pendingRoster(), 'pending', NOW);
    const { roster: next } = await rotation.commit(session);
    qs.makeCurrent(next.quorumId, NOW);
    write('roster-2.json', serializeRoster(next));
    session.logout();
    expect(await attempt(() => new ActivationSession(next, { log }).addCustodian(files.get('alice') as CustodianFile, pass('alice')))).toBe('ERR_QUORUM_SHARE_FOREIGN');
    session.close();
    store.close();

    // Scan. Errors are scanned in every form a program could print them.
    const errorTexts = errors.flatMap((e) => {
      const chain: string[] = [];
      for (let c: unknown = e; c !== undefined && c !== null; c = (c as { cause?: unknown }).cause) chain.push(inspect(c, { depth: 5 }), String(c), JSON.stringify(c));
      return chain;
    });
    const logTexts = sink.records.map((r) => JSON.stringify(r));
    expect(errors.length).toBeGreaterThanOrEqual(7);
    expect(logTexts.some((l) => l.includes('custodian share refused'))).toBe(true);
    expect(logTexts.some((l) => l.includes('token PINs (user and security officer) changed by custodian rotation'))).toBe(true);
    expect(logTexts.some((l) => l.includes('quorum enrolment committed to the token'))).toBe(true);
    const forms = secretForms({ secrets, texts: Object.values(PASS) });
    expect(countFiles(dir.dir)).toBeGreaterThan(12);
    expect(findSecretLeaks({ root: dir.dir, texts: [...logTexts, ...errorTexts], forms })).toEqual([]);
    // Positive control: the same scan flags a leak it is given.
    writeFileSync(join(dir.dir, 'out', 'leak.txt'), `pin=${(secrets[1] as Buffer).toString('base64url')}`);
    expect(findSecretLeaks({ root: dir.dir, forms })).toContain(`${join(dir.dir, 'out', 'leak.txt')}: secret#1 pin utf8`);
    // …and the derived security officer PIN of the first quorum.
    const so = Buffer.from(hkdfSync('sha256', secrets[0] as Buffer, Buffer.alloc(0), Buffer.from('neam-ca/quorum/token-pin/v1/so', 'utf8'), 32)).toString('base64url');
    expect(findSecretLeaks({ texts: [`so=${so}`], forms })).toContain('text#0: secret#0 so-pin utf8');
  });
});
