/**
 * @module ceremony/actions/token-init
 * Step action `token-init`: initialises the ceremony's token (label from the site file) in a free
 * slot and binds the ceremony to the new token's serial. With `quorum.activation: token-pin` the
 * security officer and the user type their PINs (twice, without echo). With `shares` nobody
 * chooses or sees a PIN: the token is initialised with random temporary PINs that exist only in
 * this process (core/quorum `initTokenWithTemporaryPins`); the runner holds the temporary SO PIN in
 * memory for the custodian enrollment that follows, which replaces both PINs with PINs derived from
 * the custodians' split secret (security review H1: whoever knew an SO PIN could otherwise set a
 * user PIN and bypass the quorum).
 *
 * After a crash: with `token-pin`, a token that exists with the label was created by this step
 * (the precondition proved the label free) and is adopted once the PIN opens it. With `shares`,
 * such a token's temporary PINs died with the interrupted process: nobody can ever put it under
 * the quorum, so the resume stops and says how to reset that (empty) token; then it is initialised
 * again. A completed step whose token had to be reset before the enrollment committed is
 * re-initialised by `custodian-enrollment`.
 *
 * Must never: initialise over an existing token, write or show a temporary PIN, or keep a PIN
 * anywhere but in a wiped `Secret`.
 */
import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import type { TokenInfo } from '../../hsm/types.ts';
import { initTokenWithTemporaryPins } from '../../quorum/index.ts';
import type { Secret } from '../../util/secret.ts';
import { rehearsalSoftHsmDir } from '../layout.ts';
import type { ActionDefinition, StepContext, StepOutcome } from './types.ts';

const params = z.strictObject({});
type Params = z.infer<typeof params>;

/** Minimum PIN length accepted for a new token (SoftHSM needs 4; real HSMs vary). */
const MIN_PIN = 8;

function describe(token: TokenInfo): StepOutcome {
  return { result: { label: token.label, serial: token.serial, manufacturer: token.manufacturer, model: token.model } };
}

function presentWithLabel(ctx: StepContext<Params>): TokenInfo[] {
  const label = ctx.hsm.selector().label;
  return ctx.hsm
    .module()
    .tokens()
    .filter((t) => t.initialized && t.label === label);
}

async function newPin(ctx: StepContext<Params>, which: 'so' | 'user'): Promise<Secret> {
  return ctx.io.askSecret({
    kind: 'secret',
    key: ['token', which === 'so' ? 'so-pin' : 'user-pin'],
    prompt: which === 'so' ? `New security-officer PIN for token '${ctx.hsm.selector().label}': ` : `New user PIN for token '${ctx.hsm.selector().label}': `,
    confirm: true,
    minLength: MIN_PIN,
  });
}

/**
 * How to reset a token whose temporary PINs were lost with an interrupted process (it holds no
 * key: keys are generated only after the enrollment put it under the quorum).
 */
export function resetAdvice<P>(ctx: StepContext<P>, token: Pick<TokenInfo, 'label' | 'serial'>): string {
  const how = ctx.ceremony.rehearsal
    ? `SOFTHSM2_CONF=${rehearsalSoftHsmDir(ctx.ceremony.caHome)}/softhsm2.conf softhsm2-util --delete-token --serial ${token.serial}`
    : "the HSM vendor's procedure to reset (re-initialise or delete) that token or partition";
  return `reset token '${token.label}' (serial ${token.serial}, empty) with ${how}, then resume: the token is initialised again and the custodians enrol again (custodian files written for it open nothing; destroy them)`;
}

