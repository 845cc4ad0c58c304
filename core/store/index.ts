/**
 * @module store
 * Public surface of the storage domain.
 */
export { openStore, isConstraintError } from './db.ts';
export type { Database, Migration, MigrationSet, OpenStoreOptions, Store } from './db.ts';
