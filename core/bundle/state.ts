/**
 * @module bundle/state
 * What the bundle domain remembers, in the store (MigrationSet domain `bundle`): our own transfer
 * identities, the peers we exchange bundles with and their pinned transfer certificates (current
 * and retired), the root certificates pinned for a peer, the per-channel sequence and last manifest
 * hash in each direction, every bundle we sent (bytes kept, so a lost one can be written again) and
 * received (manifest, signature and payload files, so other domains read imported content from the
 * store), the CSRs we sent and which certificate answered each, and the last CRL number per issuer.
 *
 * Every method is synchronous and runs inside the caller's transaction when there is one; the
 * import and create paths call them inside one `store.transaction`.
 *
 * Must never: hold a private key, PIN or passphrase (key references only).
 */
import type { Database, MigrationSet, Store } from '../store/index.ts';
import { CoreError } from '../errors.ts';

/** The bundle domain's migrations. */
export const BUNDLE_MIGRATIONS: MigrationSet = {
  domain: 'bundle',
  migrations: [
    {
      version: 1,
      description: 'transfer identities, peers and pins, channels, sent and received bundles, sent CSRs, CRL numbers',
      up: `
        CREATE TABLE bundle_identity (
          fingerprint TEXT PRIMARY KEY,
          name TEXT NOT NULL,
          certificate BLOB NOT NULL,
          key_store TEXT NOT NULL CHECK (key_store IN ('hsm', 'file')),
          key_ref TEXT NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('current', 'retired')),
          created_at TEXT NOT NULL,
          retired_at TEXT
        ) STRICT;
        CREATE UNIQUE INDEX bundle_identity_one_current ON bundle_identity (status) WHERE status = 'current';

        CREATE TABLE bundle_peer (
          name TEXT PRIMARY KEY,
          enrolled_at TEXT NOT NULL
        ) STRICT;

        CREATE TABLE bundle_peer_pin (
          fingerprint TEXT PRIMARY KEY,
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          certificate BLOB NOT NULL,
          status TEXT NOT NULL CHECK (status IN ('current', 'retired')),
          pinned_at TEXT NOT NULL,
          pinned_by TEXT NOT NULL,
          retired_at TEXT
        ) STRICT;
        CREATE UNIQUE INDEX bundle_peer_pin_one_current ON bundle_peer_pin (peer) WHERE status = 'current';

        CREATE TABLE bundle_root_pin (
          fingerprint TEXT NOT NULL,
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          certificate BLOB NOT NULL,
          pinned_at TEXT NOT NULL,
          PRIMARY KEY (peer, fingerprint)
        ) STRICT;

        CREATE TABLE bundle_channel (
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          direction TEXT NOT NULL CHECK (direction IN ('in', 'out')),
          last_sequence INTEGER NOT NULL,
          last_manifest_sha256 TEXT NOT NULL,
          updated_at TEXT NOT NULL,
          PRIMARY KEY (peer, direction)
        ) STRICT;

        CREATE TABLE bundle_received (
          manifest_sha256 TEXT PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          sequence INTEGER NOT NULL,
          kind TEXT NOT NULL,
          sender TEXT NOT NULL,
          recipient TEXT NOT NULL,
          created_at TEXT NOT NULL,
          manifest BLOB NOT NULL,
          signature BLOB NOT NULL,
          imported_at TEXT NOT NULL,
          UNIQUE (peer, sequence)
        ) STRICT;

        CREATE TABLE bundle_received_file (
          manifest_sha256 TEXT NOT NULL REFERENCES bundle_received (manifest_sha256),
          path TEXT NOT NULL,
          media_type TEXT NOT NULL,
          sha256 TEXT NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (manifest_sha256, path)
        ) STRICT;

        CREATE TABLE bundle_sent (
          manifest_sha256 TEXT PRIMARY KEY,
          id TEXT NOT NULL UNIQUE,
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          sequence INTEGER NOT NULL,
          kind TEXT NOT NULL,
          created_at TEXT NOT NULL,
          expires_at TEXT NOT NULL,
          bundle BLOB NOT NULL,
          retracted_at TEXT
        ) STRICT;
        CREATE UNIQUE INDEX bundle_sent_one_per_sequence ON bundle_sent (peer, sequence) WHERE retracted_at IS NULL;

        CREATE TABLE bundle_sent_csr (
          csr_sha256 TEXT PRIMARY KEY,
          peer TEXT NOT NULL REFERENCES bundle_peer (name),
          name TEXT NOT NULL,
          spki_sha256 TEXT NOT NULL,
          not_before TEXT NOT NULL,
          not_after TEXT NOT NULL,
          manifest_sha256 TEXT NOT NULL REFERENCES bundle_sent (manifest_sha256),
          answered_by TEXT,
          answered_at TEXT
        ) STRICT;

        CREATE TABLE bundle_crl_number (
          issuer_fingerprint TEXT PRIMARY KEY,
          crl_number TEXT NOT NULL,
          crl_sha256 TEXT NOT NULL,
          this_update TEXT NOT NULL
        ) STRICT;
      `,
    },
  ],
};