/** `token-init`. */
export const tokenInit: ActionDefinition<Params> = {
  summary: "initialise the ceremony's token (label from the site file): PINs typed (token-pin) or temporary PINs only in memory, replaced by the custodian enrollment (shares); binds the ceremony to the token's serial",
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'module',
  plan: () => ({ outputs: [], keyLabels: [], references: [], createsToken: true }),
  questions: (_p, _step, script) =>
    script.quorum.activation === 'token-pin'
      ? [
          { key: ['token', 'so-pin'], secret: true, attestation: false, description: "the new security officer's PIN (kept by the security officer)" },
          { key: ['token', 'user-pin'], secret: true, attestation: false, description: 'the new user PIN; also used to log in again after a crash (token-pin activation)' },
        ]
      : [],
  async precondition(ctx) {
    const label = ctx.hsm.selector().label;
    const tokens = ctx.hsm.module().tokens();
    if (tokens.some((t) => t.initialized && t.label === label)) {
      throw new CoreError('ERR_HSM_TOKEN_EXISTS', `a token labelled '${label}' already exists in ${ctx.hsm.module().modulePath}; a root ceremony initialises a new token. Choose another hsm.token-label in the site file or remove that token first`, {
        details: { label },
      });
    }
    if (!tokens.some((t) => !t.initialized)) {
      throw new CoreError('ERR_HSM_TOKEN_NOT_PRESENT', `no uninitialised token slot is available in ${ctx.hsm.module().modulePath} to initialise '${label}'`);
    }
  },
  async execute(ctx) {
    const label = ctx.hsm.selector().label;
    if (ctx.script.quorum.activation === 'shares') {
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Initialising token '${label}' with temporary PINs that exist only in this process; the custodian enrollment replaces both…` });
      const { token, temporarySoPin } = initTokenWithTemporaryPins(ctx.hsm.module(), label);
      ctx.hsm.bindToken(token);
      ctx.hsm.holdTemporarySoPin(token.serial, temporarySoPin);
      ctx.io.event({
        type: 'display',
        step: ctx.step.id,
        message: `Token '${token.label}' initialised: serial ${token.serial} (${token.manufacturer} ${token.model}). Record the serial in the site file for later ceremonies. Nobody knows its PINs: continue with the custodian enrollment in this run (if the workstation stops before it completes, the token must be reset and initialised again).`,
        data: { serial: token.serial },
      });
      return { result: { ...describe(token).result, pins: 'temporary, in memory until the custodian enrollment' } };
    }
    const so = await newPin(ctx, 'so');
    let user: Secret;
    try {
      user = await newPin(ctx, 'user');
    } catch (e) {
      so.wipe();
      throw e;
    }
    let token: TokenInfo;
    try {
      ctx.io.event({ type: 'display', step: ctx.step.id, message: `Initialising token '${label}'…` });
      token = ctx.hsm.module().initToken(label, so, user);
    } catch (e) {
      user.wipe();
      throw e;
    } finally {
      so.wipe();
    }
    ctx.hsm.holdPin(user);
    ctx.hsm.bindToken(token);
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Token '${token.label}' initialised: serial ${token.serial} (${token.manufacturer} ${token.model}). Record the serial in the site file for later ceremonies.`, data: { serial: token.serial } });
    return describe(token);
  },
  async reconcile(ctx, record) {
    const found = presentWithLabel(ctx);
    const shares = ctx.script.quorum.activation === 'shares';
    if (record.status !== 'started') {
      const serial = typeof record.result?.['serial'] === 'string' ? record.result['serial'] : undefined;
      if (found.some((t) => t.serial === serial)) return { kind: 'verified' };
      if (shares) {
        const bound = ctx.hsm.selector().serial;
        // The enrollment initialised the token again after an interruption (recorded as token.bound).
        if (bound !== undefined && bound !== serial && found.some((t) => t.serial === bound)) return { kind: 'verified', note: `token '${ctx.hsm.selector().label}' was initialised again (serial ${bound}) by the custodian enrollment` };
        // Reset as advised after an interruption before the enrollment committed: the enrollment initialises it again.
        const committed = ctx.ca().currentRoster()?.ceremony === ctx.ceremony.id;
        if (!committed && found.length === 0) return { kind: 'verified', note: 'the token was reset before the custodian enrollment put it under the quorum; the enrollment initialises it again' };
      }
      throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `this ceremony initialised token '${ctx.hsm.selector().label}' with serial ${serial ?? '?'}, but no such token is present now. Connect that token (the site file's module and label), then resume`);
    }
    if (found.length === 0) return { kind: 'redo', note: 'the token had not been initialised before the interruption' };
    if (found.length > 1) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${found.length} tokens are labelled '${ctx.hsm.selector().label}'; cannot tell which one this ceremony initialised`);
    const token = found[0]!;
    if (shares) {
      // Created by the interrupted attempt (the precondition proved the label free), with
      // temporary PINs that existed only in that process: it can never be put under the quorum.
      throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `token '${token.label}' (serial ${token.serial}) was initialised before the interruption with temporary PINs that existed only in the stopped process, so nobody can ever use it or put it under the quorum. To continue, ${resetAdvice(ctx, token)}`, {
        details: { label: token.label, serial: token.serial },
      });
    }
    ctx.hsm.bindToken(token);
    if (!token.userPinInitialized) {
      // C_InitToken finished but the user PIN was not set: finish it with the SO PIN.
      const so = await ctx.io.askSecret({ kind: 'secret', key: ['token', 'so-pin'], prompt: `Security-officer PIN of token '${token.label}' (to finish its initialisation): ` });
      const user = await ctx.io.askSecret({ kind: 'secret', key: ['token', 'user-pin'], prompt: `User PIN chosen for token '${token.label}': `, confirm: true, minLength: MIN_PIN });
      const session = ctx.hsm.session();
      try {
        session.login(so, 'so');
        session.initUserPin(user);
        session.logout();
      } finally {
        so.wipe();
      }
      ctx.hsm.holdPin(user);
    }
    try {
      await ctx.hsm.login();
    } catch (e) {
      if (isCoreError(e, 'ERR_HSM_PIN_INCORRECT')) {
        throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `token '${token.label}' (serial ${token.serial}) exists but the PIN given does not open it, so it cannot be adopted. Resume with the PIN chosen before the interruption, or abort the ceremony`, { cause: e });
      }
      throw e;
    }
    const fresh = ctx.hsm.module().findToken({ label: token.label, serial: token.serial });
    return { kind: 'adopt', outcome: describe(fresh), note: `token '${token.label}' (serial ${token.serial}) was initialised before the interruption and opens with the PIN; adopted` };
  },
};
