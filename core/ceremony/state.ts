/**
 * @module ceremony/state
 * The persisted state machine of one ceremony: a SQLite database in the ceremony folder (domain
 * `ceremony` migrations) holding the ceremony, each step's status (pending → started → completed →
 * signed) with its attempts and non-secret result, the outputs with their SHA-256, the HSM objects
 * the ceremony intends to create and did create (label, CKA_ID, public-key hash), sign-offs, token
 * inventories, and an append-only journal of everything that happened. Every transition is one
 * IMMEDIATE transaction, committed before the runner acts on it ("record started, act, record
 * completed"), so a crash leaves a record the runner can reconcile.
 *
 * Must never: store a PIN, passphrase, share or private key; update or delete a journal row
 * (triggers refuse it).
 */
import { CoreError } from '../errors.ts';
import { openStore, type MigrationSet, type Store } from '../store/index.ts';
import type { CreatedObject, OutputRecord } from './actions/types.ts';
import type { CeremonyStatus, CeremonyType, JsonObject, Participant, StepStatus } from './types.ts';

/** The ceremony domain's migrations. */
export const CEREMONY_MIGRATIONS: MigrationSet = {
  domain: 'ceremony',
  migrations: [
    {
      version: 1,
      description: 'ceremony state machine: ceremony, steps, outputs, objects, sign-offs, inventories, journal',
      up: `
        CREATE TABLE ceremony (
          singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
          id TEXT NOT NULL,
          uuid TEXT NOT NULL,
          type TEXT NOT NULL,
          title TEXT NOT NULL,
          script_id TEXT NOT NULL,
          script_sha256 TEXT NOT NULL,
          site_sha256 TEXT NOT NULL,
          site_base_dir TEXT NOT NULL,
          rehearsal INTEGER NOT NULL CHECK (rehearsal IN (0, 1)),
          status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'aborted')),
          module_path TEXT NOT NULL,
          token_label TEXT NOT NULL,
          token_serial TEXT,
          ca_home TEXT NOT NULL,
          software TEXT NOT NULL,
          created_at TEXT NOT NULL,
          completed_at TEXT,
          aborted_at TEXT,
          abort_reason TEXT
        ) STRICT;
        CREATE TABLE participants (
          name TEXT PRIMARY KEY,
          roles TEXT NOT NULL
        ) STRICT;
        CREATE TABLE steps (
          idx INTEGER PRIMARY KEY,
          step_id TEXT NOT NULL UNIQUE,
          action TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('pending', 'started', 'completed', 'signed')),
          attempt INTEGER NOT NULL DEFAULT 0,
          started_at TEXT,
          completed_at TEXT,
          signed_at TEXT,
          result TEXT
        ) STRICT;
        CREATE TABLE outputs (
          name TEXT PRIMARY KEY,
          step_id TEXT NOT NULL REFERENCES steps (step_id),
          sha256 TEXT NOT NULL,
          size INTEGER NOT NULL,
          recorded_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE objects (
          label TEXT PRIMARY KEY,
          step_id TEXT NOT NULL REFERENCES steps (step_id),
          state TEXT NOT NULL CHECK (state IN ('intended', 'present', 'destroyed')),
          key_id TEXT,
          spki_sha256 TEXT,
          algorithm TEXT,
          recorded_at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE signoffs (
          step_id TEXT NOT NULL REFERENCES steps (step_id),
          role TEXT NOT NULL,
          participant TEXT NOT NULL,
          at TEXT NOT NULL,
          PRIMARY KEY (step_id, role),
          UNIQUE (step_id, participant)
        ) STRICT;
        CREATE TABLE inventories (
          phase TEXT PRIMARY KEY CHECK (phase IN ('initial', 'final', 'after-abort')),
          token_serial TEXT NOT NULL,
          items TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          at TEXT NOT NULL
        ) STRICT;
        CREATE TABLE journal (
          seq INTEGER PRIMARY KEY,
          at TEXT NOT NULL,
          actor TEXT NOT NULL,
          role TEXT NOT NULL,
          type TEXT NOT NULL,
          step_id TEXT,
          data TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER journal_no_update BEFORE UPDATE ON journal BEGIN SELECT RAISE(ABORT, 'the ceremony journal is append-only'); END;
        CREATE TRIGGER journal_no_delete BEFORE DELETE ON journal BEGIN SELECT RAISE(ABORT, 'the ceremony journal is append-only'); END;
      `,
    },
  ],
};

