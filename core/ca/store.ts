/**
 * @module ca/store
 * The PKI domain's tables (`MigrationSet` for domain `pki`): every issued certificate, every
 * CRL (CRL number strictly increasing per issuer key), and every revocation, each with the
 * ceremony that made it. The tables are insert-only: triggers refuse UPDATE and DELETE, and a
 * trigger refuses a CRL number that does not exceed the issuer's last one. Certificates and CRLs
 * are stored as PEM with their fingerprints, subject, validity, SPKI hash and profile digest.
 *
 * Must never: store private keys, PINs or anything secret; update or delete a row.
 */
import { CoreError } from '../errors.ts';
import { isConstraintError, type Database, type MigrationSet, type Store } from '../store/index.ts';
import type { CrlReasonName } from '../pki/extensions.ts';

/** Schema of the `pki` domain. */
export const PKI_MIGRATIONS: MigrationSet = {
  domain: 'pki',
  migrations: [
    {
      version: 1,
      description: 'certificates, CRLs and revocations (insert-only)',
      up: `
        CREATE TABLE pki_certificates (
          id INTEGER PRIMARY KEY,
          serial TEXT NOT NULL UNIQUE CHECK (serial GLOB '[0-9a-f]*' AND length(serial) % 2 = 0),
          sha256 TEXT NOT NULL UNIQUE,
          tbs_sha256 TEXT NOT NULL,
          role TEXT NOT NULL CHECK (role IN ('root', 'intermediate', 'leaf', 'self-signed')),
          subject TEXT NOT NULL,
          issuer TEXT NOT NULL,
          spki_sha256 TEXT NOT NULL,
          issuer_spki_sha256 TEXT NOT NULL,
          ski TEXT,
          is_ca INTEGER NOT NULL CHECK (is_ca IN (0, 1)),
          not_before TEXT NOT NULL,
          not_after TEXT NOT NULL,
          profile TEXT NOT NULL,
          profile_sha256 TEXT NOT NULL,
          pem TEXT NOT NULL,
          ceremony_id TEXT NOT NULL,
          ceremony_step TEXT,
          rehearsal INTEGER NOT NULL CHECK (rehearsal IN (0, 1)),
          issued_at TEXT NOT NULL
        ) STRICT;
        CREATE INDEX pki_certificates_issuer ON pki_certificates (issuer_spki_sha256);
        CREATE INDEX pki_certificates_spki ON pki_certificates (spki_sha256);

        CREATE TABLE pki_crls (
          id INTEGER PRIMARY KEY,
          issuer_spki_sha256 TEXT NOT NULL,
          issuer TEXT NOT NULL,
          crl_number INTEGER NOT NULL CHECK (crl_number > 0),
          this_update TEXT NOT NULL,
          next_update TEXT NOT NULL,
          revoked_count INTEGER NOT NULL,
          sha256 TEXT NOT NULL UNIQUE,
          tbs_sha256 TEXT NOT NULL,
          profile TEXT NOT NULL,
          profile_sha256 TEXT NOT NULL,
          pem TEXT NOT NULL,
          ceremony_id TEXT NOT NULL,
          ceremony_step TEXT,
          rehearsal INTEGER NOT NULL CHECK (rehearsal IN (0, 1)),
          issued_at TEXT NOT NULL,
          UNIQUE (issuer_spki_sha256, crl_number)
        ) STRICT;

        CREATE TABLE pki_revocations (
          id INTEGER PRIMARY KEY,
          serial TEXT NOT NULL REFERENCES pki_certificates (serial),
          issuer_spki_sha256 TEXT NOT NULL,
          revoked_at TEXT NOT NULL,
          reason TEXT NOT NULL,
          invalidity_date TEXT,
          ceremony_id TEXT NOT NULL,
          ceremony_step TEXT,
          rehearsal INTEGER NOT NULL CHECK (rehearsal IN (0, 1)),
          recorded_at TEXT NOT NULL,
          UNIQUE (serial)
        ) STRICT;
        CREATE INDEX pki_revocations_issuer ON pki_revocations (issuer_spki_sha256);

        CREATE TRIGGER pki_certificates_no_update BEFORE UPDATE ON pki_certificates BEGIN SELECT RAISE(ABORT, 'pki_certificates is insert-only'); END;
        CREATE TRIGGER pki_certificates_no_delete BEFORE DELETE ON pki_certificates BEGIN SELECT RAISE(ABORT, 'pki_certificates is insert-only'); END;
        CREATE TRIGGER pki_crls_no_update BEFORE UPDATE ON pki_crls BEGIN SELECT RAISE(ABORT, 'pki_crls is insert-only'); END;
        CREATE TRIGGER pki_crls_no_delete BEFORE DELETE ON pki_crls BEGIN SELECT RAISE(ABORT, 'pki_crls is insert-only'); END;
        CREATE TRIGGER pki_crls_monotonic BEFORE INSERT ON pki_crls
          WHEN NEW.crl_number <= COALESCE((SELECT MAX(crl_number) FROM pki_crls WHERE issuer_spki_sha256 = NEW.issuer_spki_sha256), 0)
          BEGIN SELECT RAISE(ABORT, 'CRL number not greater than the last one of this issuer'); END;
        CREATE TRIGGER pki_revocations_no_update BEFORE UPDATE ON pki_revocations BEGIN SELECT RAISE(ABORT, 'pki_revocations is insert-only'); END;
        CREATE TRIGGER pki_revocations_no_delete BEFORE DELETE ON pki_revocations BEGIN SELECT RAISE(ABORT, 'pki_revocations is insert-only'); END;
      `,
    },
  ],
};

