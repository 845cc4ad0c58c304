/**
 * @module ceremony/actions/custodian-enrollment
 * Step action `custodian-enrollment` (core/quorum): creates the random activation secret (host
 * CSPRNG mixed with the token's RNG), splits it M-of-N, and enrols the custodians (the site file's
 * participants holding the `custodian` role) one at a time: each types a new passphrase twice and
 * receives a custodian file on their own medium (their share and a new approval key, sealed under
 * the passphrase, bound to this ceremony), read back and opened again before the next one. Then
 * the roster (public) is written and recorded as the CA's current quorum, its SHA-256 read aloud,
 * and the token's user PIN is set to the activation secret with the security officer's PIN.
 * Nobody ever sees the PIN; from here on the token opens with M custodians.
 *
 * After a crash the step is run again: the SO PIN resets the user PIN to a new split, and files
 * from the interrupted attempt open nothing (another quorum id).
 *
 * Must never: show, log or store the activation secret, a share or a passphrase.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import { activateWithQuorum } from '../quorum-io.ts';
import { digestWords, formatDigestWords, mixedRandom, QuorumEnrollment, rosterDigest, serializeCustodianFile, serializeRoster } from '../../quorum/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import { holders } from '../site.ts';
import { outputName, sha256Hex } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';
import type { ActionDefinition } from './types.ts';

const params = z.strictObject({
  /** scrypt cost of the custodian files as log2(N) (17 = 128 MiB per unlock; 14 only for tests). */
  'scrypt-log2n': z.number().int().min(14).max(20).default(17),
  roster: outputName.default('roster.json'),
});
type Params = z.infer<typeof params>;

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^A-Za-z0-9]+/gu, '-').replace(/^-|-$/gu, '').toLowerCase() || 'custodian';
}

