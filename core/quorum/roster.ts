/**
 * @module quorum/roster
 * The quorum roster (format `neam-ca/quorum-roster`, version 1): the public record of one quorum
 * generation. It names the ceremony, a random quorum id, the generation number and the quorum id
 * it replaced, the threshold M, the commitment to the activation secret, and for each custodian
 * their name, share index, approval public key and a commitment to their share. Everything in it
 * is public; its SHA-256 over RFC 8785 JSON ({@link rosterDigest}) is what the ceremony transcript
 * records, and what custodian files and approvals are checked against.
 *
 * Must never: contain a share, a passphrase or the activation secret; or accept a custodian file
 * or approval that disagrees with it.
 */
import { z } from 'zod';

import { CoreError } from '../errors.ts';
import { canonicalJsonBytes } from '../util/canonical-json.ts';
import { custodianFileSignatureValid, isP256Spki, tampered, type CustodianFile } from './custodian-file.ts';
import { base64Bytes, ceremonyId, custodianName, isoTime, nameKey, parseDocument, quorumId, sha256, sha256Hex } from './schema.ts';
import { governsSoPin, MAX_CUSTODIANS } from './shares.ts';

/** Value of the `format` field. */
export const ROSTER_FORMAT = 'neam-ca/quorum-roster';
/** The version this code writes and reads. */
export const ROSTER_VERSION = 1;
/** Largest roster accepted. */
export const MAX_ROSTER_BYTES = 64 * 1024;

const entrySchema = z.strictObject({
  name: custodianName,
  shareIndex: z.int().min(1).max(MAX_CUSTODIANS),
  approvalKey: z.strictObject({ alg: z.literal('ECDSA-P256-SHA256'), spki: base64Bytes(91, 91), sha256: sha256Hex }),
  shareCommitment: sha256Hex,
});

/** Schema of a roster (strict). */
export const rosterSchema = z
  .strictObject({
    format: z.literal(ROSTER_FORMAT),
    version: z.literal(ROSTER_VERSION),
    ceremony: ceremonyId,
    quorumId,
    generation: z.int().min(1).max(1_000_000),
    previousQuorumId: quorumId.nullable(),
    threshold: z.int().min(2).max(MAX_CUSTODIANS),
    createdAt: isoTime,
    activationCommitment: sha256Hex,
    pin: z.union([
      // Version 1 as first published: the user PIN is the base64url of the secret; the SO PIN is not governed.
      z.strictObject({ encoding: z.literal('base64url'), secretBytes: z.literal(32) }),
      // Both PINs named in `pins` are derived from the secret with HKDF-SHA256 (docs/quorum.md).
      z.strictObject({ encoding: z.literal('base64url'), secretBytes: z.literal(32), derivation: z.literal('hkdf-sha256'), pins: z.union([z.tuple([z.literal('user')]), z.tuple([z.literal('user'), z.literal('so')])]) }),
    ]),
    custodians: z.array(entrySchema).min(2).max(MAX_CUSTODIANS),
  })
  .superRefine((r, ctx) => {
    if (r.threshold > r.custodians.length) ctx.addIssue({ code: 'custom', path: ['threshold'], message: `must not exceed the number of custodians (${r.custodians.length})` });
    const names = new Set<string>();
    const keys = new Set<string>();
    r.custodians.forEach((c, i) => {
      if (c.shareIndex !== i + 1) ctx.addIssue({ code: 'custom', path: ['custodians', i, 'shareIndex'], message: `must be ${i + 1} (share indexes are 1..N in order)` });
      if (names.has(nameKey(c.name))) ctx.addIssue({ code: 'custom', path: ['custodians', i, 'name'], message: 'repeats another custodian\'s name' });
      names.add(nameKey(c.name));
      if (keys.has(c.approvalKey.sha256)) ctx.addIssue({ code: 'custom', path: ['custodians', i, 'approvalKey'], message: 'repeats another custodian\'s approval key' });
      keys.add(c.approvalKey.sha256);
      if (sha256(Buffer.from(c.approvalKey.spki, 'base64')) !== c.approvalKey.sha256) ctx.addIssue({ code: 'custom', path: ['custodians', i, 'approvalKey', 'sha256'], message: 'is not the SHA-256 of the spki' });
      if (!isP256Spki(Buffer.from(c.approvalKey.spki, 'base64'))) ctx.addIssue({ code: 'custom', path: ['custodians', i, 'approvalKey', 'spki'], message: 'is not an ECDSA P-256 public key' });
    });
    if (r.previousQuorumId === r.quorumId) ctx.addIssue({ code: 'custom', path: ['previousQuorumId'], message: 'must differ from quorumId' });
    if ((r.generation === 1) !== (r.previousQuorumId === null)) ctx.addIssue({ code: 'custom', path: ['previousQuorumId'], message: 'must be null exactly for generation 1' });
  });

