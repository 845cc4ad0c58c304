/**
 * @module transcript/conventions
 * The record types and data shapes the ceremony runner writes and the report understands
 * (docs/transcript.md lists them with examples). Any other dotted type is allowed and appears in
 * the report's full log; these are the ones the report also turns into tables: participants,
 * steps with sign-offs and outputs, keys, certificates and confirmed fingerprints. Types only and
 * constants; nothing here does I/O.
 *
 * Must never: define a shape that carries private key material or a secret (PINs, passphrases,
 * shares); record their fingerprints or digests instead.
 */

/** Record types with a meaning for the report. */
export const RECORD_TYPES = {
  /** A person takes part: `{ name, role }` (actor: the administrator registering them). */
  participantRegistered: 'participant.registered',
  /** A step begins: {@link StepStartedData}. */
  stepStarted: 'step.started',
  /** A step finished: {@link StepCompletedData}. */
  stepCompleted: 'step.completed',
  /** A step failed: {@link StepFailedData}. */
  stepFailed: 'step.failed',
  /** A step was skipped (e.g. already done before a crash): `{ step, reason }`. */
  stepSkipped: 'step.skipped',
  /** A person signs a step off; actor and role are the person: `{ step }`. */
  stepSignedOff: 'step.signed-off',
  /** A key was generated: {@link KeyGeneratedData}. */
  keyGenerated: 'key.generated',
  /** A certificate or CRL was issued: `{ step?, certificate: CertificateRecord }`. */
  certificateIssued: 'certificate.issued',
  /** A fingerprint was read aloud and confirmed; actor: who confirmed: `{ subject, sha256 }`. */
  fingerprintConfirmed: 'fingerprint.confirmed',
} as const;

/** `step.started` data. */
export interface StepStartedData {
  /** The step id from the script. */
  step: string;
  /** Human title from the script. */
  title?: string;
  /** The action name from the script. */
  action?: string;
}

/** An output file of a step, by digest. */
export interface OutputRecord {
  /** File name (relative to the ceremony folder). */
  name: string;
  /** SHA-256 of its bytes, lower-case hex. */
  sha256: string;
  size?: number;
}

/** `step.completed` data. */
export interface StepCompletedData {
  step: string;
  outputs?: OutputRecord[];
}

/** `step.failed` data. */
export interface StepFailedData {
  step: string;
  error: { code: string; message: string };
}

/** `key.generated` data. */
export interface KeyGeneratedData {
  step?: string;
  label: string;
  /** e.g. `RSA-4096`, `EC P-256`. */
  algorithm: string;
  /** SHA-256 of the SubjectPublicKeyInfo DER, hex: read aloud. */
  spkiSha256: string;
  token?: { label: string; serial: string };
}

/**
 * A certificate as recorded (fields derived from the PEM by the PKI domain). The report shows any
 * object in any record's data that has at least `subject` and `serial`.
 */
export interface CertificateRecord {
  subject: string;
  /** Serial number, lower-case hex. */
  serial: string;
  issuer?: string;
  notBefore?: string;
  notAfter?: string;
  /** SHA-256 of the certificate DER, hex. */
  sha256?: string;
  /** SHA-256 of the certificate's SubjectPublicKeyInfo DER, hex. */
  spkiSha256?: string;
  /** The certificate itself (public). */
  pem?: string;
}
