/**
 * @module quorum/token
 * Putting a token under the quorum: both of its PINs (the user's, which signs, and the security
 * officer's, which can reset the user PIN with C_InitPIN) become PINs derived from the activation
 * secret, so nobody but M custodians can use or reset the root key. A fresh token is initialised
 * with temporary random PINs that exist only in memory ({@link initTokenWithTemporaryPins}); the
 * enrolment then replaces them ({@link setQuorumPins}).
 *
 * Order for safety: logged in as SO with the PIN being replaced, the SO PIN is changed first
 * (C_SetPIN), then the user PIN is set (C_InitPIN). From the SO change on, the quorum alone
 * controls the token, and if the user PIN step fails, M custodians finish it with
 * `ActivationSession.repairUserPin`. Both new PINs are proven by logging in with them.
 *
 * Must never: write, log or return a PIN other than as a {@link Secret} the caller wipes, or
 * leave the session logged in as security officer.
 */
import { randomBytes } from 'node:crypto';

import { CoreError } from '../errors.ts';
import type { HsmModule, HsmSession, TokenInfo } from '../hsm/types.ts';
import { Secret } from '../util/secret.ts';
import type { RandomSource } from './custodian-file.ts';
import { base64urlBytes } from './shares.ts';

/** A random PIN (32 bytes, unpadded base64url) that exists only in memory. */
function randomPin(random: RandomSource): Secret {
  const raw = random(32);
  try {
    return Secret.fromBytes(base64urlBytes(raw));
  } finally {
    raw.fill(0);
  }
}

/**
 * Initialises a free slot's token with random temporary PINs that are never written anywhere, for
 * a quorum enrolment that replaces them at once (`QuorumEnrollment.commitToToken`). The temporary
 * user PIN is wiped before returning; the temporary SO PIN is returned for the enrolment, and the
 * caller wipes it after the enrolment. If the process stops before the enrolment, the token is
 * unusable (nobody knows its PINs): initialise another one.
 * @throws {CoreError} ERR_HSM_TOKEN_EXISTS, ERR_HSM_TOKEN_NOT_PRESENT, ERR_HSM_* from C_InitToken
 */
export function initTokenWithTemporaryPins(hsm: HsmModule, label: string, random: RandomSource = (n) => randomBytes(n)): { token: TokenInfo; temporarySoPin: Secret } {
  const so = randomPin(random);
  const user = randomPin(random);
  try {
    const token = hsm.initToken(label, so, user);
    return { token, temporarySoPin: so };
  } catch (e) {
    so.wipe();
    throw e;
  } finally {
    user.wipe();
  }
}

/** Progress of {@link setQuorumPins}, for the caller's error handling. */
export interface PinChangeState {
  /** The SO PIN is now the quorum's (the new custodian files are the only way in). */
  soPinChanged: boolean;
  /** The user PIN is now the quorum's. */
  userPinChanged: boolean;
}

/**
 * Logged in as security officer with `currentSoPin`, changes the SO PIN to `soPin` (C_SetPIN) and
 * sets the user PIN to `userPin` (C_InitPIN), logs out, and proves both by logging in with them.
 * `state` is updated as each step succeeds. The session is left logged out.
 * @throws {CoreError} ERR_HSM_PIN_INCORRECT (the current SO PIN is wrong: nothing changed),
 *   ERR_HSM_FAILED (a new PIN was accepted but does not log in), ERR_HSM_* from the token
 */
export function setQuorumPins(session: HsmSession, pins: { currentSoPin: Secret; userPin: Secret; soPin: Secret }, state: PinChangeState): void {
  if (session.loggedIn) session.logout();
  session.login(pins.currentSoPin, 'so');
  try {
    session.setPin(pins.currentSoPin, pins.soPin);
    state.soPinChanged = true;
    session.initUserPin(pins.userPin);
    state.userPinChanged = true;
  } finally {
    session.logout();
  }
  // Prove both PINs now, while everyone is still in the room.
  for (const [pin, who] of [[pins.userPin, 'user'], [pins.soPin, 'so']] as const) {
    try {
      session.login(pin, who);
      session.logout();
    } catch (e) {
      throw new CoreError('ERR_HSM_FAILED', `the token accepted the new ${who === 'so' ? 'security officer' : 'user'} PIN but refused a login with it; keep the new custodian files and investigate the token`, { cause: e });
    }
  }
}