/** Which ceremony (or rehearsal, or CLI run) made a record. */
export interface CeremonyRef {
  /** Ceremony id (e.g. the runner's id) or a free reference such as `cli:2026-12-01T10:00:00Z`. */
  id: string;
  /** Step within the ceremony. */
  step?: string;
  /** True for rehearsal records (SoftHSM throwaway tokens). */
  rehearsal?: boolean;
}

/** A recorded certificate. */
export interface CertificateRecord {
  serial: string;
  sha256: string;
  tbsSha256: string;
  role: 'root' | 'intermediate' | 'leaf' | 'self-signed';
  subject: string;
  issuer: string;
  spkiSha256: string;
  issuerSpkiSha256: string;
  ski?: string;
  isCa: boolean;
  notBefore: string;
  notAfter: string;
  profile: string;
  profileSha256: string;
  pem: string;
  ceremony: CeremonyRef;
  issuedAt: string;
}

/** A recorded CRL. */
export interface CrlRecord {
  issuerSpkiSha256: string;
  issuer: string;
  crlNumber: number;
  thisUpdate: string;
  nextUpdate: string;
  revokedCount: number;
  sha256: string;
  tbsSha256: string;
  profile: string;
  profileSha256: string;
  pem: string;
  ceremony: CeremonyRef;
  issuedAt: string;
}

/** A recorded revocation. */
export interface RevocationRecord {
  serial: string;
  issuerSpkiSha256: string;
  revokedAt: string;
  reason: CrlReasonName;
  invalidityDate?: string;
  ceremony: CeremonyRef;
  recordedAt: string;
}

type Row = Record<string, unknown>;

function ceremonyOf(r: Row): CeremonyRef {
  const c: CeremonyRef = { id: String(r['ceremony_id']), rehearsal: r['rehearsal'] === 1 };
  if (r['ceremony_step'] !== null && r['ceremony_step'] !== undefined) c.step = String(r['ceremony_step']);
  return c;
}

function certOf(r: Row): CertificateRecord {
  const c: CertificateRecord = {
    serial: String(r['serial']),
    sha256: String(r['sha256']),
    tbsSha256: String(r['tbs_sha256']),
    role: r['role'] as CertificateRecord['role'],
    subject: String(r['subject']),
    issuer: String(r['issuer']),
    spkiSha256: String(r['spki_sha256']),
    issuerSpkiSha256: String(r['issuer_spki_sha256']),
    isCa: r['is_ca'] === 1,
    notBefore: String(r['not_before']),
    notAfter: String(r['not_after']),
    profile: String(r['profile']),
    profileSha256: String(r['profile_sha256']),
    pem: String(r['pem']),
    ceremony: ceremonyOf(r),
    issuedAt: String(r['issued_at']),
  };
  if (r['ski'] !== null && r['ski'] !== undefined) c.ski = String(r['ski']);
  return c;
}

