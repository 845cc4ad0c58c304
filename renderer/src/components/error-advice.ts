/**
 * @module renderer/components/error-advice
 * What to do after a failure, by stable error code (never by message text). The message from the
 * main side already says what was wrong; this adds the next step in the room.
 *
 * Must never: match on message text.
 */
import type { IpcError } from '../api/api.ts';

const ADVICE: Partial<Record<IpcError['code'], string>> = {
  ERR_HSM_PIN_INCORRECT: 'Enter the PIN again, slowly. Every wrong PIN counts towards locking the token; the token list shows when only one try is left.',
  ERR_HSM_PIN_LOCKED: 'Stop here. The user PIN is locked; unlocking it needs the security officer and is a ceremony step of its own.',
  ERR_HSM_PIN_INVALID: 'Enter the PIN again: it has a length or characters the token does not accept.',
  ERR_HSM_TOKEN_NOT_PRESENT: 'Check that the token is inserted and connected, then press Refresh.',
  ERR_HSM_TOKEN_AMBIGUOUS: 'Two tokens carry this label. Remove the one not used in this ceremony, then press Refresh.',
  ERR_HSM_MODULE_NOT_FOUND: 'Install the PKCS#11 library of the HSM, or restart the workstation with --module pointing at it.',
  ERR_HSM_MODULE_INIT_FAILED: 'Restart the workstation. If it happens again, check the HSM connection and its configuration.',
  ERR_HSM_DEVICE_ERROR: 'Check the HSM connection, then press Refresh. Do not continue the ceremony until the token answers normally.',
  ERR_SECRET_INVALID: 'Enter the secret again.',
  ERR_NOT_FOUND: 'Reload the list: the item may have been moved or removed.',
  ERR_INPUT_TOO_LARGE: 'Check that you chose the right file.',
  ERR_INPUT_INVALID: 'Check that you chose the right file.',
  ERR_APP_FORBIDDEN: 'Open the workstation again from the address its host printed (browser mode), or restart the desktop app.',
  ERR_APP_HOST_UNAVAILABLE: 'Check that the workstation host is still running (browser mode: the terminal running npm run app:browser), then try again.',
  ERR_APP_REQUEST_INVALID: 'Restart the workstation and report this defect with its code.',
  ERR_INTERNAL: 'Write down the code and the time, and report it as a defect. Do not continue with an irreversible step until it is understood.',
};

/** The next step for an error code. */
export function adviceFor(code: string): string {
  return ADVICE[code as IpcError['code']] ?? 'Read the message above: it says what was wrong and what to do. If it is unclear, stop and ask the ceremony administrator.';
}