/** The ceremony row. */
export interface CeremonyRow {
  id: string;
  uuid: string;
  type: CeremonyType;
  title: string;
  scriptId: string;
  scriptSha256: string;
  siteSha256: string;
  /** Folder relative paths of the site file were resolved against. */
  siteBaseDir: string;
  rehearsal: boolean;
  status: CeremonyStatus;
  modulePath: string;
  tokenLabel: string;
  tokenSerial: string | null;
  caHome: string;
  software: string;
  createdAt: string;
  completedAt: string | null;
  abortedAt: string | null;
  abortReason: string | null;
}

/** A step row. */
export interface StepRow {
  index: number;
  id: string;
  action: string;
  status: StepStatus;
  attempt: number;
  startedAt: string | null;
  completedAt: string | null;
  signedAt: string | null;
  result: JsonObject | null;
}

/** A recorded HSM object. */
export interface ObjectRow {
  label: string;
  step: string;
  state: 'intended' | 'present' | 'destroyed';
  keyId: string | null;
  spkiSha256: string | null;
  algorithm: string | null;
}

/** A journal entry. */
export interface JournalEntry {
  seq: number;
  at: string;
  actor: string;
  role: string;
  type: string;
  step: string | null;
  data: JsonObject;
}

/** An inventory item (public facts only). */
export interface InventoryItem {
  label: string;
  class: string;
  algorithm: string;
  keyId: string;
  spkiSha256: string | null;
}

/** Who a journal entry is attributed to. */
export interface Actor {
  actor: string;
  role: string;
}

/** The workstation itself, for entries no person made. */
export const SYSTEM: Actor = { actor: 'workstation', role: 'system' };

/** What {@link CeremonyState.create} records. */
export interface CeremonyInit {
  id: string;
  uuid: string;
  type: CeremonyType;
  title: string;
  scriptId: string;
  scriptSha256: string;
  siteSha256: string;
  siteBaseDir: string;
  rehearsal: boolean;
  modulePath: string;
  tokenLabel: string;
  tokenSerial: string | null;
  caHome: string;
  software: string;
  participants: Participant[];
  steps: Array<{ id: string; action: string }>;
  at: string;
}

type Row = Record<string, unknown>;

function stepFromRow(r: Row): StepRow {
  return {
    index: r['idx'] as number,
    id: r['step_id'] as string,
    action: r['action'] as string,
    status: r['status'] as StepStatus,
    attempt: r['attempt'] as number,
    startedAt: (r['started_at'] as string | null) ?? null,
    completedAt: (r['completed_at'] as string | null) ?? null,
    signedAt: (r['signed_at'] as string | null) ?? null,
    result: r['result'] === null || r['result'] === undefined ? null : (JSON.parse(r['result'] as string) as JsonObject),
  };
}

/** Called after each journal entry is committed (the transcript sink, the UI). */
export type JournalListener = (entry: JournalEntry) => void;

/** The state of one ceremony. */
export class CeremonyState {
  readonly #store: Store;
  #listener: JournalListener | undefined;

  private constructor(store: Store) {
    this.#store = store;
  }

  /**
   * Creates the database of a new ceremony with every step pending.
   * @throws {CoreError} ERR_STORE_OPEN_FAILED, ERR_STORE_MIGRATION_FAILED
   */
  static create(path: string, init: CeremonyInit): CeremonyState {
    const store = openStore(path, { migrations: [CEREMONY_MIGRATIONS] });
    const state = new CeremonyState(store);
    try {
      store.transaction((db) => {
        db.prepare(
          `INSERT INTO ceremony (singleton, id, uuid, type, title, script_id, script_sha256, site_sha256, site_base_dir, rehearsal, status, module_path, token_label, token_serial, ca_home, software, created_at)
           VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)`,
        ).run(init.id, init.uuid, init.type, init.title, init.scriptId, init.scriptSha256, init.siteSha256, init.siteBaseDir, init.rehearsal ? 1 : 0, init.modulePath, init.tokenLabel, init.tokenSerial, init.caHome, init.software, init.at);
        const p = db.prepare('INSERT INTO participants (name, roles) VALUES (?, ?)');
        for (const x of init.participants) p.run(x.name, JSON.stringify(x.roles));
        const s = db.prepare("INSERT INTO steps (idx, step_id, action, status) VALUES (?, ?, ?, 'pending')");
        init.steps.forEach((x, i) => s.run(i, x.id, x.action));
      });
    } catch (e) {
      store.close();
      throw e;
    }
    return state;
  }