function crlOf(r: Row): CrlRecord {
  return {
    issuerSpkiSha256: String(r['issuer_spki_sha256']),
    issuer: String(r['issuer']),
    crlNumber: Number(r['crl_number']),
    thisUpdate: String(r['this_update']),
    nextUpdate: String(r['next_update']),
    revokedCount: Number(r['revoked_count']),
    sha256: String(r['sha256']),
    tbsSha256: String(r['tbs_sha256']),
    profile: String(r['profile']),
    profileSha256: String(r['profile_sha256']),
    pem: String(r['pem']),
    ceremony: ceremonyOf(r),
    issuedAt: String(r['issued_at']),
  };
}

function revocationOf(r: Row): RevocationRecord {
  const v: RevocationRecord = {
    serial: String(r['serial']),
    issuerSpkiSha256: String(r['issuer_spki_sha256']),
    revokedAt: String(r['revoked_at']),
    reason: r['reason'] as CrlReasonName,
    ceremony: ceremonyOf(r),
    recordedAt: String(r['recorded_at']),
  };
  if (r['invalidity_date'] !== null && r['invalidity_date'] !== undefined) v.invalidityDate = String(r['invalidity_date']);
  return v;
}

function storeFailed(what: string, e: unknown): CoreError {
  if (isConstraintError(e)) return new CoreError('ERR_STORE_CONSTRAINT', `${what} was refused by the database: ${e instanceof Error ? e.message : 'constraint failed'}`, { cause: e });
  return new CoreError('ERR_STORE_FAILED', `${what} failed: ${e instanceof Error ? e.message : 'unknown database error'}`, { cause: e });
}

/** The PKI view of a store. */
export interface CaStore {
  readonly store: Store;
  /** True when a certificate with this serial is recorded. */
  serialExists(serial: string): boolean;
  /** The certificate with this serial, if recorded. */
  certificate(serial: string): CertificateRecord | undefined;
  /** The certificate with this SHA-256 fingerprint, if recorded. */
  certificateBySha256(sha256: string): CertificateRecord | undefined;
  /** Certificates, optionally filtered by issuer key or role, oldest first. */
  certificates(filter?: { issuerSpkiSha256?: string; role?: CertificateRecord['role'] }): CertificateRecord[];
  /** The issuer's last CRL number (0 when it has none). */
  lastCrlNumber(issuerSpkiSha256: string): number;
  /** The issuer's newest CRL. */
  latestCrl(issuerSpkiSha256: string): CrlRecord | undefined;
  /** Every CRL of an issuer, oldest first. */
  crls(issuerSpkiSha256: string): CrlRecord[];
  /** Revocations of certificates of an issuer. */
  revocations(issuerSpkiSha256: string): RevocationRecord[];
  /** The revocation of one serial, if any. */
  revocation(serial: string): RevocationRecord | undefined;
  /** Inserts a certificate (used by signPrepared). */
  insertCertificate(record: CertificateRecord, db?: Database): void;
  /** Inserts a CRL (used by signPrepared). */
  insertCrl(record: CrlRecord, db?: Database): void;
  /** Inserts a revocation (used by revokeCertificate). */
  insertRevocation(record: RevocationRecord, db?: Database): void;
}

/**
 * Applies the `pki` migrations to `store` and returns the PKI view of it.
 * @throws {CoreError} ERR_STORE_MIGRATION_FAILED, ERR_STORE_FROM_FUTURE
 */