/** `custodian-enrollment`. */
export const custodianEnrollment: ActionDefinition<Params> = {
  summary: "split the token's activation secret M-of-N; seal each custodian's share and new approval key under their passphrase onto their own medium; set the token PIN",
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'module',
  plan: (p) => ({ outputs: [p.roster], keyLabels: [], references: [] }),
  check(_p, ctx) {
    const problems = [...needsShares(ctx, 'custodian enrollment'), ...custodiansAtLeast(ctx, 'n', 'custodian enrollment')];
    const tokenInit = ctx.steps.findIndex((s) => s.action === 'token-init');
    if (tokenInit === -1 || tokenInit > ctx.step.index) problems.push({ path: 'action', message: 'custodian enrollment sets the PIN of the token initialised by an earlier token-init step' });
    if (ctx.script.quorum.m < 2 || ctx.script.quorum.n > 32) problems.push({ path: 'action', message: `a quorum needs 2 ≤ M ≤ N ≤ 32 (it is ${ctx.script.quorum.m} of ${ctx.script.quorum.n})` });
    return problems;
  },
  questions: (_p, step) => [
    { key: ['steps', step.id, 'medium', '*'], secret: false, attestation: false, description: "folder on the custodian's own medium where their custodian file is written (one per custodian name)" },
    { key: ['steps', step.id, 'passphrase', '*'], secret: true, attestation: false, description: "the custodian's new passphrase, typed twice (one per custodian name; rehearsals only)" },
    { key: ['token', 'so-pin'], secret: true, attestation: false, description: "the security officer's PIN, to set the user PIN" },
  ],
  async precondition(ctx) {
    const custodians = holders(ctx.site, 'custodian');
    if (custodians.length !== ctx.script.quorum.n) {
      throw new CoreError('ERR_CEREMONY_ROLE_MISSING', `the quorum has N = ${ctx.script.quorum.n} custodians, but the site file lists ${custodians.length} participant(s) with the role 'custodian'`);
    }
    if (ctx.hsm.token() === undefined) throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `token '${ctx.hsm.selector().label}' is not present; it is initialised by token-init before the enrollment`);
    if (ctx.ca().currentRoster() !== undefined) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} already has a current quorum; a root ceremony enrols the first one (custodians change through a rotation)`);
    }
  },
  async execute(ctx) {
    const session = ctx.hsm.session();
    const custodians = holders(ctx.site, 'custodian');
    const { m, n } = ctx.script.quorum;
    const enrollment = await QuorumEnrollment.start({
      ceremony: ctx.ceremony.id,
      threshold: m,
      total: n,
      now: ctx.now(),
      // Unpredictable if either the host CSPRNG or the token's RNG is sound.
      random: mixedRandom((k) => randomBytes(k), (k) => session.random(k)),
      kdf: { N: 2 ** ctx.params['scrypt-log2n'], r: 8, p: 1 },
    });
    const files: Array<{ name: string; shareIndex: number; file: string; fileSha256: string; approvalKeySha256: string }> = [];
    try {
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Enrolling ${n} custodians for a ${m}-of-${n} quorum (quorum id ${enrollment.quorumId}). One custodian at a time; nobody else looks at the keyboard.` });
      for (const c of custodians) {
        ctx.io.event({ type: 'display', step: ctx.step.id, message: `Custodian ${c.name}: insert your medium.` });
        const medium = await ctx.io.ask({
          kind: 'text',
          key: ctx.key('medium', c.name),
          prompt: `${c.name}: folder of your medium: `,
          validate: (a) => (isAbsolute(a) ? undefined : 'give an absolute path (the mounted medium)'),
        });
        const passphrase = await ctx.io.askSecret({ kind: 'secret', key: ctx.key('passphrase', c.name), prompt: `${c.name}: new passphrase: `, confirm: true, minLength: 12 });
        const confirmation = passphrase.clone();
        let text: string;
        try {
          const file = await enrollment.addCustodian({ name: c.name, passphrase, confirmation });
          text = serializeCustodianFile(file);
          const path = join(medium, `neam-custodian-${slug(c.name)}-${enrollment.quorumId.slice(0, 8)}.json`);
          writeFileExclusive(path, text, 0o600);
          // Read back from the medium before the next custodian comes forward.
          if (readFileSync(path, 'utf8') !== text) throw new CoreError('ERR_IO', `reading back ${path} gave different bytes; the medium is faulty`);
          files.push({ name: file.custodian, shareIndex: file.shareIndex, file: path, fileSha256: sha256Hex(text), approvalKeySha256: file.approvalKey.sha256 });
          ctx.io.event({ type: 'display', step: ctx.step.id, message: `Custodian file of ${c.name} written to ${path} and read back. Approval key SHA-256: ${file.approvalKey.sha256}` });
        } finally {
          passphrase.wipe();
          confirmation.wipe();
        }
      }
    } catch (e) {
      enrollment.abort();
      throw e;
    }
    const { roster, pin } = enrollment.finish();
    try {
      const digest = rosterDigest(roster);
      ctx.files.write(ctx.params.roster, serializeRoster(roster));
      ctx.ca().quorum.addRoster(roster, 'current', ctx.now());
      ctx.ca().setFact('quorum.ceremony', roster.ceremony, ctx.ceremony.id, ctx.now());
      // Set the user PIN to the activation secret (C_InitPIN after an SO login).
      const so = await ctx.io.askSecret({ kind: 'secret', key: ['token', 'so-pin'], prompt: `Security-officer PIN of token '${session.token.label}' (to set the custodians' PIN): ` });
      try {
        if (session.loggedIn) session.logout();
        session.login(so, 'so');
        session.initUserPin(pin);
        session.logout();
      } finally {
        so.wipe();
      }
      ctx.hsm.holdPin(pin.clone());
      const result = { quorumId: roster.quorumId, generation: roster.generation, threshold: m, total: n, rosterSha256: digest, rosterWords: digestWords(digest), roster: ctx.params.roster, custodians: files };
      ctx.record('quorum.enrolled', { quorumId: roster.quorumId, threshold: m, total: n, rosterSha256: digest, custodians: files.map((f) => ({ name: f.name, shareIndex: f.shareIndex, approvalKeySha256: f.approvalKeySha256, fileSha256: f.fileSha256 })) });
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Quorum enrolled. Roster SHA-256 (read aloud):\n    ${digest}\n${formatDigestWords(digest).split('\n').map((l) => `    ${l}`).join('\n')}\nThe token's user PIN is now the activation secret: it opens with ${m} of the ${n} custodians.`, data: { rosterSha256: digest } });
      return { result };
    } finally {
      pin.wipe();
    }
  },
  async reconcile(ctx, record) {
    if (record.status !== 'started') {
      const roster = ctx.ca().currentRoster();
      if (roster === undefined || rosterDigest(roster) !== record.result?.['rosterSha256']) {
        throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `the CA folder's current quorum is not the one this ceremony enrolled (roster SHA-256 ${String(record.result?.['rosterSha256'])})`);
      }
      return { kind: 'verified' };
    }
    const roster = ctx.ca().currentRoster();
    if (roster === undefined || roster.ceremony !== ctx.ceremony.id) {
      // Nothing was recorded, so the token PIN was never set to a split: enrol again.
      return { kind: 'redo', note: 'the enrollment is done again with new shares; custodian files written by the interrupted attempt open nothing and should be destroyed' };
    }
    // The roster was recorded; the PIN may or may not have been set when the process stopped. The
    // custodians open their files: the rebuilt PIN either opens the token or is set with the SO PIN.
    const session = ctx.hsm.session();
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `The enrollment of quorum ${roster.quorumId} was recorded before the interruption. ${roster.threshold} custodians open their files to finish it.` });
    const activation = await activateWithQuorum(ctx.io, roster, session, ['activation'], {
      usePin: async (pin) => {
        try {
          session.login(pin);
        } catch (e) {
          if (!isCoreError(e, 'ERR_HSM_PIN_INCORRECT')) throw e;
          const so = await ctx.io.askSecret({ kind: 'secret', key: ['token', 'so-pin'], prompt: `Security-officer PIN of token '${session.token.label}' (to finish setting the custodians' PIN): ` });
          try {
            session.login(so, 'so');
            session.initUserPin(pin);
            session.logout();
          } finally {
            so.wipe();
          }
          session.login(pin);
        }
      },
    });
    ctx.record('quorum.activated', { custodians: activation.custodians, quorumId: activation.quorumId, rosterSha256: activation.rosterSha256, reason: 'finishing an interrupted enrollment' });
    if (!ctx.files.exists(ctx.params.roster)) ctx.files.write(ctx.params.roster, serializeRoster(roster));
    else ctx.files.adopt(ctx.params.roster);
    const digest = rosterDigest(roster);
    const result = { quorumId: roster.quorumId, generation: roster.generation, threshold: roster.threshold, total: roster.custodians.length, rosterSha256: digest, rosterWords: digestWords(digest), roster: ctx.params.roster, custodians: roster.custodians.map((c) => ({ name: c.name, shareIndex: c.shareIndex, approvalKeySha256: c.approvalKey.sha256 })) };
    return { kind: 'adopt', outcome: { result }, note: `quorum ${roster.quorumId} recorded before the interruption opens the token; adopted` };
  },
};
