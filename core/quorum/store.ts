/**
 * @module quorum/store
 * Persistence of the quorum's public records in the SQLite store: rosters with their status
 * (pending during a rotation, current, retired), approval requests, imported approvals (declines
 * included, so they keep blocking), and drill reports. Imports verify before they write, and every
 * change is one transaction.
 *
 * Must never: store a share, a passphrase, the activation secret or an approval private key. Every
 * value stored here is public.
 */
import { CoreError } from '../errors.ts';
import type { MigrationSet, Store } from '../store/db.ts';
import { isConstraintError } from '../store/db.ts';
import { parseApproval, parseApprovalRequest, serializeApproval, serializeApprovalRequest, verifyApproval, approvalTargetOf, type Approval, type ApprovalRequest, type VerifiedApproval } from './approval.ts';
import type { DrillReport } from './activation.ts';
import { parseRoster, rosterDigest, serializeRoster, type Roster } from './roster.ts';
import { sha256 } from './schema.ts';

/** The quorum domain's migrations. */
export const QUORUM_MIGRATIONS: MigrationSet = {
  domain: 'quorum',
  migrations: [
    {
      version: 1,
      description: 'quorum rosters, approval requests, approvals and drills',
      up: `
        CREATE TABLE quorum_rosters (
          quorum_id TEXT PRIMARY KEY,
          ceremony TEXT NOT NULL,
          generation INTEGER NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pending', 'current', 'retired', 'abandoned')),
          roster_sha256 TEXT NOT NULL,
          roster_json TEXT NOT NULL,
          created_at TEXT NOT NULL,
          updated_at TEXT NOT NULL
        ) STRICT;
        CREATE UNIQUE INDEX quorum_rosters_one_current ON quorum_rosters (ceremony) WHERE status = 'current';
        CREATE TABLE quorum_requests (
          request_id TEXT PRIMARY KEY,
          quorum_id TEXT NOT NULL REFERENCES quorum_rosters (quorum_id),
          operation TEXT NOT NULL,
          tbs_sha256 TEXT NOT NULL,
          request_json TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE quorum_approvals (
          request_id TEXT NOT NULL REFERENCES quorum_requests (request_id),
          custodian TEXT NOT NULL,
          decision TEXT NOT NULL CHECK (decision IN ('approve', 'decline')),
          approval_sha256 TEXT NOT NULL,
          approval_json TEXT NOT NULL,
          imported_at TEXT NOT NULL,
          PRIMARY KEY (request_id, custodian)
        ) STRICT;
        CREATE TABLE quorum_drills (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          quorum_id TEXT NOT NULL REFERENCES quorum_rosters (quorum_id),
          at TEXT NOT NULL,
          report_json TEXT NOT NULL
        ) STRICT;
      `,
    },
  ],
};

/** Status of a stored roster. */
export type RosterStatus = 'pending' | 'current' | 'retired' | 'abandoned';

/** Repository of the quorum's public records. */
export class QuorumStore {
  readonly #store: Store;

  /** Applies the quorum migrations to `store`. */
  constructor(store: Store) {
    this.#store = store;
    store.migrate([QUORUM_MIGRATIONS]);
  }