/** Where the private key of one of our transfer identities lives. */
export type KeyRef =
  | { readonly store: 'hsm'; readonly tokenLabel: string; readonly tokenSerial: string; readonly keyLabel: string; readonly keyId: string }
  | { readonly store: 'file'; readonly path: string };

/** One of our own transfer identities. */
export interface SelfIdentity {
  readonly fingerprint: string;
  readonly name: string;
  readonly certificate: Buffer;
  readonly key: KeyRef;
  readonly status: 'current' | 'retired';
  readonly createdAt: string;
  readonly retiredAt: string | null;
}

/** A pinned transfer certificate of a peer. */
export interface PeerPin {
  readonly fingerprint: string;
  readonly peer: string;
  readonly certificate: Buffer;
  readonly status: 'current' | 'retired';
  readonly pinnedAt: string;
  /** `enrollment`, or `rotation:<manifest sha256>` of the bundle that introduced it. */
  readonly pinnedBy: string;
  readonly retiredAt: string | null;
}

/** A root certificate pinned for a peer (issued certificates and CRLs must chain to it). */
export interface RootPin {
  readonly fingerprint: string;
  readonly peer: string;
  readonly certificate: Buffer;
  readonly pinnedAt: string;
}

/** State of one direction of a channel with a peer. */
export interface ChannelState {
  readonly peer: string;
  readonly direction: 'in' | 'out';
  readonly lastSequence: number;
  readonly lastManifestSha256: string | null;
}

/** A CSR we sent to a peer, and the certificate that answered it (if any). */
export interface SentCsr {
  readonly csrSha256: string;
  readonly peer: string;
  readonly name: string;
  readonly spkiSha256: string;
  readonly notBefore: string;
  readonly notAfter: string;
  readonly manifestSha256: string;
  readonly answeredBy: string | null;
  readonly answeredAt: string | null;
}

/** A bundle we imported. */
export interface ReceivedBundle {
  readonly manifestSha256: string;
  readonly id: string;
  readonly peer: string;
  readonly sequence: number;
  readonly kind: string;
  readonly sender: string;
  readonly recipient: string;
  readonly createdAt: string;
  readonly manifest: Buffer;
  readonly signature: Buffer;
  readonly importedAt: string;
}

/** A bundle we created. */
export interface SentBundle {
  readonly manifestSha256: string;
  readonly id: string;
  readonly peer: string;
  readonly sequence: number;
  readonly kind: string;
  readonly createdAt: string;
  readonly expiresAt: string;
  readonly bundle: Buffer;
  /** Set when the sender withdrew it (the receiver refused it); its sequence number was reused. */
  readonly retractedAt: string | null;
}

/** A payload file of an imported bundle. */
export interface ReceivedFile {
  readonly path: string;
  readonly mediaType: string;
  readonly sha256: string;
  readonly data: Buffer;
}

type Row = Record<string, unknown>;

const str = (r: Row, k: string): string => r[k] as string;
const strOrNull = (r: Row, k: string): string | null => (r[k] ?? null) as string | null;

function identityOf(r: Row): SelfIdentity {
  return {
    fingerprint: str(r, 'fingerprint'),
    name: str(r, 'name'),
    certificate: r['certificate'] as Buffer,
    key: JSON.parse(str(r, 'key_ref')) as KeyRef,
    status: str(r, 'status') as 'current' | 'retired',
    createdAt: str(r, 'created_at'),
    retiredAt: strOrNull(r, 'retired_at'),
  };
}

