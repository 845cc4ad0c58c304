/**
 * @module online/settings
 * The online CA's persistent settings (one row): trust domain, where intermediate keys live
 * (sealed software keys or keys in the token), the intermediate key algorithm, the online token's
 * label and serial, the KEK label, the window plan, and the trust bundle's sequence number.
 * Also the database location and opening helper.
 *
 * Must never: store a PIN or key material.
 */
import { join } from 'node:path';

import { CoreError } from '../errors.ts';
import { openStore, type Database, type Store } from '../store/index.ts';
import { PKI_MIGRATIONS } from '../ca/store.ts';
import { ONLINE_MIGRATIONS } from './schema.ts';

/** Where intermediate private keys live. */
export type KeyStoreMode = 'sealed' | 'token';
/** Intermediate key algorithms. */
export type IntermediateAlgorithm = 'rsa-2048' | 'ec-p256' | 'ec-p384';
/** Accepted intermediate algorithms. */
export const INTERMEDIATE_ALGORITHMS: readonly IntermediateAlgorithm[] = ['rsa-2048', 'ec-p256', 'ec-p384'];

/** The settings row. */
export interface OnlineSettings {
  readonly trustDomain: string;
  readonly keyStore: KeyStoreMode;
  readonly keyAlgorithm: IntermediateAlgorithm;
  readonly tokenLabel: string;
  readonly tokenSerial: string;
  readonly kekLabel: string | null;
  readonly windowDays: number;
  readonly overlapDays: number;
  readonly bundleSequence: number;
  readonly createdAtMs: number;
}

/** The online database path inside a state home. */
export function onlineDbPath(home: string): string {
  return join(home, 'online', 'online.db');
}

/**
 * Opens (and migrates) the online database. It also holds core/ca's `pki` tables, where the
 * intermediates' CRLs are recorded.
 * @throws {CoreError} ERR_STORE_OPEN_FAILED, ERR_STORE_MIGRATION_FAILED, ERR_STORE_FROM_FUTURE
 */
export function openOnlineStore(path: string): Store {
  return openStore(path, { migrations: [ONLINE_MIGRATIONS, PKI_MIGRATIONS] });
}

interface SettingsRow {
  trust_domain: string;
  key_store: KeyStoreMode;
  key_algorithm: IntermediateAlgorithm;
  token_label: string;
  token_serial: string;
  kek_label: string | null;
  window_days: number;
  overlap_days: number;
  bundle_sequence: number;
  created_at: number;
}

/** The settings, or undefined before `online init`. */
export function findSettings(db: Database): OnlineSettings | undefined {
  const r = db.prepare('SELECT * FROM online_settings WHERE id = 1').get() as SettingsRow | undefined;
  if (r === undefined) return undefined;
  return {
    trustDomain: r.trust_domain,
    keyStore: r.key_store,
    keyAlgorithm: r.key_algorithm,
    tokenLabel: r.token_label,
    tokenSerial: r.token_serial,
    kekLabel: r.kek_label,
    windowDays: r.window_days,
    overlapDays: r.overlap_days,
    bundleSequence: r.bundle_sequence,
    createdAtMs: r.created_at,
  };
}

/**
 * The settings.
 * @throws {CoreError} ERR_ONLINE_NOT_INITIALIZED before `neam-ca online init`
 */
export function readSettings(db: Database): OnlineSettings {
  const s = findSettings(db);
  if (s === undefined) throw new CoreError('ERR_ONLINE_NOT_INITIALIZED', "the online CA is not initialised here; run 'neam-ca online init --trust-domain DOMAIN' first");
  return s;
}

/** Inserts the settings row (inside the caller's transaction). */
export function insertSettings(db: Database, s: Omit<OnlineSettings, 'bundleSequence'>): void {
  db.prepare(
    `INSERT INTO online_settings (id, trust_domain, key_store, key_algorithm, token_label, token_serial, kek_label, window_days, overlap_days, bundle_sequence, created_at)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)`,
  ).run(s.trustDomain, s.keyStore, s.keyAlgorithm, s.tokenLabel, s.tokenSerial, s.kekLabel, s.windowDays, s.overlapDays, s.createdAtMs);
}
