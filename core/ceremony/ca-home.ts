/**
 * @module ceremony/ca-home
 * The CA folder's own database (`<CA folder>/ca.sqlite`), shared by every ceremony of that CA:
 * the PKI store (issued certificates, CRLs and their numbers, revocations; core/ca), the quorum
 * store (rosters, approval requests and approvals; core/quorum), the bundle state (our transfer
 * identity, pinned peers, channels; core/bundle), and a few facts the root ceremony
 * establishes for later ones (which quorum opens the token). Rehearsals have their own CA folder,
 * hence their own database.
 *
 * Must never: hold a secret; change a fact once recorded.
 */
import { join } from 'node:path';

import { bundleState, type BundleState } from '../bundle/index.ts';
import { openCaStore, type CaStore } from '../ca/index.ts';
import { CoreError } from '../errors.ts';
import { QuorumStore, type Roster } from '../quorum/index.ts';
import { openStore, type MigrationSet, type Store } from '../store/index.ts';

/** File name of the CA database inside the CA folder. */
export const CA_DB = 'ca.sqlite';

/** The facts table (domain `ceremony-ca`): set once, never changed. */
export const CEREMONY_CA_MIGRATIONS: MigrationSet = {
  domain: 'ceremony-ca',
  migrations: [
    {
      version: 1,
      description: 'facts the root ceremony establishes for later ceremonies',
      up: `
        CREATE TABLE ceremony_ca_facts (
          key TEXT PRIMARY KEY,
          value TEXT NOT NULL,
          ceremony TEXT NOT NULL,
          recorded_at TEXT NOT NULL
        ) STRICT;
        CREATE TRIGGER ceremony_ca_facts_no_update BEFORE UPDATE ON ceremony_ca_facts BEGIN SELECT RAISE(ABORT, 'CA facts are never changed'); END;
        CREATE TRIGGER ceremony_ca_facts_no_delete BEFORE DELETE ON ceremony_ca_facts BEGIN SELECT RAISE(ABORT, 'CA facts are never deleted'); END;
      `,
    },
  ],
};

/** Known facts. */
export type CaFact = 'quorum.ceremony';

/** The open CA database. */
export interface CaHome {
  readonly store: Store;
  readonly pki: CaStore;
  readonly quorum: QuorumStore;
  /** Transfer identities, pinned peers and bundle channels (core/bundle). */
  readonly bundle: BundleState;
  /** A recorded fact. */
  fact(key: CaFact): string | undefined;
  /** Records a fact (idempotent for the same value; a different value is refused). */
  setFact(key: CaFact, value: string, ceremony: string, now: Date): void;
  /** The current quorum roster of this CA, if the root ceremony enrolled one. */
  currentRoster(): Roster | undefined;
  close(): void;
}

/**
 * Opens (creating) the CA database of a CA folder.
 * @throws {CoreError} ERR_STORE_OPEN_FAILED, ERR_STORE_MIGRATION_FAILED, ERR_STORE_FROM_FUTURE
 */
export function openCaHome(caHome: string): CaHome {
  const store = openStore(join(caHome, CA_DB), { migrations: [CEREMONY_CA_MIGRATIONS] });
  try {
    const pki = openCaStore(store);
    const quorum = new QuorumStore(store);
    const bundle = bundleState(store);
    const fact = (key: CaFact): string | undefined => (store.db.prepare('SELECT value FROM ceremony_ca_facts WHERE key = ?').get(key) as { value: string } | undefined)?.value;
    return {
      store,
      pki,
      quorum,
      bundle,
      fact,
      setFact(key, value, ceremony, now) {
        const have = fact(key);
        if (have === value) return;
        if (have !== undefined) throw new CoreError('ERR_CEREMONY_STATE_INVALID', `the CA folder already records ${key} = ${have}; it cannot become ${value}`);
        store.transaction((db) => db.prepare('INSERT INTO ceremony_ca_facts (key, value, ceremony, recorded_at) VALUES (?, ?, ?, ?)').run(key, value, ceremony, now.toISOString()));
      },
      currentRoster() {
        const ceremony = fact('quorum.ceremony');
        return ceremony === undefined ? undefined : quorum.currentRoster(ceremony);
      },
      close: () => store.close(),
    };
  } catch (e) {
    store.close();
    throw e;
  }
}