function pinOf(r: Row): PeerPin {
  return {
    fingerprint: str(r, 'fingerprint'),
    peer: str(r, 'peer'),
    certificate: r['certificate'] as Buffer,
    status: str(r, 'status') as 'current' | 'retired',
    pinnedAt: str(r, 'pinned_at'),
    pinnedBy: str(r, 'pinned_by'),
    retiredAt: strOrNull(r, 'retired_at'),
  };
}

function sentCsrOf(r: Row): SentCsr {
  return {
    csrSha256: str(r, 'csr_sha256'),
    peer: str(r, 'peer'),
    name: str(r, 'name'),
    spkiSha256: str(r, 'spki_sha256'),
    notBefore: str(r, 'not_before'),
    notAfter: str(r, 'not_after'),
    manifestSha256: str(r, 'manifest_sha256'),
    answeredBy: strOrNull(r, 'answered_by'),
    answeredAt: strOrNull(r, 'answered_at'),
  };
}

function receivedOf(r: Row): ReceivedBundle {
  return {
    manifestSha256: str(r, 'manifest_sha256'),
    id: str(r, 'id'),
    peer: str(r, 'peer'),
    sequence: Number(r['sequence']),
    kind: str(r, 'kind'),
    sender: str(r, 'sender'),
    recipient: str(r, 'recipient'),
    createdAt: str(r, 'created_at'),
    manifest: r['manifest'] as Buffer,
    signature: r['signature'] as Buffer,
    importedAt: str(r, 'imported_at'),
  };
}

function sentOf(r: Row): SentBundle {
  return {
    manifestSha256: str(r, 'manifest_sha256'),
    id: str(r, 'id'),
    peer: str(r, 'peer'),
    sequence: Number(r['sequence']),
    kind: str(r, 'kind'),
    createdAt: str(r, 'created_at'),
    expiresAt: str(r, 'expires_at'),
    bundle: r['bundle'] as Buffer,
    retractedAt: strOrNull(r, 'retracted_at'),
  };
}

/**
 * Typed access to the bundle tables of an open store. Construct with {@link bundleState}; the
 * store must have {@link BUNDLE_MIGRATIONS} applied.
 */
export class BundleState {
  readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  private get db(): Database {
    return this.store.db;
  }

  /** Runs `fn` in one IMMEDIATE store transaction (rolled back on throw). */
  transaction<T>(fn: () => T): T {
    return this.store.transaction(() => fn());
  }

  // ---- our identities ----

  /** Our current transfer identity, or undefined before `identity create`. */
  currentIdentity(): SelfIdentity | undefined {
    const r = this.db.prepare(`SELECT * FROM bundle_identity WHERE status = 'current'`).get() as Row | undefined;
    return r === undefined ? undefined : identityOf(r);
  }

  /** Every identity of ours, newest first. */
  identities(): SelfIdentity[] {
    return (this.db.prepare('SELECT * FROM bundle_identity ORDER BY created_at DESC, rowid DESC').all() as Row[]).map(identityOf);
  }

