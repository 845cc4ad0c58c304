import { join } from 'node:path';
import { statSync, writeFileSync } from 'node:fs';

import { afterEach, describe, expect, it } from 'vitest';

import { isCoreError } from '../../../core/errors.ts';
import { openStore, type MigrationSet } from '../../../core/store/index.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const V1: MigrationSet = { domain: 'demo', migrations: [{ version: 1, description: 'items', up: 'CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE) STRICT' }] };
const V2: MigrationSet = {
  domain: 'demo',
  migrations: [...V1.migrations, { version: 2, description: 'item notes', up: 'ALTER TABLE items ADD COLUMN note TEXT' }],
};

describe('store', () => {
  const dirs: Array<() => void> = [];
  afterEach(() => dirs.splice(0).forEach((c) => c()));
  const path = (): string => {
    const t = tempDir();
    dirs.push(t.cleanup);
    return join(t.dir, 'sub', 'state.db');
  };

  it('opens in WAL mode with foreign keys, file mode 0600, and applies migrations once', () => {
    const p = path();
    const s = openStore(p, { migrations: [V1] });
    expect(s.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(s.db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(statSync(p).mode & 0o777).toBe(0o600);
    expect(s.version('demo')).toBe(1);
    s.close();
    const again = openStore(p, { migrations: [V2] });
    expect(again.version('demo')).toBe(2);
    again.db.prepare('INSERT INTO items (name, note) VALUES (?, ?)').run('a', 'n');
    again.close();
  });

  it('transaction rolls back every row when one fails', () => {
    const s = openStore(path(), { migrations: [V1] });
    expect(() =>
      s.transaction((db) => {
        db.prepare('INSERT INTO items (name) VALUES (?)').run('x');
        db.prepare('INSERT INTO items (name) VALUES (?)').run('x');
      }),
    ).toThrow();
    expect(s.db.prepare('SELECT COUNT(*) AS n FROM items').get()).toEqual({ n: 0 });
    s.close();
  });

  it('a failing migration leaves the previous version and reports ERR_STORE_MIGRATION_FAILED', () => {
    const p = path();
    openStore(p, { migrations: [V1] }).close();
    const bad: MigrationSet = { domain: 'demo', migrations: [...V1.migrations, { version: 2, description: 'broken', up: 'ALTER TABLE nope ADD COLUMN x' }] };
    try {
      openStore(p, { migrations: [bad] });
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_STORE_MIGRATION_FAILED')).toBe(true);
    }
    const s = openStore(p, { migrations: [V1] });
    expect(s.version('demo')).toBe(1);
    s.close();
  });

  it('a database from a newer version is refused with ERR_STORE_FROM_FUTURE', () => {
    const p = path();
    openStore(p, { migrations: [V2] }).close();
    try {
      openStore(p, { migrations: [V1] });
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_STORE_FROM_FUTURE')).toBe(true);
    }
  });

  it('a path that cannot be created gives ERR_STORE_OPEN_FAILED', () => {
    const t = tempDir();
    dirs.push(t.cleanup);
    writeFileSync(join(t.dir, 'file'), 'not a directory');
    try {
      openStore(join(t.dir, 'file', 'state.db'));
      expect.unreachable();
    } catch (e) {
      expect(isCoreError(e, 'ERR_STORE_OPEN_FAILED')).toBe(true);
    }
  });
});