  /**
   * Opens the database of an existing ceremony.
   * @throws {CoreError} ERR_CEREMONY_STATE_INVALID, ERR_STORE_OPEN_FAILED, ERR_STORE_FROM_FUTURE
   */
  static open(path: string): CeremonyState {
    const store = openStore(path, { migrations: [CEREMONY_MIGRATIONS] });
    const row = store.db.prepare('SELECT COUNT(*) AS n FROM ceremony').get() as { n: number };
    if (row.n !== 1) {
      store.close();
      throw new CoreError('ERR_CEREMONY_STATE_INVALID', `${path} holds no ceremony record: the ceremony never started. Remove the folder and start again`, { details: { path } });
    }
    return new CeremonyState(store);
  }

  /** Registers the listener fed after each committed journal entry. */
  onJournal(listener: JournalListener | undefined): void {
    this.#listener = listener;
  }

  close(): void {
    this.#store.close();
  }

  /** The ceremony row. */
  ceremony(): CeremonyRow {
    const r = this.#store.db.prepare('SELECT * FROM ceremony WHERE singleton = 1').get() as Row;
    return {
      id: r['id'] as string,
      uuid: r['uuid'] as string,
      type: r['type'] as CeremonyType,
      title: r['title'] as string,
      scriptId: r['script_id'] as string,
      scriptSha256: r['script_sha256'] as string,
      siteSha256: r['site_sha256'] as string,
      siteBaseDir: r['site_base_dir'] as string,
      rehearsal: r['rehearsal'] === 1,
      status: r['status'] as CeremonyStatus,
      modulePath: r['module_path'] as string,
      tokenLabel: r['token_label'] as string,
      tokenSerial: (r['token_serial'] as string | null) ?? null,
      caHome: r['ca_home'] as string,
      software: r['software'] as string,
      createdAt: r['created_at'] as string,
      completedAt: (r['completed_at'] as string | null) ?? null,
      abortedAt: (r['aborted_at'] as string | null) ?? null,
      abortReason: (r['abort_reason'] as string | null) ?? null,
    };
  }

