/**
 * @module store/db
 * The embedded SQLite store (better-sqlite3 v12): WAL journal, foreign keys on, versioned
 * migrations applied in a transaction per domain, and a `transaction()` helper so every
 * multi-row change is atomic. Each domain owns its migration list (see {@link Migration}), so
 * domains evolve their tables independently.
 *
 * Must never: store a PIN, passphrase, share or unencrypted private key.
 */
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';

import type BetterSqlite3 from 'better-sqlite3';

import { CoreError } from '../errors.ts';

/** The better-sqlite3 database type. */
export type Database = BetterSqlite3.Database;

/** One schema change of one domain. Versions start at 1 and increase by 1. */
export interface Migration {
  version: number;
  description: string;
  /** SQL to run, or a function for changes SQL alone cannot express. */
  up: string | ((db: Database) => void);
}

/** A domain's migrations, e.g. `{ domain: 'pki', migrations: [...] }`. */
export interface MigrationSet {
  domain: string;
  migrations: readonly Migration[];
}

/** Options for {@link openStore}. */
export interface OpenStoreOptions {
  /** Migration sets to apply (in order). */
  migrations?: readonly MigrationSet[];
  readonly?: boolean;
}

const require = createRequire(import.meta.url);

/** An open store. */
export interface Store {
  readonly db: Database;
  readonly path: string;
  /** Runs `fn` in an IMMEDIATE transaction; rolls back on throw. */
  transaction<T>(fn: (db: Database) => T): T;
  /** Applies further migration sets (idempotent). */
  migrate(sets: readonly MigrationSet[]): void;
  /** Current schema version of a domain (0 when it has none). */
  version(domain: string): number;
  close(): void;
}

/**
 * Opens (creating if needed) the SQLite file at `path` (`:memory:` for tests), in WAL mode, and
 * applies the given migrations.
 * @throws {CoreError} ERR_STORE_OPEN_FAILED, ERR_STORE_MIGRATION_FAILED, ERR_STORE_FROM_FUTURE
 */
export function openStore(path: string, options: OpenStoreOptions = {}): Store {
  const Sqlite = require('better-sqlite3') as typeof BetterSqlite3;
  let db: Database;
  try {
    if (path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    }
    const isNew = path !== ':memory:' && !existsSync(path);
    db = new Sqlite(path, { readonly: options.readonly ?? false, fileMustExist: options.readonly ?? false });
    if (isNew) chmodSync(path, 0o600);
    if (!(options.readonly ?? false)) db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    db.pragma('synchronous = FULL');
  } catch (e) {
    throw new CoreError('ERR_STORE_OPEN_FAILED', `could not open the database ${path}: ${e instanceof Error ? e.message : String(e)}. Check the path and permissions`, {
      cause: e,
      details: { path },
    });
  }
  const store: Store = {
    db,
    path,
    transaction<T>(fn: (d: Database) => T): T {
      return db.transaction(() => fn(db)).immediate();
    },
    migrate(sets) {
      applyMigrations(db, path, sets);
    },
    version(domain) {
      return currentVersion(db, domain);
    },
    close() {
      if (db.open) db.close();
    },
  };
  if (!(options.readonly ?? false)) {
    try {
      applyMigrations(db, path, options.migrations ?? []);
    } catch (e) {
      db.close();
      throw e;
    }
  }
  return store;
}

function ensureMeta(db: Database): void {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    domain TEXT NOT NULL,
    version INTEGER NOT NULL,
    description TEXT NOT NULL,
    applied_at TEXT NOT NULL,
    PRIMARY KEY (domain, version)
  ) STRICT`);
}

function currentVersion(db: Database, domain: string): number {
  ensureMeta(db);
  const row = db.prepare('SELECT MAX(version) AS v FROM schema_migrations WHERE domain = ?').get(domain) as { v: number | null };
  return row.v ?? 0;
}

function applyMigrations(db: Database, path: string, sets: readonly MigrationSet[]): void {
  ensureMeta(db);
  for (const set of sets) {
    const sorted = [...set.migrations].sort((a, b) => a.version - b.version);
    sorted.forEach((m, i) => {
      if (m.version !== i + 1) throw new TypeError(`migrations of '${set.domain}' must be numbered 1..n without gaps (found ${m.version} at position ${i + 1})`);
    });
    const have = currentVersion(db, set.domain);
    const latest = sorted.length;
    if (have > latest) {
      throw new CoreError(
        'ERR_STORE_FROM_FUTURE',
        `the database ${path} has '${set.domain}' schema version ${have}, newer than this NEAM CA knows (${latest}). Use the newer NEAM CA version that wrote it`,
        { details: { path, domain: set.domain, have, latest } },
      );
    }
    for (const m of sorted.slice(have)) {
      try {
        db.transaction(() => {
          if (typeof m.up === 'string') db.exec(m.up);
          else m.up(db);
          db.prepare('INSERT INTO schema_migrations (domain, version, description, applied_at) VALUES (?, ?, ?, ?)').run(set.domain, m.version, m.description, new Date().toISOString());
        }).immediate();
      } catch (e) {
        throw new CoreError('ERR_STORE_MIGRATION_FAILED', `migrating '${set.domain}' to version ${m.version} (${m.description}) failed in ${path}; the database was left at version ${m.version - 1}`, {
          cause: e,
          details: { path, domain: set.domain, version: m.version },
        });
      }
    }
  }
}

/** Maps a better-sqlite3 constraint failure to ERR_STORE_CONSTRAINT with a readable message. */
export function isConstraintError(e: unknown): boolean {
  return typeof e === 'object' && e !== null && typeof (e as { code?: unknown }).code === 'string' && String((e as { code: string }).code).startsWith('SQLITE_CONSTRAINT');
}
