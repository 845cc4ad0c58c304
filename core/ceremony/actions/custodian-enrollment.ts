/**
 * @module ceremony/actions/custodian-enrollment
 * Step action `custodian-enrollment` (core/quorum): creates the random activation secret (host
 * CSPRNG mixed with the token's RNG), splits it M-of-N, and enrols the custodians (the site file's
 * participants holding the `custodian` role) one at a time: each types a new passphrase twice and
 * receives a custodian file on their own medium (their share and a new approval key, sealed under
 * the passphrase, bound to this ceremony), read back and opened again before the next one. Then
 * the roster (public) is written and recorded as the CA's *pending* quorum, and the token is put
 * under the quorum (`QuorumEnrollment.commitToToken`): logged in as security officer with the
 * temporary SO PIN `token-init` left in this run's memory, its SO PIN is changed to one derived
 * from the secret, its user PIN set to another, both proven; the roster becomes *current*, its
 * SHA-256 is read aloud, and the session stays logged in as user for the next steps. Nobody ever
 * sees either PIN; from here on the token opens only with M custodians (security review H1).
 *
 * Crash points and how `resume` continues (see docs/ceremony-runner.md):
 * - before the roster was recorded, or recorded but the SO PIN never changed: the token's
 *   temporary PINs died with the process, so it is unusable; the resume says how to reset that
 *   (empty) token, then this step initialises it again and enrols again (new quorum id: files of
 *   the interrupted attempt open nothing);
 * - SO PIN changed, user PIN not yet: M custodians finish with `repairUserPin`; adopted;
 * - both PINs changed: M custodians open the token; adopted.
 *
 * Must never: show, log or store the activation secret, a share, a PIN or a passphrase; change a
 * token PIN before every custodian file and the roster are written.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';

import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import type { HsmSession, TokenInfo } from '../../hsm/types.ts';
import { activateWithQuorum } from '../quorum-io.ts';
import { digestWords, formatDigestWords, initTokenWithTemporaryPins, mixedRandom, QuorumEnrollment, rosterDigest, serializeCustodianFile, serializeRoster, type Roster, type RosterStatus } from '../../quorum/index.ts';
import { writeFileExclusive } from '../../util/fs-atomic.ts';
import type { Secret } from '../../util/secret.ts';
import { holders } from '../site.ts';
import { outputName, sha256Hex } from './common.ts';
import { custodiansAtLeast, needsShares } from './quorum-checks.ts';
import { resetAdvice } from './token-init.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({
  /** scrypt cost of the custodian files as log2(N) (17 = 128 MiB per unlock; 14 only for tests). */
  'scrypt-log2n': z.number().int().min(14).max(20).default(17),
  roster: outputName.default('roster.json'),
});
type Params = z.infer<typeof params>;

function slug(name: string): string {
  return name.normalize('NFKD').replace(/[^A-Za-z0-9]+/gu, '-').replace(/^-|-$/gu, '').toLowerCase() || 'custodian';
}

/** Tokens with the ceremony's label (initialised). */
function labelled<P>(ctx: StepContext<P>): TokenInfo[] {
  const label = ctx.hsm.selector().label;
  return ctx.hsm
    .module()
    .tokens()
    .filter((t) => t.initialized && t.label === label);
}

/**
 * Rehearsal crash injection between the SO PIN change (C_SetPIN) and the user PIN (C_InitPIN)
 * inside `commitToToken` (`NEAM_CA_FAILPOINT=<step>:after-so-pin-change`).
 */
function crashAfterSetPin(session: HsmSession, crash: () => void): HsmSession {
  return new Proxy(session, {
    get(target, prop) {
      const value = Reflect.get(target, prop) as unknown;
      if (typeof value !== 'function') return value;
      const fn = (value as (...a: unknown[]) => unknown).bind(target);
      return prop === 'setPin'
        ? (...args: unknown[]) => {
            const r = fn(...args);
            crash();
            return r;
          }
        : fn;
    },
  });
}

/** The rosters this ceremony recorded that are not abandoned (at most one is expected). */
function liveRosters<P>(ctx: StepContext<P>): Array<{ roster: Roster; status: RosterStatus }> {
  return ctx
    .ca()
    .quorum.rostersOf(ctx.ceremony.id)
    .filter((r) => r.status === 'pending' || r.status === 'current');
}