  /**
   * Records a roster: `current` for the first generation of a ceremony, `pending` during a rotation.
   * @throws {CoreError} ERR_ALREADY_EXISTS, ERR_QUORUM_ROSTER_INVALID (a second current roster)
   */
  addRoster(roster: Roster, status: 'pending' | 'current', now: Date): void {
    parseRoster(serializeRoster(roster));
    try {
      this.#store.transaction((db) => {
        db.prepare('INSERT INTO quorum_rosters (quorum_id, ceremony, generation, status, roster_sha256, roster_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
          roster.quorumId,
          roster.ceremony,
          roster.generation,
          status,
          rosterDigest(roster),
          serializeRoster(roster),
          now.toISOString(),
          now.toISOString(),
        );
      });
    } catch (e) {
      if (!isConstraintError(e)) throw e;
      const exists = this.#store.db.prepare('SELECT 1 FROM quorum_rosters WHERE quorum_id = ?').get(roster.quorumId) !== undefined;
      if (exists) throw new CoreError('ERR_ALREADY_EXISTS', `quorum ${roster.quorumId} is already recorded`, { cause: e });
      throw new CoreError('ERR_QUORUM_ROSTER_INVALID', `ceremony '${roster.ceremony}' already has a current quorum; a new one becomes current only through a rotation`, { cause: e });
    }
  }

  /**
   * Makes a pending roster current and retires the one it replaced, atomically (after a rotation's
   * PIN change).
   * @throws {CoreError} ERR_NOT_FOUND, ERR_QUORUM_ROSTER_INVALID
   */
  makeCurrent(quorumId: string, now: Date): void {
    this.#store.transaction((db) => {
      const row = db.prepare('SELECT ceremony, status, roster_json FROM quorum_rosters WHERE quorum_id = ?').get(quorumId) as { ceremony: string; status: RosterStatus; roster_json: string } | undefined;
      if (row === undefined) throw new CoreError('ERR_NOT_FOUND', `quorum ${quorumId} is not recorded`);
      if (row.status !== 'pending') throw new CoreError('ERR_QUORUM_ROSTER_INVALID', `quorum ${quorumId} is ${row.status}, not pending`);
      const roster = parseRoster(row.roster_json);
      const current = db.prepare("SELECT quorum_id FROM quorum_rosters WHERE ceremony = ? AND status = 'current'").get(row.ceremony) as { quorum_id: string } | undefined;
      if (current !== undefined && current.quorum_id !== roster.previousQuorumId) {
        throw new CoreError('ERR_QUORUM_ROSTER_INVALID', `quorum ${quorumId} replaces ${String(roster.previousQuorumId)}, but the current quorum is ${current.quorum_id}`);
      }
      db.prepare("UPDATE quorum_rosters SET status = 'retired', updated_at = ? WHERE ceremony = ? AND status = 'current'").run(now.toISOString(), row.ceremony);
      db.prepare("UPDATE quorum_rosters SET status = 'current', updated_at = ? WHERE quorum_id = ?").run(now.toISOString(), quorumId);
    });
  }

  /** Marks a pending roster abandoned (a rotation that was aborted). */
  abandon(quorumId: string, now: Date): void {
    this.#store.db.prepare("UPDATE quorum_rosters SET status = 'abandoned', updated_at = ? WHERE quorum_id = ? AND status = 'pending'").run(now.toISOString(), quorumId);
  }

  /** The current roster of a ceremony, if any. */
  currentRoster(ceremony: string): Roster | undefined {
    const row = this.#store.db.prepare("SELECT roster_json FROM quorum_rosters WHERE ceremony = ? AND status = 'current'").get(ceremony) as { roster_json: string } | undefined;
    return row === undefined ? undefined : parseRoster(row.roster_json);
  }

  /**
   * Every roster recorded for a ceremony, oldest first, with its status (e.g. to find a pending
   * enrolment that an interruption left between recording its roster and changing the token PINs).
   */
  rostersOf(ceremony: string): Array<{ roster: Roster; status: RosterStatus }> {
    const rows = this.#store.db.prepare('SELECT status, roster_json FROM quorum_rosters WHERE ceremony = ? ORDER BY generation, created_at, rowid').all(ceremony) as Array<{ status: RosterStatus; roster_json: string }>;
    return rows.map((r) => ({ roster: parseRoster(r.roster_json), status: r.status }));
  }

  /** A roster by quorum id with its status. */
  roster(quorumId: string): { roster: Roster; status: RosterStatus } | undefined {
    const row = this.#store.db.prepare('SELECT status, roster_json FROM quorum_rosters WHERE quorum_id = ?').get(quorumId) as { status: RosterStatus; roster_json: string } | undefined;
    return row === undefined ? undefined : { roster: parseRoster(row.roster_json), status: row.status };
  }

  /**
   * Records an approval request for the current roster of its ceremony.
   * @throws {CoreError} ERR_NOT_FOUND (no such quorum), ERR_QUORUM_APPROVAL_INVALID, ERR_ALREADY_EXISTS
   */
  addRequest(request: ApprovalRequest): void {
    parseApprovalRequest(serializeApprovalRequest(request));
    const quorum = this.roster(request.quorumId);
    if (quorum === undefined) throw new CoreError('ERR_NOT_FOUND', `the request names quorum ${request.quorumId}, which is not recorded`);
    if (quorum.status !== 'current') throw new CoreError('ERR_QUORUM_APPROVAL_INVALID', `the request names quorum ${request.quorumId}, which is ${quorum.status}; requests go to the current quorum`);
    try {
      this.#store.db
        .prepare('INSERT INTO quorum_requests (request_id, quorum_id, operation, tbs_sha256, request_json, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
        .run(request.requestId, request.quorumId, request.operation, request.tbsSha256, serializeApprovalRequest(request), request.createdAt, request.expiresAt);
    } catch (e) {
      if (isConstraintError(e)) throw new CoreError('ERR_ALREADY_EXISTS', `request ${request.requestId} is already recorded`, { cause: e });
      throw e;
    }
  }

  /** A stored request. */
  request(requestId: string): ApprovalRequest | undefined {
    const row = this.#store.db.prepare('SELECT request_json FROM quorum_requests WHERE request_id = ?').get(requestId) as { request_json: string } | undefined;
    return row === undefined ? undefined : parseApprovalRequest(row.request_json);
  }

  /**
   * Verifies an approval file against its request and roster, then records it. A valid decline is
   * recorded too (it blocks the request) and reported with ERR_QUORUM_APPROVAL_DECLINED; anything
   * else invalid is not recorded.
   * @throws {CoreError} ERR_NOT_FOUND, ERR_QUORUM_APPROVAL_DUPLICATE, ERR_QUORUM_APPROVAL_DECLINED and
   *   every code of {@link verifyApproval}
   */
  importApproval(input: Approval | Uint8Array | string, now: Date, source?: string): VerifiedApproval {
    const approval = typeof input === 'string' || input instanceof Uint8Array ? parseApproval(input, source) : input;
    const request = this.request(approval.statement.requestId);
    if (request === undefined) throw new CoreError('ERR_NOT_FOUND', `the approval${source === undefined ? '' : ` ${source}`} answers request ${approval.statement.requestId}, which is not recorded here`);
    const quorum = this.roster(request.quorumId);
    if (quorum === undefined) throw new CoreError('ERR_NOT_FOUND', `quorum ${request.quorumId} is not recorded`);
    let verified: VerifiedApproval | undefined;
    let declined: CoreError | undefined;
    try {
      verified = verifyApproval(quorum.roster, approvalTargetOf(request), approval, now, source);
    } catch (e) {
      if (!(e instanceof CoreError) || e.code !== 'ERR_QUORUM_APPROVAL_DECLINED') throw e;
      declined = e;
    }
    const text = serializeApproval(approval);
    try {
      this.#store.db
        .prepare('INSERT INTO quorum_approvals (request_id, custodian, decision, approval_sha256, approval_json, imported_at) VALUES (?, ?, ?, ?, ?, ?)')
        .run(request.requestId, approval.statement.custodian, approval.statement.decision, sha256(text), text, now.toISOString());
    } catch (e) {
      if (isConstraintError(e)) {
        throw new CoreError('ERR_QUORUM_APPROVAL_DUPLICATE', `custodian '${approval.statement.custodian}' has already answered request ${request.requestId}; each custodian counts once`, { cause: e, details: { custodian: approval.statement.custodian } });
      }
      throw e;
    }
    if (declined !== undefined) throw declined;
    return verified as VerifiedApproval;
  }

  /** Every approval recorded for a request (declines included), in import order. */
  approvals(requestId: string): Approval[] {
    const rows = this.#store.db.prepare('SELECT approval_json FROM quorum_approvals WHERE request_id = ? ORDER BY rowid').all(requestId) as Array<{ approval_json: string }>;
    return rows.map((r) => parseApproval(r.approval_json));
  }

  /** Records a drill report. */
  addDrill(report: DrillReport): void {
    this.#store.db.prepare('INSERT INTO quorum_drills (quorum_id, at, report_json) VALUES (?, ?, ?)').run(report.quorumId, report.at, JSON.stringify(report));
  }

  /** Drill reports of a quorum, oldest first. */
  drills(quorumId: string): DrillReport[] {
    const rows = this.#store.db.prepare('SELECT report_json FROM quorum_drills WHERE quorum_id = ? ORDER BY id').all(quorumId) as Array<{ report_json: string }>;
    return rows.map((r) => JSON.parse(r.report_json) as DrillReport);
  }
}