/** A parsed roster. */
export type Roster = z.infer<typeof rosterSchema>;
/** One custodian of a roster. */
export type RosterCustodian = Roster['custodians'][number];

/**
 * Parses and validates a roster.
 * @throws {CoreError} ERR_QUORUM_ROSTER_INVALID, ERR_INPUT_TOO_LARGE
 */
export function parseRoster(input: Uint8Array | string, source?: string): Roster {
  return parseDocument(input, rosterSchema, { what: 'quorum roster', code: 'ERR_QUORUM_ROSTER_INVALID', maxBytes: MAX_ROSTER_BYTES }, source);
}

/** The roster's text (pretty JSON, trailing newline). */
export function serializeRoster(roster: Roster): string {
  return `${JSON.stringify(roster, null, 2)}\n`;
}

/**
 * True when the roster's activation secret governs the token's security officer PIN too (so the
 * SO cannot bypass the quorum); false for rosters whose SO PIN someone else holds.
 */
export function rosterGovernsSoPin(roster: Roster): boolean {
  return governsSoPin(roster.pin);
}

/** SHA-256 (hex) of the roster's RFC 8785 JSON: the value a transcript records and people compare. */
export function rosterDigest(roster: Roster): string {
  return sha256(canonicalJsonBytes(roster));
}

/** The roster entry of a custodian by name (case-insensitive), if enrolled. */
export function rosterCustodian(roster: Roster, name: string): RosterCustodian | undefined {
  const k = nameKey(name);
  return roster.custodians.find((c) => nameKey(c.name) === k);
}

/** The roster entry whose approval key has this SPKI SHA-256, if any. */
export function rosterCustodianByKey(roster: Roster, spkiSha256: string): RosterCustodian | undefined {
  return roster.custodians.find((c) => c.approvalKey.sha256 === spkiSha256);
}

/**
 * Checks a custodian file against the roster before any passphrase is asked: same ceremony, same
 * quorum generation, a custodian the roster names with the same share index and approval key, the
 * same threshold and commitment, and a signature by the roster's pinned key.
 * @throws {CoreError} ERR_QUORUM_SHARE_FOREIGN (another ceremony, another quorum of this ceremony,
 *   or a generation retired by rotation), ERR_QUORUM_SHARE_TAMPERED (anything else disagrees)
 */
export function checkCustodianFile(roster: Roster, file: CustodianFile, source?: string): RosterCustodian {
  const where = source === undefined ? '' : ` (${source})`;
  if (file.ceremony !== roster.ceremony) {
    throw new CoreError(
      'ERR_QUORUM_SHARE_FOREIGN',
      `the custodian file of '${file.custodian}'${where} belongs to ceremony '${file.ceremony}', not to '${roster.ceremony}'; it cannot open this token. Ask for the file from this ceremony`,
      { details: { custodian: file.custodian, fileCeremony: file.ceremony, ceremony: roster.ceremony } },
    );
  }
  if (file.quorumId !== roster.quorumId) {
    const retired = file.generation < roster.generation;
    throw new CoreError(
      'ERR_QUORUM_SHARE_FOREIGN',
      retired
        ? `the custodian file of '${file.custodian}'${where} is from quorum generation ${file.generation}, which a custodian rotation retired (the current generation is ${roster.generation}); it no longer opens the token. Use the file issued at the last rotation`
        : `the custodian file of '${file.custodian}'${where} is from another quorum of ceremony '${roster.ceremony}' (quorum ${file.quorumId}, generation ${file.generation}; this roster is quorum ${roster.quorumId}, generation ${roster.generation})`,
      { details: { custodian: file.custodian, fileQuorumId: file.quorumId, quorumId: roster.quorumId, fileGeneration: file.generation, generation: roster.generation } },
    );
  }
  // Same random quorum id: the file descends from this enrolment, so any disagreement is a change.
  const entry = rosterCustodian(roster, file.custodian);
  if (entry === undefined) throw tampered(file, source, 'it names a custodian this quorum does not have');
  if (entry.name !== file.custodian) throw tampered(file, source, 'its custodian name differs from the roster');
  if (entry.approvalKey.sha256 !== file.approvalKey.sha256) throw tampered(file, source, 'its approval key is not the one enrolled for this custodian');
  if (entry.shareIndex !== file.shareIndex) throw tampered(file, source, `it claims share ${file.shareIndex}, the roster enrolled share ${entry.shareIndex}`);
  if (file.generation !== roster.generation || file.threshold !== roster.threshold || file.total !== roster.custodians.length || file.activationCommitment !== roster.activationCommitment) {
    throw tampered(file, source, 'its quorum parameters differ from the roster');
  }
  if (!custodianFileSignatureValid(file, Buffer.from(entry.approvalKey.spki, 'base64'))) throw tampered(file, source, 'its signature does not verify with the enrolled approval key');
  return entry;
}