function resultOf(ctx: StepContext<Params>, roster: Roster, custodians: Array<Record<string, string | number>>): StepOutcome {
  const digest = rosterDigest(roster);
  return {
    result: { quorumId: roster.quorumId, generation: roster.generation, threshold: roster.threshold, total: roster.custodians.length, pins: ['user', 'so'], rosterSha256: digest, rosterWords: digestWords(digest), roster: ctx.params.roster, custodians },
  };
}

/** `custodian-enrollment`. */
export const custodianEnrollment: ActionDefinition<Params> = {
  summary: "split the token's activation secret M-of-N; seal each custodian's share and new approval key under their passphrase onto their own medium; replace the token's temporary SO PIN and its user PIN with PINs derived from the secret",
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
  ],
  async precondition(ctx) {
    const custodians = holders(ctx.site, 'custodian');
    if (custodians.length !== ctx.script.quorum.n) {
      throw new CoreError('ERR_CEREMONY_ROLE_MISSING', `the quorum has N = ${ctx.script.quorum.n} custodians, but the site file lists ${custodians.length} participant(s) with the role 'custodian'`);
    }
    if (ctx.ca().currentRoster() !== undefined) {
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder ${ctx.ceremony.caHome} already has a current quorum; a root ceremony enrols the first one (custodians change through a rotation)`);
    }
    if (ctx.hsm.temporarySoPin() !== undefined) {
      if (ctx.hsm.token() === undefined) throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `token '${ctx.hsm.selector().label}' is not present; it was initialised by token-init in this run: reconnect it`);
      return;
    }
    // This run did not initialise the token (a new run after an interruption or a failure): the
    // temporary PINs token-init chose existed only in the earlier process.
    const present = labelled(ctx);
    if (present.length > 0) {
      const t = present[0]!;
      throw new CoreError(
        'ERR_CEREMONY_RECONCILE_FAILED',
        `token '${t.label}' (serial ${t.serial}) was initialised with temporary PINs by an earlier run of this ceremony, which ended before the custodian enrollment replaced them: nobody knows its PINs, so it can never be put under the quorum. To continue, ${resetAdvice(ctx, t)}`,
        { details: { label: t.label, serial: t.serial } },
      );
    }
    if (!ctx.hsm.module().tokens().some((t) => !t.initialized)) {
      throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `no uninitialised token slot is available in ${ctx.hsm.module().modulePath} to initialise '${ctx.hsm.selector().label}' again`);
    }
  },
  async execute(ctx) {
    let temporarySoPin: Secret | undefined = ctx.hsm.temporarySoPin();
    if (temporarySoPin === undefined) {
      // After an interruption the reset token is initialised again (the precondition proved the
      // label free), with temporary PINs held in this run's memory only.
      const previousSerial = ctx.hsm.selector().serial ?? null;
      const { token, temporarySoPin: fresh } = initTokenWithTemporaryPins(ctx.hsm.module(), ctx.hsm.selector().label);
      ctx.hsm.bindToken(token);
      ctx.hsm.holdTemporarySoPin(token.serial, fresh);
      temporarySoPin = fresh;
      ctx.record('token.initialised-again', { label: token.label, serial: token.serial, previousSerial, reason: 'the temporary PINs of the token initialised earlier were lost with an interrupted run' });
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Token '${token.label}' initialised again: serial ${token.serial} (it replaces serial ${previousSerial ?? '?'}; record the new serial in the site file). Its temporary PINs exist only in this process.`, data: { serial: token.serial } });
    }
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
    try {
      const files: Array<{ name: string; shareIndex: number; file: string; fileSha256: string; approvalKeySha256: string }> = [];
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
        try {
          const file = await enrollment.addCustodian({ name: c.name, passphrase, confirmation });
          const text = serializeCustodianFile(file);
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
      // Every custodian file and the roster exist before any PIN changes: afterwards they are the
      // only way into the token. The roster is pending until the token accepted the new PINs.
      const roster = enrollment.roster();
      const digest = rosterDigest(roster);
      const ca = ctx.ca();
      ctx.files.write(ctx.params.roster, serializeRoster(roster));
      ca.setFact('quorum.ceremony', roster.ceremony, ctx.ceremony.id, ctx.now());
      ca.quorum.addRoster(roster, 'pending', ctx.now());
      ctx.failpoint('before-pin-change');
      const pinSession = ctx.failpointArmed('after-so-pin-change') ? crashAfterSetPin(session, () => ctx.failpoint('after-so-pin-change')) : session;
      try {
        await enrollment.commitToToken(pinSession, { temporarySoPin, loginAsUser: true });
      } catch (e) {
        // Before the SO PIN changed nothing on the token moved: this quorum is void. After it, the
        // quorum owns the SO PIN: the roster stays pending and the resume repairs the user PIN.
        if (!enrollment.soPinChanged) ca.quorum.abandon(roster.quorumId, ctx.now());
        throw e;
      }
      ctx.hsm.dropTemporarySoPin();
      ca.quorum.makeCurrent(roster.quorumId, ctx.now());
      ctx.record('quorum.enrolled', { quorumId: roster.quorumId, threshold: m, total: n, pins: ['user', 'so'], rosterSha256: digest, token: { label: session.token.label, serial: session.token.serial }, custodians: files.map((f) => ({ name: f.name, shareIndex: f.shareIndex, approvalKeySha256: f.approvalKeySha256, fileSha256: f.fileSha256 })) });
      ctx.io.event({
        type: 'display',
        step: ctx.step.id,
        message: `Quorum enrolled. Roster SHA-256 (read aloud):\n    ${digest}\n${formatDigestWords(digest)
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n')}\nThe token's user PIN and security-officer PIN are now derived from the activation secret (the temporary PINs open nothing): it opens with ${m} of the ${n} custodians.`,
        data: { rosterSha256: digest },
      });
      return resultOf(ctx, roster, files);
    } finally {
      enrollment.abort();
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
    const live = liveRosters(ctx);
    if (live.length > 1) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `the CA folder records ${live.length} unfinished quorums of this ceremony (${live.map((r) => `${r.roster.quorumId} ${r.status}`).join(', ')}); expected at most one`);
    const redo = { kind: 'redo' as const, note: "the token's PINs had not been handed to a quorum: the token initialised with temporary PINs is reset and initialised again, and the custodians enrol again with new shares; custodian files written by the interrupted attempt open nothing and should be destroyed" };
    if (live.length === 0) return redo;
    const { roster, status } = live[0]!;
    const session = ctx.hsm.session();
    if (session.loggedIn) session.logout();
    if (status === 'current') {
      // The token accepted both PINs and the roster became current; only the step record is missing.
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `The enrollment of quorum ${roster.quorumId} finished before the interruption. ${roster.threshold} custodians open their files to prove it.` });
      const activation = await activateWithQuorum(ctx.io, roster, session, ['activation']);
      ctx.record('quorum.activated', { custodians: activation.custodians, quorumId: activation.quorumId, rosterSha256: activation.rosterSha256, reason: 'finishing an interrupted enrollment' });
    } else {
      // Recorded as pending just before commitToToken: the SO PIN may or may not be the quorum's.
      // The quorum's SO PIN sets the user PIN (repairUserPin): if the token refuses that SO PIN,
      // the temporary one was never replaced and the quorum is void.
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `The enrollment of quorum ${roster.quorumId} was interrupted while the token's PINs were being replaced. ${roster.threshold} custodians open their files: the quorum's security-officer PIN then sets the user PIN.` });
      try {
        const activation = await activateWithQuorum(ctx.io, roster, session, ['activation'], { repairUserPin: true });
        ctx.record('quorum.activated', { custodians: activation.custodians, quorumId: activation.quorumId, rosterSha256: activation.rosterSha256, reason: 'finishing an enrollment interrupted after the SO PIN change (user PIN set by the quorum)' });
      } catch (e) {
        if (!isCoreError(e, 'ERR_HSM_PIN_INCORRECT')) throw e;
        ctx.ca().quorum.abandon(roster.quorumId, ctx.now());
        ctx.record('quorum.abandoned', { quorumId: roster.quorumId, rosterSha256: rosterDigest(roster), reason: "the token refused the quorum's SO PIN: the interruption came before the SO PIN change" });
        return redo;
      }
      ctx.ca().quorum.makeCurrent(roster.quorumId, ctx.now());
    }
    const text = serializeRoster(roster);
    if (!ctx.files.exists(ctx.params.roster)) ctx.files.write(ctx.params.roster, text);
    else if (readFileSync(ctx.files.path(ctx.params.roster), 'utf8') !== text) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${ctx.files.path(ctx.params.roster)} is not the roster of quorum ${roster.quorumId} recorded in the CA folder; move it away and resume`);
    else ctx.files.adopt(ctx.params.roster);
    const outcome = resultOf(ctx, roster, roster.custodians.map((c) => ({ name: c.name, shareIndex: c.shareIndex, approvalKeySha256: c.approvalKey.sha256 })));
    return { kind: 'adopt', outcome, note: `quorum ${roster.quorumId} holds both token PINs and opens the token; adopted` };
  },
};
