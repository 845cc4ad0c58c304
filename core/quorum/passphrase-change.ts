/**
 * @module quorum/passphrase-change
 * A custodian changes their own passphrase, alone, on their own machine: the file is opened with
 * the old passphrase, and the same share and approval key are sealed again under the new one (new
 * salt, new nonces) and re-signed. The roster does not change: the share, its commitment and the
 * approval key stay the same, so the new file is checked exactly like the old one.
 *
 * Must never: change the share, the key or any public field; or write the new file before the old
 * passphrase was proven.
 */
import { checkNewPassphrase } from './passphrase.ts';
import { custodianFileHeader, normalizeApprovalKeySha256, openCustodianFile, sealCustodianFile, type CustodianFile, type RandomSource } from './custodian-file.ts';
import { checkCustodianFile, type Roster } from './roster.ts';
import type { ScryptParams } from './seal.ts';
import type { Secret } from '../util/secret.ts';

/**
 * Re-seals a custodian file under a new passphrase. With `roster` or `approvalKeySha256`, the file
 * is first checked against it (pinned key); without, only against the key the file names. The new
 * file uses the production scrypt cost unless `kdf` says otherwise.
 * @throws {CoreError} ERR_QUORUM_SHARE_TAMPERED, ERR_QUORUM_SHARE_FOREIGN, ERR_QUORUM_PASSPHRASE_INCORRECT,
 *   ERR_QUORUM_PASSPHRASE_MISMATCH, ERR_QUORUM_PASSPHRASE_WEAK, ERR_QUORUM_PARAMS_INVALID
 */
export async function changeCustodianPassphrase(input: {
  file: CustodianFile;
  oldPassphrase: Secret;
  newPassphrase: Secret;
  confirmation: Secret;
  random: RandomSource;
  kdf?: ScryptParams;
  roster?: Roster;
  /** The custodian's approval-key fingerprint printed at enrolment (checked like the roster). */
  approvalKeySha256?: string;
}): Promise<CustodianFile> {
  const { file } = input;
  if (input.roster !== undefined) checkCustodianFile(input.roster, file);
  if (input.approvalKeySha256 !== undefined) normalizeApprovalKeySha256(input.approvalKeySha256);
  checkNewPassphrase(input.newPassphrase, input.confirmation, file.custodian);
  const trust = { ...(input.roster === undefined ? {} : { roster: input.roster }), ...(input.approvalKeySha256 === undefined ? {} : { approvalKeySha256: input.approvalKeySha256 }) };
  const opened = await openCustodianFile(file, input.oldPassphrase, { share: true, approvalKey: true }, undefined, trust);
  try {
    const { approvalKey: _k, ...header } = custodianFileHeader(file);
    return await sealCustodianFile({
      header,
      share: opened.share as Secret,
      approvalKey: opened.approvalKey as NonNullable<typeof opened.approvalKey>,
      passphrase: input.newPassphrase,
      random: input.random,
      ...(input.kdf === undefined ? {} : { kdf: input.kdf }),
    });
  } finally {
    opened.share?.wipe();
  }
}