  /** The participants recorded at the start. */
  participants(): Participant[] {
    return (this.#store.db.prepare('SELECT name, roles FROM participants ORDER BY rowid').all() as Row[]).map((r) => ({ name: r['name'] as string, roles: JSON.parse(r['roles'] as string) as string[] }));
  }

  /** Every step, in order. */
  steps(): StepRow[] {
    return (this.#store.db.prepare('SELECT * FROM steps ORDER BY idx').all() as Row[]).map(stepFromRow);
  }

  /** One step by index. */
  step(index: number): StepRow {
    const r = this.#store.db.prepare('SELECT * FROM steps WHERE idx = ?').get(index) as Row | undefined;
    if (r === undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the ceremony record has no step ${index}`);
    return stepFromRow(r);
  }

  /** Outputs recorded, optionally of one step, in recording order. */
  outputs(step?: string): Array<OutputRecord & { step: string }> {
    const rows = (step === undefined ? this.#store.db.prepare('SELECT * FROM outputs ORDER BY rowid').all() : this.#store.db.prepare('SELECT * FROM outputs WHERE step_id = ? ORDER BY rowid').all(step)) as Row[];
    return rows.map((r) => ({ name: r['name'] as string, sha256: r['sha256'] as string, size: r['size'] as number, step: r['step_id'] as string }));
  }

  /** HSM objects recorded, optionally of one step. */
  objects(step?: string): ObjectRow[] {
    const rows = (step === undefined ? this.#store.db.prepare('SELECT * FROM objects ORDER BY rowid').all() : this.#store.db.prepare('SELECT * FROM objects WHERE step_id = ? ORDER BY rowid').all(step)) as Row[];
    return rows.map((r) => ({
      label: r['label'] as string,
      step: r['step_id'] as string,
      state: r['state'] as ObjectRow['state'],
      keyId: (r['key_id'] as string | null) ?? null,
      spkiSha256: (r['spki_sha256'] as string | null) ?? null,
      algorithm: (r['algorithm'] as string | null) ?? null,
    }));
  }

  /** Sign-offs of a step. */
  signOffs(step: string): Array<{ role: string; participant: string; at: string }> {
    return (this.#store.db.prepare('SELECT role, participant, at FROM signoffs WHERE step_id = ? ORDER BY rowid').all(step) as Row[]).map((r) => ({ role: r['role'] as string, participant: r['participant'] as string, at: r['at'] as string }));
  }

  /** A recorded inventory. */
  inventory(phase: 'initial' | 'final' | 'after-abort'): { tokenSerial: string; items: InventoryItem[]; sha256: string; at: string } | undefined {
    const r = this.#store.db.prepare('SELECT * FROM inventories WHERE phase = ?').get(phase) as Row | undefined;
    if (r === undefined) return undefined;
    return { tokenSerial: r['token_serial'] as string, items: JSON.parse(r['items'] as string) as InventoryItem[], sha256: r['sha256'] as string, at: r['at'] as string };
  }

  /** The journal, optionally after a sequence number. */
  journal(afterSeq = 0): JournalEntry[] {
    return (this.#store.db.prepare('SELECT * FROM journal WHERE seq > ? ORDER BY seq').all(afterSeq) as Row[]).map((r) => ({
      seq: r['seq'] as number,
      at: r['at'] as string,
      actor: r['actor'] as string,
      role: r['role'] as string,
      type: r['type'] as string,
      step: (r['step_id'] as string | null) ?? null,
      data: JSON.parse(r['data'] as string) as JsonObject,
    }));
  }

  #append(type: string, data: JsonObject, at: string, who: Actor, step: string | null): JournalEntry {
    const info = this.#store.db.prepare('INSERT INTO journal (at, actor, role, type, step_id, data) VALUES (?, ?, ?, ?, ?, ?)').run(at, who.actor, who.role, type, step, JSON.stringify(data));
    return { seq: Number(info.lastInsertRowid), at, actor: who.actor, role: who.role, type, step, data };
  }

  /** Runs `fn` in a transaction and feeds the listener the journal entries it committed. */
  #tx(fn: (append: (type: string, data: JsonObject, who?: Actor, step?: string | null) => void) => void, at: string): void {
    const entries: JournalEntry[] = [];
    this.#store.transaction(() => {
      fn((type, data, who = SYSTEM, step = null) => {
        entries.push(this.#append(type, data, at, who, step));
      });
    });
    for (const e of entries) this.#listener?.(e);
  }

  /** Appends one journal entry. */
  record(type: string, data: JsonObject, at: string, who: Actor = SYSTEM, step: string | null = null): void {
    this.#tx((append) => append(type, data, who, step), at);
  }

  /**
   * Records that a step starts (a new attempt), with the key labels it intends to create, before
   * anything is done.
   */
  markStarted(index: number, intendedLabels: readonly string[], at: string, data: JsonObject): void {
    const s = this.step(index);
    if (s.status !== 'pending' && s.status !== 'started') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${s.id}' is already ${s.status}`);
    this.#tx((append) => {
      this.#store.db.prepare("UPDATE steps SET status = 'started', attempt = attempt + 1, started_at = ? WHERE idx = ?").run(at, index);
      for (const label of intendedLabels) {
        this.#store.db.prepare("INSERT INTO objects (label, step_id, state, recorded_at) VALUES (?, ?, 'intended', ?) ON CONFLICT (label) DO UPDATE SET state = 'intended', key_id = NULL, spki_sha256 = NULL, algorithm = NULL, recorded_at = excluded.recorded_at WHERE step_id = excluded.step_id").run(label, s.id, at);
      }
      append('step.started', { ...data, attempt: s.attempt + 1, intendedKeyLabels: [...intendedLabels] }, SYSTEM, s.id);
    }, at);
  }

