/**
 * @module ceremony/quorum-io
 * The custodians at the workstation, through core/quorum: reading a custodian's file from their
 * medium (the file, or the folder holding it), opening the token with M shares one custodian at a
 * time, signing approval statements at the workstation, and co-signing the transcript's closing
 * record with approval keys. Every question goes through the ceremony's interaction port; a
 * custodian's passphrase is asked only after their file passed every check that needs no secret.
 *
 * Must never: keep a passphrase, share, PIN or approval key beyond the call that needs it.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { CoreError } from '../errors.ts';
import type { HsmSession } from '../hsm/types.ts';
import { ActivationSession, custodianSigner, openCustodianFile, parseCustodianFile, rosterDigest, signApproval, type Approval, type ApprovalRequest, type CustodianFile, type Roster } from '../quorum/index.ts';
import type { CloseSigner } from '../transcript/index.ts';
import type { CeremonyIo } from './io.ts';
import { readLimited } from './files.ts';

/** Largest custodian file read (the format's limit). */
const MAX_CUSTODIAN_FILE = 16 * 1024;

function nameKey(name: string): string {
  return name.normalize('NFC').toLowerCase();
}

/**
 * A custodian's file from a path: the file itself, or a folder (their medium) holding exactly one
 * custodian file of this quorum for this custodian.
 * @throws {CoreError} ERR_IO, ERR_NOT_FOUND, ERR_QUORUM_CUSTODIAN_FILE_INVALID, ERR_INPUT_TOO_LARGE
 */
export function loadCustodianFile(path: string, name: string, roster: Pick<Roster, 'quorumId'>): { file: CustodianFile; path: string } {
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch (e) {
    throw new CoreError('ERR_IO', `${path} does not exist; insert ${name}'s medium and give the path of their custodian file`, { cause: e, details: { path } });
  }
  if (!isDir) return { file: parseCustodianFile(readLimited(path, MAX_CUSTODIAN_FILE, 'custodian file'), path), path };
  const found: Array<{ file: CustodianFile; path: string }> = [];
  for (const entry of readdirSync(path)) {
    const p = join(path, entry);
    try {
      if (!statSync(p).isFile() || statSync(p).size > MAX_CUSTODIAN_FILE) continue;
      const file = parseCustodianFile(readLimited(p, MAX_CUSTODIAN_FILE, 'custodian file'), p);
      if (nameKey(file.custodian) === nameKey(name) && file.quorumId === roster.quorumId) found.push({ file, path: p });
    } catch {
      // not a custodian file of this quorum
    }
  }
  if (found.length !== 1) {
    throw new CoreError('ERR_NOT_FOUND', `${path} holds ${found.length === 0 ? 'no' : found.length} custodian file${found.length === 1 ? '' : 's'} of '${name}' for quorum ${roster.quorumId}; give the file itself`, { details: { path, custodian: name } });
  }
  return found[0]!;
}

/** Asks for names of custodians (comma-separated), each in the roster, distinct, at least `min`. */
async function askNames(io: CeremonyIo, key: string[], roster: Roster, min: number, max: number, what: string): Promise<string[]> {
  const known = roster.custodians.map((c) => c.name);
  const answer = await io.ask({
    kind: 'text',
    key,
    prompt: `${what} (${min === max ? min : `${min} to ${max}`} of ${known.join(', ')}), comma-separated: `,
    validate: (a) => {
      const names = a.split(',').map((s) => s.trim()).filter((s) => s !== '');
      const unknown = names.filter((n) => !known.some((k) => nameKey(k) === nameKey(n)));
      if (unknown.length > 0) return `not custodians of this quorum: ${unknown.join(', ')}`;
      if (new Set(names.map(nameKey)).size !== names.length) return 'each custodian once';
      if (names.length < min || names.length > max) return `give ${min === max ? min : `${min} to ${max}`} names`;
      return undefined;
    },
  });
  return answer
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map((n) => known.find((k) => nameKey(k) === nameKey(n))!);
}

/** Keys of a custodian's file and passphrase under `prefix` (answers files may also give `custodians.<name>.*`). */
function custodianKeys(prefix: string[], name: string): { file: string[]; passphrase: string[] } {
  return { file: [...prefix, 'file', name], passphrase: [...prefix, 'passphrase', name] };
}

/** Result of {@link activateWithQuorum} (public, for the record). */
export interface ActivationRecord {
  custodians: string[];
  quorumId: string;
  rosterSha256: string;
}

/**
 * Opens the token with M custodians' shares: each file is checked against the roster before its
 * owner types the passphrase; with M shares the PIN is rebuilt, used to log in, and wiped. With
 * `repairUserPin` (finishing an enrollment interrupted after the token's SO PIN became the
 * quorum's), the quorum's SO PIN sets the user PIN first (`ActivationSession.repairUserPin`); the
 * session ends logged in as user either way.
 * @throws {CoreError} ERR_QUORUM_* (named at the custodian who caused it), ERR_HSM_* (with
 *   `repairUserPin`, ERR_HSM_PIN_INCORRECT: the token's SO PIN is not this quorum's)
 */
