/**
 * @module ceremony/actions/token-init
 * Step action `token-init`: initialises the ceremony's token (label from the site file) in a free
 * slot, sets its SO PIN and user PIN, and binds the ceremony to the new token's serial. With
 * `quorum.activation: token-pin` the PINs are typed (twice, without echo) at the workstation; with
 * `shares` only the security officer's PIN is typed: the user PIN is set to a random value nobody
 * sees, replaced by custodian enrollment (the next step) with the activation secret split among
 * the custodians. A crash in between never loses the token: the SO PIN re-runs the enrollment.
 * After a crash, a token that exists with the label was created by this step (the precondition
 * proved the label free): it is adopted once the PIN opens it.
 *
 * Must never: initialise over an existing token, or keep a PIN anywhere but in a wiped `Secret`.
 */
import { z } from 'zod';

import { CoreError, isCoreError } from '../../errors.ts';
import type { TokenInfo } from '../../hsm/types.ts';
import { randomBytes } from 'node:crypto';

import { Secret } from '../../util/secret.ts';
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

/** `token-init`. */
export const tokenInit: ActionDefinition<Params> = {
  summary: "initialise the ceremony's token (label from the site file) and set its PINs; binds the ceremony to the token's serial",
  ceremonyTypes: ['root'],
  params,
  pointOfNoReturn: false,
  hsm: 'module',
  plan: () => ({ outputs: [], keyLabels: [], references: [], createsToken: true }),
  questions: (_p, _step, script) => [
    { key: ['token', 'so-pin'], secret: true, attestation: false, description: "the new security officer's PIN (kept by the security officer; custodian enrollment needs it again)" },
    ...(script.quorum.activation === 'token-pin' ? [{ key: ['token', 'user-pin'], secret: true, attestation: false, description: 'the new user PIN; also used to log in again after a crash (token-pin activation)' }] : []),
  ],
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
    const so = await newPin(ctx, 'so');
    let user: Secret;
    const shares = ctx.script.quorum.activation === 'shares';
    try {
      // With shares the user PIN is replaced by the enrollment; until then nobody knows it.
      user = shares ? Secret.fromBytes(Buffer.from(randomBytes(32).toString('base64url'))) : await newPin(ctx, 'user');
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
    if (shares) user.wipe();
    else ctx.hsm.holdPin(user);
    ctx.hsm.bindToken(token);
    ctx.io.event({ type: 'display', step: ctx.step.id, message: `Token '${token.label}' initialised: serial ${token.serial} (${token.manufacturer} ${token.model}). Record the serial in the site file for later ceremonies.`, data: { serial: token.serial } });
    return describe(token);
  },
  async reconcile(ctx, record) {
    const found = presentWithLabel(ctx);
    if (record.status !== 'started') {
      const serial = typeof record.result?.['serial'] === 'string' ? record.result['serial'] : undefined;
      if (!found.some((t) => t.serial === serial)) {
        throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `this ceremony initialised token '${ctx.hsm.selector().label}' with serial ${serial ?? '?'}, but no such token is present now. Connect that token (the site file's module and label), then resume`);
      }
      return { kind: 'verified' };
    }
    if (found.length === 0) return { kind: 'redo', note: 'the token had not been initialised before the interruption' };
    if (found.length > 1) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `${found.length} tokens are labelled '${ctx.hsm.selector().label}'; cannot tell which one this ceremony initialised`);
    const token = found[0]!;
    ctx.hsm.bindToken(token);
    if (ctx.script.quorum.activation === 'shares') {
      // The user PIN is set by the enrollment that follows; prove the SO PIN opens the token.
      const so = await ctx.io.askSecret({ kind: 'secret', key: ['token', 'so-pin'], prompt: `Security-officer PIN of token '${token.label}': ` });
      const session = ctx.hsm.session();
      try {
        session.login(so, 'so');
        session.logout();
      } catch (e) {
        if (isCoreError(e, 'ERR_HSM_PIN_INCORRECT')) throw new CoreError('ERR_CEREMONY_RECONCILE_FAILED', `token '${token.label}' (serial ${token.serial}) exists but the SO PIN given does not open it, so it cannot be adopted. Resume with the SO PIN chosen before the interruption, or abort`, { cause: e });
        throw e;
      } finally {
        so.wipe();
      }
      return { kind: 'adopt', outcome: describe(token), note: `token '${token.label}' (serial ${token.serial}) was initialised before the interruption and opens with the SO PIN; adopted` };
    }
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