  /** Records a step's outcome, outputs and created objects. */
  markCompleted(index: number, result: JsonObject, outputs: readonly OutputRecord[], objects: readonly CreatedObject[], at: string, how: 'executed' | 'adopted', note?: string): void {
    const s = this.step(index);
    if (s.status !== 'started') throw new CoreError('ERR_CEREMONY_STEP_OUT_OF_ORDER', `step '${s.id}' is ${s.status}, not started`);
    this.#tx((append) => {
      this.#store.db.prepare("UPDATE steps SET status = 'completed', completed_at = ?, result = ? WHERE idx = ?").run(at, JSON.stringify(result), index);
      const o = this.#store.db.prepare('INSERT INTO outputs (name, step_id, sha256, size, recorded_at) VALUES (?, ?, ?, ?, ?)');
      for (const x of outputs) o.run(x.name, s.id, x.sha256, x.size, at);
      for (const x of objects) {
        this.#store.db.prepare("INSERT INTO objects (label, step_id, state, key_id, spki_sha256, algorithm, recorded_at) VALUES (?, ?, 'present', ?, ?, ?, ?) ON CONFLICT (label) DO UPDATE SET state = 'present', key_id = excluded.key_id, spki_sha256 = excluded.spki_sha256, algorithm = excluded.algorithm, recorded_at = excluded.recorded_at").run(x.label, s.id, x.keyId, x.spkiSha256, x.algorithm, at);
      }
      const data: JsonObject = { how, result, outputs: outputs.map((x) => ({ name: x.name, sha256: x.sha256, size: x.size })), objects: objects.map((x) => ({ label: x.label, keyId: x.keyId, spkiSha256: x.spkiSha256, algorithm: x.algorithm })) };
      if (note !== undefined) data['note'] = note;
      append('step.completed', data, SYSTEM, s.id);
    }, at);
  }

  /** Records a sign-off; the step becomes `signed` once every required role has signed. */
  addSignOff(index: number, role: string, participant: string, required: readonly string[], at: string): void {
    const s = this.step(index);
    this.#tx((append) => {
      this.#store.db.prepare('INSERT INTO signoffs (step_id, role, participant, at) VALUES (?, ?, ?, ?)').run(s.id, role, participant, at);
      append('step.signed-off', { role, participant }, { actor: participant, role }, s.id);
      const have = new Set(this.signOffs(s.id).map((x) => x.role));
      if (required.every((r) => have.has(r))) {
        this.#store.db.prepare("UPDATE steps SET status = 'signed', signed_at = ? WHERE idx = ?").run(at, index);
      }
    }, at);
  }

  /** Marks a completed step with no required sign-offs as signed. */
  markSigned(index: number, at: string): void {
    this.#store.transaction((db) => db.prepare("UPDATE steps SET status = 'signed', signed_at = ? WHERE idx = ? AND status = 'completed'").run(at, index));
  }

  /** Binds the ceremony to a token serial. */
  setTokenSerial(serial: string, at: string): void {
    this.#tx((append) => {
      this.#store.db.prepare('UPDATE ceremony SET token_serial = ? WHERE singleton = 1').run(serial);
      append('token.bound', { serial });
    }, at);
  }

  /** Records an inventory of the token (once per phase). */
  recordInventory(phase: 'initial' | 'final' | 'after-abort', tokenSerial: string, items: InventoryItem[], sha256: string, at: string): void {
    this.#tx((append) => {
      this.#store.db.prepare('INSERT INTO inventories (phase, token_serial, items, sha256, at) VALUES (?, ?, ?, ?, ?)').run(phase, tokenSerial, JSON.stringify(items), sha256, at);
      append('token.inventory', { phase, tokenSerial, objects: items.length, sha256 });
    }, at);
  }

  /** Marks objects destroyed (abort, or a partial key pair removed during reconcile). */
  markObjectsDestroyed(labels: readonly string[], at: string): void {
    this.#store.transaction((db) => {
      for (const l of labels) db.prepare("UPDATE objects SET state = 'destroyed', recorded_at = ? WHERE label = ?").run(at, l);
    });
  }

  /** Sets the final status with the closing journal entry. */
  finish(status: 'completed' | 'aborted', at: string, data: JsonObject, reason?: string, who: Actor = SYSTEM): void {
    this.#tx((append) => {
      if (status === 'completed') this.#store.db.prepare("UPDATE ceremony SET status = 'completed', completed_at = ? WHERE singleton = 1").run(at);
      else this.#store.db.prepare("UPDATE ceremony SET status = 'aborted', aborted_at = ?, abort_reason = ? WHERE singleton = 1").run(at, reason ?? null);
      append(status === 'completed' ? 'ceremony.completed' : 'ceremony.aborted', reason === undefined ? data : { ...data, reason }, who);
    }, at);
  }
}
