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
  ERR_QUORUM_PASSPHRASE_INCORRECT: 'The custodian types their passphrase again, slowly (the file itself is intact). After five wrong entries the ceremony stops at this step; it can be resumed.',
  ERR_QUORUM_PASSPHRASE_WEAK: 'Choose a longer passphrase: a few unrelated words, at least 12 characters, not your name. Type it twice.',
  ERR_QUORUM_PASSPHRASE_MISMATCH: 'The two entries differ: type the new passphrase twice, identically.',
  ERR_QUORUM_SHARE_FOREIGN: 'This custodian file is not the right one (another custodian, another ceremony or a retired quorum). The custodian inserts their own medium and gives the path of their own file.',
  ERR_QUORUM_SHARE_TAMPERED: 'Do not use this file: it was changed since enrollment. Set it aside as evidence, and use the custodian’s backup copy or continue with another custodian.',
  ERR_QUORUM_SHARE_DUPLICATE: 'This share was already entered: each custodian counts once. The next custodian gives their own file.',
  ERR_QUORUM_CUSTODIAN_FILE_INVALID: 'This is not a custodian file. Check the path: give the custodian file itself, or the folder of the medium that holds it.',
  ERR_QUORUM_APPROVAL_DECLINED: 'A custodian declined: nothing was signed, and the decline stands for this request (resuming cannot collect around it). Hear the objection; abort the ceremony, and once the objection is resolved prepare a new request in a new ceremony.',
  ERR_QUORUM_NOT_MET: 'Not enough valid approvals or shares: bring more custodians, then resume.',
  ERR_CEREMONY_SCRIPT_INVALID: 'Fix the script (every problem is listed with its path and line) and have the change reviewed; it must match the review record.',
  ERR_CEREMONY_SITE_INVALID: 'Fix the site file (every problem is listed with its path and line), then choose it again.',
  ERR_CEREMONY_ROLE_MISSING: 'The site file must list the people the script requires: fix it, then choose it again.',
  ERR_CEREMONY_CLOCK_REJECTED: 'Set the workstation clock from the reference clock, then resume the ceremony to repeat the check.',
  ERR_CEREMONY_NOT_AIR_GAPPED: 'Take the named network interfaces down (or unplug them), then resume.',
  ERR_CEREMONY_PAST_POINT_OF_NO_RETURN: 'This ceremony can no longer be aborted: resume it and finish it.',
  ERR_CEREMONY_STATE_INVALID: 'Read the message: the ceremony record or CA folder is not in the state this needs. Do not continue until it is understood.',
  ERR_CEREMONY_RECONCILE_FAILED: 'Stop. The token or the ceremony folder no longer matches the record (a swapped token or a changed file). Investigate before resuming.',
  ERR_CEREMONY_SCRIPT_CHANGED: 'The script or site copy in the ceremony folder changed: restore it from the review record; a running ceremony never changes its plan.',
  ERR_CEREMONY_OUTPUT_EXISTS: 'Outputs are never overwritten: move the existing file away (and note why), then resume.',
  ERR_CEREMONY_KEY_LABEL_EXISTS: 'The token already holds a key with a label this script creates: use a fresh token, or review the script.',
  ERR_HSM_TOKEN_EXISTS: 'A token with this label exists already: a rehearsal of the root ceremony needs a fresh rehearsal folder (delete <output-dir>/rehearsal), a live one a fresh token.',
  ERR_APP_STOPPED: 'The ceremony was stopped at the workstation. Resume it when everyone is ready: it continues from this step.',
  ERR_APP_STATE_INVALID: 'Read the message: it says what has to happen first.',
  ERR_IO: 'Check the path and the medium (inserted, mounted, writable), then try again.',
  ERR_INTERNAL: 'Write down the code and the time, and report it as a defect. Do not continue with an irreversible step until it is understood.',
};

/** The next step for an error code. */
export function adviceFor(code: string): string {
  return ADVICE[code as IpcError['code']] ?? 'Read the message above: it says what was wrong and what to do. If it is unclear, stop and ask the ceremony administrator.';
}