  /** One of our identities by fingerprint. */
  identity(fingerprint: string): SelfIdentity | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_identity WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
    return r === undefined ? undefined : identityOf(r);
  }

  /** Records a new identity; when `current`, the previous current one is retired at `now`. */
  addIdentity(id: Omit<SelfIdentity, 'status' | 'retiredAt'>, now: string): void {
    this.db.prepare(`UPDATE bundle_identity SET status = 'retired', retired_at = ? WHERE status = 'current'`).run(now);
    this.db
      .prepare(`INSERT INTO bundle_identity (fingerprint, name, certificate, key_store, key_ref, status, created_at) VALUES (?, ?, ?, ?, ?, 'current', ?)`)
      .run(id.fingerprint, id.name, id.certificate, id.key.store, JSON.stringify(id.key), id.createdAt);
  }

  // ---- peers ----

  /** Every enrolled peer name. */
  peers(): string[] {
    return (this.db.prepare('SELECT name FROM bundle_peer ORDER BY name').all() as Row[]).map((r) => str(r, 'name'));
  }

  /** True when the peer is enrolled. */
  hasPeer(name: string): boolean {
    return this.db.prepare('SELECT 1 FROM bundle_peer WHERE name = ?').get(name) !== undefined;
  }

  /** Enrolls a peer with its first pinned transfer certificate. */
  addPeer(name: string, pin: { fingerprint: string; certificate: Buffer }, now: string): void {
    this.db.prepare('INSERT INTO bundle_peer (name, enrolled_at) VALUES (?, ?)').run(name, now);
    this.db
      .prepare(`INSERT INTO bundle_peer_pin (fingerprint, peer, certificate, status, pinned_at, pinned_by) VALUES (?, ?, ?, 'current', ?, 'enrollment')`)
      .run(pin.fingerprint, name, pin.certificate, now);
  }

  /** The pin with this fingerprint (current or retired), if any. */
  pin(fingerprint: string): PeerPin | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_peer_pin WHERE fingerprint = ?').get(fingerprint) as Row | undefined;
    return r === undefined ? undefined : pinOf(r);
  }

  /** The current pin of a peer. */
  currentPin(peer: string): PeerPin | undefined {
    const r = this.db.prepare(`SELECT * FROM bundle_peer_pin WHERE peer = ? AND status = 'current'`).get(peer) as Row | undefined;
    return r === undefined ? undefined : pinOf(r);
  }

  /** Every pin of a peer, newest first. */
  pins(peer: string): PeerPin[] {
    return (this.db.prepare('SELECT * FROM bundle_peer_pin WHERE peer = ? ORDER BY pinned_at DESC, rowid DESC').all(peer) as Row[]).map(pinOf);
  }

  /** Retires the current pin of `peer` and pins `next` (rotation by a bundle signed by the old key). */
  rotatePin(peer: string, next: { fingerprint: string; certificate: Buffer }, pinnedBy: string, now: string): void {
    this.db.prepare(`UPDATE bundle_peer_pin SET status = 'retired', retired_at = ? WHERE peer = ? AND status = 'current'`).run(now, peer);
    this.db
      .prepare(`INSERT INTO bundle_peer_pin (fingerprint, peer, certificate, status, pinned_at, pinned_by) VALUES (?, ?, ?, 'current', ?, ?)`)
      .run(next.fingerprint, peer, next.certificate, now, pinnedBy);
  }

  /** Pins a root certificate for a peer. */
  addRootPin(peer: string, fingerprint: string, certificate: Buffer, now: string): void {
    this.db.prepare('INSERT INTO bundle_root_pin (fingerprint, peer, certificate, pinned_at) VALUES (?, ?, ?, ?)').run(fingerprint, peer, certificate, now);
  }

  /** Roots pinned for a peer. */
  rootPins(peer: string): RootPin[] {
    return (this.db.prepare('SELECT * FROM bundle_root_pin WHERE peer = ? ORDER BY pinned_at').all(peer) as Row[]).map((r) => ({
      fingerprint: str(r, 'fingerprint'),
      peer: str(r, 'peer'),
      certificate: r['certificate'] as Buffer,
      pinnedAt: str(r, 'pinned_at'),
    }));
  }

  // ---- channels ----

  /** Sequence state of one direction of the channel with `peer` (0 and null before the first bundle). */
  channel(peer: string, direction: 'in' | 'out'): ChannelState {
    const r = this.db.prepare('SELECT * FROM bundle_channel WHERE peer = ? AND direction = ?').get(peer, direction) as Row | undefined;
    return r === undefined
      ? { peer, direction, lastSequence: 0, lastManifestSha256: null }
      : { peer, direction, lastSequence: Number(r['last_sequence']), lastManifestSha256: str(r, 'last_manifest_sha256') };
  }

  /** Advances a channel to `sequence` (must be exactly the next one). */
  advanceChannel(peer: string, direction: 'in' | 'out', sequence: number, manifestSha256: string, now: string): void {
    const current = this.channel(peer, direction);
    if (sequence !== current.lastSequence + 1) throw new CoreError('ERR_INTERNAL', `channel ${peer}/${direction} would jump from ${current.lastSequence} to ${sequence}`);
    this.db
      .prepare(
        `INSERT INTO bundle_channel (peer, direction, last_sequence, last_manifest_sha256, updated_at) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (peer, direction) DO UPDATE SET last_sequence = excluded.last_sequence, last_manifest_sha256 = excluded.last_manifest_sha256, updated_at = excluded.updated_at`,
      )
      .run(peer, direction, sequence, manifestSha256, now);
  }

  // ---- received ----

  /** A received bundle by manifest hash. */
  received(manifestSha256: string): ReceivedBundle | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_received WHERE manifest_sha256 = ?').get(manifestSha256) as Row | undefined;
    return r === undefined ? undefined : receivedOf(r);
  }

  /** The received bundle at a sequence number of a peer's channel. */
  receivedAt(peer: string, sequence: number): ReceivedBundle | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_received WHERE peer = ? AND sequence = ?').get(peer, sequence) as Row | undefined;
    return r === undefined ? undefined : receivedOf(r);
  }

  /** Received bundles, oldest first, optionally of one kind and/or peer. */
  receivedBundles(filter: { kind?: string; peer?: string } = {}): ReceivedBundle[] {
    const rows = this.db
      .prepare('SELECT * FROM bundle_received WHERE (@kind IS NULL OR kind = @kind) AND (@peer IS NULL OR peer = @peer) ORDER BY peer, sequence')
      .all({ kind: filter.kind ?? null, peer: filter.peer ?? null }) as Row[];
    return rows.map(receivedOf);
  }

  /** Payload files of a received bundle, by path. */
  receivedFiles(manifestSha256: string): ReceivedFile[] {
    return (this.db.prepare('SELECT * FROM bundle_received_file WHERE manifest_sha256 = ? ORDER BY path').all(manifestSha256) as Row[]).map((r) => ({
      path: str(r, 'path'),
      mediaType: str(r, 'media_type'),
      sha256: str(r, 'sha256'),
      data: r['data'] as Buffer,
    }));
  }

  /** Records a received bundle and its payload files. */
  addReceived(b: Omit<ReceivedBundle, 'importedAt'>, files: readonly ReceivedFile[], now: string): void {
    this.db
      .prepare(
        'INSERT INTO bundle_received (manifest_sha256, id, peer, sequence, kind, sender, recipient, created_at, manifest, signature, imported_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      )
      .run(b.manifestSha256, b.id, b.peer, b.sequence, b.kind, b.sender, b.recipient, b.createdAt, b.manifest, b.signature, now);
    const ins = this.db.prepare('INSERT INTO bundle_received_file (manifest_sha256, path, media_type, sha256, data) VALUES (?, ?, ?, ?, ?)');
    for (const f of files) ins.run(b.manifestSha256, f.path, f.mediaType, f.sha256, f.data);
  }

  /** True when a bundle id was already seen (sent or received). */
  idSeen(id: string): boolean {
    return (
      this.db.prepare('SELECT 1 FROM bundle_received WHERE id = ?').get(id) !== undefined || this.db.prepare('SELECT 1 FROM bundle_sent WHERE id = ?').get(id) !== undefined
    );
  }

  // ---- sent ----

  /** Records a created bundle. */
  addSent(b: Omit<SentBundle, 'retractedAt'>): void {
    this.db
      .prepare('INSERT INTO bundle_sent (manifest_sha256, id, peer, sequence, kind, created_at, expires_at, bundle) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(b.manifestSha256, b.id, b.peer, b.sequence, b.kind, b.createdAt, b.expiresAt, b.bundle);
  }

  /** Sent bundles, oldest first, optionally to one peer. */
  sentBundles(peer?: string): SentBundle[] {
    return (this.db.prepare('SELECT * FROM bundle_sent WHERE (@peer IS NULL OR peer = @peer) ORDER BY peer, sequence').all({ peer: peer ?? null }) as Row[]).map(sentOf);
  }

  /** The sent bundle at a sequence number of the channel to `peer`. */
  sentAt(peer: string, sequence: number): SentBundle | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_sent WHERE peer = ? AND sequence = ? AND retracted_at IS NULL').get(peer, sequence) as Row | undefined;
    return r === undefined ? undefined : sentOf(r);
  }

  /**
   * Withdraws the last bundle sent to `peer` (the receiver refused it): marks it retracted, forgets
   * the CSRs it carried, and moves the channel back so the next bundle reuses its sequence number.
   */
  retractLastSent(peer: string, now: string): SentBundle | undefined {
    const channel = this.channel(peer, 'out');
    const last = this.sentAt(peer, channel.lastSequence);
    if (last === undefined) return undefined;
    this.db.prepare('UPDATE bundle_sent SET retracted_at = ? WHERE manifest_sha256 = ?').run(now, last.manifestSha256);
    this.db.prepare('DELETE FROM bundle_sent_csr WHERE manifest_sha256 = ? AND answered_by IS NULL').run(last.manifestSha256);
    const previous = this.sentAt(peer, channel.lastSequence - 1);
    if (previous === undefined) this.db.prepare(`DELETE FROM bundle_channel WHERE peer = ? AND direction = 'out'`).run(peer);
    else this.db.prepare(`UPDATE bundle_channel SET last_sequence = ?, last_manifest_sha256 = ?, updated_at = ? WHERE peer = ? AND direction = 'out'`).run(previous.sequence, previous.manifestSha256, now, peer);
    return { ...last, retractedAt: now };
  }

  // ---- CSRs ----

  /** Records a CSR sent to `peer` in the bundle `manifestSha256`. */
  addSentCsr(c: Omit<SentCsr, 'answeredBy' | 'answeredAt'>): void {
    this.db
      .prepare('INSERT INTO bundle_sent_csr (csr_sha256, peer, name, spki_sha256, not_before, not_after, manifest_sha256) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(c.csrSha256, c.peer, c.name, c.spkiSha256, c.notBefore, c.notAfter, c.manifestSha256);
  }

  /** A CSR we sent, by the SHA-256 of its DER. */
  sentCsr(csrSha256: string): SentCsr | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_sent_csr WHERE csr_sha256 = ?').get(csrSha256) as Row | undefined;
    return r === undefined ? undefined : sentCsrOf(r);
  }

  /** CSRs sent to a peer. */
  sentCsrs(peer?: string): SentCsr[] {
    return (this.db.prepare('SELECT * FROM bundle_sent_csr WHERE (@peer IS NULL OR peer = @peer) ORDER BY rowid').all({ peer: peer ?? null }) as Row[]).map(sentCsrOf);
  }

  /** Marks a sent CSR as answered by a certificate (SHA-256 of its DER). */
  answerCsr(csrSha256: string, certificateSha256: string, now: string): void {
    this.db.prepare('UPDATE bundle_sent_csr SET answered_by = ?, answered_at = ? WHERE csr_sha256 = ? AND answered_by IS NULL').run(certificateSha256, now, csrSha256);
  }

  // ---- CRL numbers ----

  /** The last imported CRL number (decimal string) of an issuer, with the CRL's hash. */
  crlNumber(issuerFingerprint: string): { crlNumber: bigint; crlSha256: string } | undefined {
    const r = this.db.prepare('SELECT * FROM bundle_crl_number WHERE issuer_fingerprint = ?').get(issuerFingerprint) as Row | undefined;
    return r === undefined ? undefined : { crlNumber: BigInt(str(r, 'crl_number')), crlSha256: str(r, 'crl_sha256') };
  }

  /** Records the newest CRL number of an issuer. */
  setCrlNumber(issuerFingerprint: string, crlNumber: bigint, crlSha256: string, thisUpdate: string): void {
    this.db
      .prepare(
        `INSERT INTO bundle_crl_number (issuer_fingerprint, crl_number, crl_sha256, this_update) VALUES (?, ?, ?, ?)
         ON CONFLICT (issuer_fingerprint) DO UPDATE SET crl_number = excluded.crl_number, crl_sha256 = excluded.crl_sha256, this_update = excluded.this_update`,
      )
      .run(issuerFingerprint, crlNumber.toString(), crlSha256, thisUpdate);
  }
}

/**
 * Opens the bundle view of a store, applying the bundle migrations if needed.
 * @throws {CoreError} ERR_STORE_MIGRATION_FAILED, ERR_STORE_FROM_FUTURE
 */
export function bundleState(store: Store): BundleState {
  store.migrate([BUNDLE_MIGRATIONS]);
  return new BundleState(store);
}