export function openCaStore(store: Store): CaStore {
  store.migrate([PKI_MIGRATIONS]);
  const db = store.db;
  return {
    store,
    serialExists: (serial) => db.prepare('SELECT 1 FROM pki_certificates WHERE serial = ?').get(serial) !== undefined,
    certificate(serial) {
      const r = db.prepare('SELECT * FROM pki_certificates WHERE serial = ?').get(serial) as Row | undefined;
      return r === undefined ? undefined : certOf(r);
    },
    certificateBySha256(sha256) {
      const r = db.prepare('SELECT * FROM pki_certificates WHERE sha256 = ?').get(sha256) as Row | undefined;
      return r === undefined ? undefined : certOf(r);
    },
    certificates(filter = {}) {
      const where: string[] = [];
      const args: string[] = [];
      if (filter.issuerSpkiSha256 !== undefined) {
        where.push('issuer_spki_sha256 = ?');
        args.push(filter.issuerSpkiSha256);
      }
      if (filter.role !== undefined) {
        where.push('role = ?');
        args.push(filter.role);
      }
      const rows = db.prepare(`SELECT * FROM pki_certificates${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY id`).all(...args) as Row[];
      return rows.map(certOf);
    },
    lastCrlNumber(issuer) {
      const r = db.prepare('SELECT MAX(crl_number) AS n FROM pki_crls WHERE issuer_spki_sha256 = ?').get(issuer) as { n: number | null };
      return r.n ?? 0;
    },
    latestCrl(issuer) {
      const r = db.prepare('SELECT * FROM pki_crls WHERE issuer_spki_sha256 = ? ORDER BY crl_number DESC LIMIT 1').get(issuer) as Row | undefined;
      return r === undefined ? undefined : crlOf(r);
    },
    crls(issuer) {
      return (db.prepare('SELECT * FROM pki_crls WHERE issuer_spki_sha256 = ? ORDER BY crl_number').all(issuer) as Row[]).map(crlOf);
    },
    revocations(issuer) {
      return (db.prepare('SELECT * FROM pki_revocations WHERE issuer_spki_sha256 = ? ORDER BY id').all(issuer) as Row[]).map(revocationOf);
    },
    revocation(serial) {
      const r = db.prepare('SELECT * FROM pki_revocations WHERE serial = ?').get(serial) as Row | undefined;
      return r === undefined ? undefined : revocationOf(r);
    },
    insertCertificate(c, d = db) {
      try {
        d.prepare(
          `INSERT INTO pki_certificates (serial, sha256, tbs_sha256, role, subject, issuer, spki_sha256, issuer_spki_sha256, ski, is_ca, not_before, not_after, profile, profile_sha256, pem, ceremony_id, ceremony_step, rehearsal, issued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(c.serial, c.sha256, c.tbsSha256, c.role, c.subject, c.issuer, c.spkiSha256, c.issuerSpkiSha256, c.ski ?? null, c.isCa ? 1 : 0, c.notBefore, c.notAfter, c.profile, c.profileSha256, c.pem, c.ceremony.id, c.ceremony.step ?? null, c.ceremony.rehearsal === true ? 1 : 0, c.issuedAt);
      } catch (e) {
        if (isConstraintError(e) && /pki_certificates\.serial/u.test(e instanceof Error ? e.message : '')) {
          throw new CoreError('ERR_PKI_SERIAL_COLLISION', `serial ${c.serial} is already recorded for another certificate; nothing was recorded`, { cause: e, details: { serial: c.serial } });
        }
        throw storeFailed('recording the certificate', e);
      }
    },
    insertCrl(c, d = db) {
      try {
        d.prepare(
          `INSERT INTO pki_crls (issuer_spki_sha256, issuer, crl_number, this_update, next_update, revoked_count, sha256, tbs_sha256, profile, profile_sha256, pem, ceremony_id, ceremony_step, rehearsal, issued_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(c.issuerSpkiSha256, c.issuer, c.crlNumber, c.thisUpdate, c.nextUpdate, c.revokedCount, c.sha256, c.tbsSha256, c.profile, c.profileSha256, c.pem, c.ceremony.id, c.ceremony.step ?? null, c.ceremony.rehearsal === true ? 1 : 0, c.issuedAt);
      } catch (e) {
        if (e instanceof Error && /not greater than the last one|pki_crls\.issuer_spki_sha256, pki_crls\.crl_number/u.test(e.message)) {
          throw new CoreError('ERR_PKI_CRL_INVALID', `CRL number ${c.crlNumber} is not greater than the issuer's last recorded CRL number; another CRL was recorded since this one was prepared. Prepare it again`, { cause: e });
        }
        throw storeFailed('recording the CRL', e);
      }
    },
    insertRevocation(r, d = db) {
      try {
        d.prepare(
          `INSERT INTO pki_revocations (serial, issuer_spki_sha256, revoked_at, reason, invalidity_date, ceremony_id, ceremony_step, rehearsal, recorded_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(r.serial, r.issuerSpkiSha256, r.revokedAt, r.reason, r.invalidityDate ?? null, r.ceremony.id, r.ceremony.step ?? null, r.ceremony.rehearsal === true ? 1 : 0, r.recordedAt);
      } catch (e) {
        if (isConstraintError(e) && /pki_revocations\.serial/u.test(e instanceof Error ? e.message : '')) {
          throw new CoreError('ERR_PKI_NOT_REVOCABLE', `certificate ${r.serial} is already revoked`, { cause: e, details: { serial: r.serial } });
        }
        throw storeFailed('recording the revocation', e);
      }
    },
  };
}
