/**
 * @module online/schema
 * The online CA's tables (MigrationSet domain `online`): settings, intermediates (sealed keys or
 * token key labels, CSRs, requested windows, issued certificates), trust anchors and root CRLs,
 * registration entries, join tokens (hashed), nodes, every issued certificate (for revocation,
 * OCSP and audit). The intermediates' CRLs are recorded in core/ca's `pki` tables of the same
 * database.
 *
 * Must never: hold an unencrypted private key or a join token in clear (only its SHA-256).
 */
import type { MigrationSet } from '../store/index.ts';

/** Migrations of the `online` domain. */
export const ONLINE_MIGRATIONS: MigrationSet = {
  domain: 'online',
  migrations: [
    {
      version: 1,
      description: 'online CA: settings, intermediates, trust anchors, entries, join tokens, nodes, certificates',
      up: `
        CREATE TABLE online_settings (
          id INTEGER PRIMARY KEY CHECK (id = 1),
          trust_domain TEXT NOT NULL,
          key_store TEXT NOT NULL CHECK (key_store IN ('sealed', 'token')),
          key_algorithm TEXT NOT NULL,
          token_label TEXT NOT NULL,
          token_serial TEXT NOT NULL,
          kek_label TEXT,
          window_days INTEGER NOT NULL,
          overlap_days INTEGER NOT NULL,
          bundle_sequence INTEGER NOT NULL DEFAULT 0,
          created_at INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE online_intermediates (
          id TEXT PRIMARY KEY,
          key_label TEXT NOT NULL UNIQUE,
          key_store TEXT NOT NULL CHECK (key_store IN ('sealed', 'token')),
          key_algorithm TEXT NOT NULL,
          spki BLOB NOT NULL UNIQUE,
          sealed_key BLOB,
          seal_iv BLOB,
          csr BLOB NOT NULL,
          window_start INTEGER NOT NULL,
          window_end INTEGER NOT NULL,
          batch INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('generated', 'requested', 'issued', 'retired')),
          cert BLOB,
          cert_sha256 TEXT UNIQUE,
          not_before INTEGER,
          not_after INTEGER,
          root_sha256 TEXT,
          created_at INTEGER NOT NULL,
          imported_at INTEGER,
          CHECK ((key_store = 'sealed') = (sealed_key IS NOT NULL AND seal_iv IS NOT NULL))
        ) STRICT;

        CREATE TABLE online_roots (
          sha256 TEXT PRIMARY KEY,
          cert BLOB NOT NULL,
          subject TEXT NOT NULL,
          not_after INTEGER NOT NULL,
          added_at INTEGER NOT NULL,
          removed_at INTEGER
        ) STRICT;

        CREATE TABLE online_root_crls (
          root_sha256 TEXT NOT NULL REFERENCES online_roots(sha256),
          crl_number TEXT NOT NULL,
          this_update INTEGER NOT NULL,
          next_update INTEGER,
          der BLOB NOT NULL,
          imported_at INTEGER NOT NULL,
          PRIMARY KEY (root_sha256, crl_number)
        ) STRICT;

        CREATE TABLE online_entries (
          id TEXT PRIMARY KEY,
          spiffe_id TEXT NOT NULL,
          parent_id TEXT NOT NULL,
          selectors TEXT NOT NULL,
          ttl_seconds INTEGER NOT NULL,
          dns_names TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          updated_at INTEGER NOT NULL,
          UNIQUE (spiffe_id, parent_id)
        ) STRICT;
        CREATE INDEX online_entries_parent ON online_entries(parent_id);

        CREATE TABLE online_join_tokens (
          hash TEXT PRIMARY KEY,
          node_id TEXT NOT NULL,
          created_at INTEGER NOT NULL,
          expires_at INTEGER NOT NULL,
          used_at INTEGER,
          used_by_serial TEXT
        ) STRICT;

        CREATE TABLE online_nodes (
          spiffe_id TEXT PRIMARY KEY,
          attested_at INTEGER NOT NULL,
          last_seen_at INTEGER NOT NULL,
          evicted_at INTEGER
        ) STRICT;

        CREATE TABLE online_certs (
          serial TEXT PRIMARY KEY,
          issuer_id TEXT NOT NULL REFERENCES online_intermediates(id),
          kind TEXT NOT NULL CHECK (kind IN ('workload', 'node', 'server', 'admin')),
          spiffe_id TEXT NOT NULL,
          entry_id TEXT,
          node_id TEXT,
          not_before INTEGER NOT NULL,
          not_after INTEGER NOT NULL,
          issued_at INTEGER NOT NULL,
          spki_sha256 TEXT NOT NULL,
          der BLOB NOT NULL,
          revoked_at INTEGER,
          revocation_reason INTEGER
        ) STRICT;
        CREATE INDEX online_certs_spiffe ON online_certs(spiffe_id, not_after);
        CREATE INDEX online_certs_not_after ON online_certs(not_after);
        CREATE INDEX online_certs_revoked ON online_certs(issuer_id, revoked_at) WHERE revoked_at IS NOT NULL;
      `,
    },
  ],
};
