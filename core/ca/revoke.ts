/**
 * @module ca/revoke
 * Recording revocations. A revocation names a certificate this CA issued (it must be in the
 * store), a reason code and a time; the next CRL of its issuer lists it. Roots and self-signed
 * certificates are not revocable here: a root leaves the trust bundles, a transfer identity is
 * un-pinned.
 *
 * Must never: revoke a certificate the store does not know, or record the same serial twice.
 */
import { CoreError } from '../errors.ts';
import { CRL_REASONS, type CrlReasonName } from '../pki/extensions.ts';
import { normalizeSerial } from '../pki/serial.ts';
import { isoSeconds, wholeSeconds } from '../pki/time.ts';
import type { CaStore, CeremonyRef, RevocationRecord } from './store.ts';

/** Reasons NEAM CA records (RFC 5280 §5.3.1 without certificateHold, removeFromCRL and aACompromise). */
export const REVOCATION_REASONS: readonly CrlReasonName[] = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'];

/** Input of {@link revokeCertificate}. */
export interface RevokeInput {
  /** Serial number (hex; colons and case are tolerated). */
  serial: string;
  reason: CrlReasonName;
  /** When the revocation takes effect (normally `now`). */
  revokedAt: Date;
  /** When the key is known or suspected to have been compromised (RFC 5280 §5.3.2). */
  invalidityDate?: Date;
  ceremony: CeremonyRef;
  /** Time of recording. */
  now: Date;
}

/**
 * Records the revocation of a certificate issued here.
 * @throws {CoreError} ERR_PKI_NOT_REVOCABLE (unknown serial, root or self-signed, already revoked),
 *   ERR_INPUT_INVALID (reason, dates), ERR_STORE_FAILED
 */
export function revokeCertificate(store: CaStore, input: RevokeInput): RevocationRecord {
  const serial = normalizeSerial(input.serial);
  if (!(REVOCATION_REASONS as readonly string[]).includes(input.reason) || !(input.reason in CRL_REASONS)) {
    throw new CoreError('ERR_INPUT_INVALID', `revocation reason '${input.reason}' is not accepted; use one of ${REVOCATION_REASONS.join(', ')}`);
  }
  const cert = store.certificate(serial);
  if (cert === undefined) throw new CoreError('ERR_PKI_NOT_REVOCABLE', `no certificate with serial ${serial} was issued by this CA (it is not in the store)`, { details: { serial } });
  if (cert.role === 'root' || cert.role === 'self-signed') {
    throw new CoreError('ERR_PKI_NOT_REVOCABLE', `certificate ${serial} ('${cert.subject}') is self-signed (${cert.role}); remove it from trust bundles or pins instead of revoking it`, { details: { serial } });
  }
  const existing = store.revocation(serial);
  if (existing !== undefined) throw new CoreError('ERR_PKI_NOT_REVOCABLE', `certificate ${serial} is already revoked (since ${existing.revokedAt}, reason ${existing.reason})`, { details: { serial } });
  const revokedAt = wholeSeconds(input.revokedAt);
  if (revokedAt.getTime() > input.now.getTime()) throw new CoreError('ERR_INPUT_INVALID', `the revocation time ${isoSeconds(revokedAt)} is in the future; revocations take effect when recorded`);
  if (input.invalidityDate !== undefined && input.invalidityDate.getTime() > revokedAt.getTime()) throw new CoreError('ERR_INPUT_INVALID', 'the invalidity date must not be after the revocation time');
  const record: RevocationRecord = {
    serial,
    issuerSpkiSha256: cert.issuerSpkiSha256,
    revokedAt: isoSeconds(revokedAt),
    reason: input.reason,
    ceremony: { ...input.ceremony, rehearsal: input.ceremony.rehearsal === true },
    recordedAt: isoSeconds(input.now),
    ...(input.invalidityDate === undefined ? {} : { invalidityDate: isoSeconds(wholeSeconds(input.invalidityDate)) }),
  };
  store.store.transaction((db) => store.insertRevocation(record, db));
  return record;
}