export async function activateWithQuorum(io: CeremonyIo, roster: Roster, session: HsmSession, prefix: string[], options: { repairUserPin?: boolean } = {}): Promise<ActivationRecord> {
  const names = await askNames(io, [...prefix, 'custodians'], roster, roster.threshold, roster.custodians.length, 'Custodians who open the token');
  const activation = new ActivationSession(roster);
  try {
    for (const name of names) {
      if (activation.complete) break;
      const keys = custodianKeys(prefix, name);
      const where = await io.ask({ kind: 'text', key: keys.file, prompt: `${name}: path of your custodian file (or of your medium): ` });
      const { file, path } = loadCustodianFile(where, name, roster);
      activation.precheck(file, path);
      const passphrase = await io.askSecret({ kind: 'secret', key: keys.passphrase, prompt: `${name}: passphrase: ` });
      try {
        const progress = await activation.addCustodian(file, passphrase, path);
        io.event({ type: 'display', message: `Share of ${name} accepted (${progress.have} of ${progress.threshold}).` });
      } finally {
        passphrase.wipe();
      }
    }
    const entered = activation.entered;
    if (options.repairUserPin === true) await activation.repairUserPin(session);
    else await activation.login(session);
    return { custodians: entered, quorumId: roster.quorumId, rosterSha256: rosterDigest(roster) };
  } finally {
    activation.wipe();
  }
}

/**
 * The co-signers of a closing record: `count` custodians each open the approval key of their file
 * with their passphrase.
 * @throws {CoreError} ERR_QUORUM_PASSPHRASE_INCORRECT, ERR_QUORUM_SHARE_FOREIGN, ERR_QUORUM_CUSTODIAN_FILE_INVALID
 */
export async function coSignersFromQuorum(io: CeremonyIo, roster: Roster, count: number, prefix: string[]): Promise<CloseSigner[]> {
  const names = await askNames(io, [...prefix, 'co-signers'], roster, count, count, 'Custodians who co-sign the transcript');
  const signers: CloseSigner[] = [];
  for (const name of names) {
    const keys = custodianKeys(prefix, name);
    const where = await io.ask({ kind: 'text', key: keys.file, prompt: `${name}: path of your custodian file (or of your medium): ` });
    const { file, path } = loadCustodianFile(where, name, roster);
    if (file.quorumId !== roster.quorumId) throw new CoreError('ERR_QUORUM_SHARE_FOREIGN', `${path} belongs to another quorum (${file.quorumId}); use the custodian file of quorum ${roster.quorumId}`);
    const passphrase = await io.askSecret({ kind: 'secret', key: keys.passphrase, prompt: `${name}: passphrase (to co-sign the transcript): ` });
    try {
      signers.push({ kind: 'witness', name, role: 'custodian', signer: await custodianSigner(file, passphrase, path) });
    } finally {
      passphrase.wipe();
    }
  }
  return signers;
}

/**
 * Approvals signed at the workstation: each approver reads the requests (shown as events), decides,
 * and opens their approval key with their passphrase; one signed statement per request.
 * @throws {CoreError} ERR_QUORUM_* from opening files and signing
 */
export async function approveAtWorkstation(io: CeremonyIo, roster: Roster, requests: readonly ApprovalRequest[], prefix: string[], now: () => Date): Promise<Array<{ custodian: string; decision: 'approve' | 'decline'; approvals: Approval[] }>> {
  const names = await askNames(io, [...prefix, 'approvers'], roster, roster.threshold, roster.custodians.length, 'Custodians who review and approve');
  const out: Array<{ custodian: string; decision: 'approve' | 'decline'; approvals: Approval[] }> = [];
  for (const name of names) {
    const keys = custodianKeys(prefix, name);
    const where = await io.ask({ kind: 'text', key: keys.file, prompt: `${name}: path of your custodian file (or of your medium): ` });
    const { file, path } = loadCustodianFile(where, name, roster);
    for (const r of requests) {
      // `data.review` carries the decoded fields for review screens (the desktop app); never a secret.
      io.event({
        type: 'display',
        ...(prefix[0] === 'steps' && prefix[1] !== undefined ? { step: prefix[1] } : {}),
        message: `${name}, review: ${r.operation} — ${r.subject}\n    TBS SHA-256 ${r.tbsSha256}\n    words: ${r.words.join(' ')}`,
        data: { review: { kind: 'approval', custodian: name, requestId: r.requestId, operation: r.operation, subject: r.subject, fields: r.fields.map((f) => ({ label: f.label, value: f.value })), tbsSha256: r.tbsSha256, words: [...r.words], expiresAt: r.expiresAt } },
      });
    }
    const decision = (await io.ask({ kind: 'choice', key: [...prefix, 'decision', name], prompt: `${name}: approve or decline the ${requests.length} request(s) shown? `, choices: ['approve', 'decline'], attestation: true })) as 'approve' | 'decline';
    const passphrase = await io.askSecret({ kind: 'secret', key: keys.passphrase, prompt: `${name}: passphrase (to sign your ${decision}): ` });
    let opened;
    try {
      opened = await openCustodianFile(file, passphrase, { approvalKey: true }, path);
    } finally {
      passphrase.wipe();
    }
    const approvalKey = opened.approvalKey;
    if (approvalKey === undefined) throw new CoreError('ERR_QUORUM_SHARE_TAMPERED', `the custodian file of '${name}' holds no approval key`);
    out.push({ custodian: name, decision, approvals: requests.map((request) => signApproval({ request, custodianFile: file, approvalKey, decision, now: now() })) });
  }
  return out;
}
