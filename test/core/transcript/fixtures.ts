/**
 * Test fixtures for the transcript domain: a realistic root-ceremony transcript written through
 * the real writer, closed by a transfer key held in SoftHSM (ECDSA P-256) and co-signed by two
 * witnesses' software approval keys, plus helpers to tamper with its lines.
 */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import { hsmSigner, softwareSigner, type Signer } from '../../../core/crypto/signer.ts';
import { createTranscript, type CloseSigner, type TranscriptWriter } from '../../../core/transcript/index.ts';
import { createSoftHsm, type SoftHsmFixture } from '../../helpers/softhsm.ts';

/** A clock that starts at `start` and advances `stepMs` per call. */
export function steppingClock(start = '2026-12-01T09:00:00.000Z', stepMs = 61_000): () => Date {
  let t = Date.parse(start);
  return () => {
    const d = new Date(t);
    t += stepMs;
    return d;
  };
}

/** A software ECDSA P-256 key (a witness's approval key). */
export function witnessKey(): { signer: Signer; privateKey: KeyObject } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { signer: softwareSigner(privateKey, 'ECDSA-SHA256'), privateKey };
}

/** SoftHSM token with a P-256 transfer key. */
export interface TransferHsm {
  hsm: SoftHsmFixture;
  signer: Signer;
}

/** Creates a SoftHSM token holding the offline transfer key. Close `hsm` afterwards. */
export function transferKeyOnSoftHsm(): TransferHsm {
  const hsm = createSoftHsm('offline-root');
  const pair = hsm.session.generateKeyPair({ type: 'EC', curve: 'P-256' }, { label: 'transfer' });
  return { hsm, signer: hsmSigner(hsm.session, pair.privateKey, 'ECDSA-SHA256') };
}

const ROOT_CERT_SHA = 'c0ffee00'.repeat(8);
const ROOT_SPKI_SHA = '5ca1ab1e'.repeat(8);

/** Writes the body of a root ceremony (records 2..n) through `w`. */
export function writeRootCeremonyBody(w: TranscriptWriter): void {
  const admin = { actor: 'Alice Admin', role: 'administrator' };
  for (const [name, role] of [
    ['Alice Admin', 'administrator'],
    ['Carol Custodian', 'custodian'],
    ['Dan Custodian', 'custodian'],
    ['Erin Custodian', 'custodian'],
    ['Wendy Witness', 'witness'],
    ['Walter Witness', 'witness'],
  ] as const) {
    w.append({ ...admin, type: 'participant.registered', data: { name, role } });
  }
  w.append({ ...admin, type: 'check.airgap', data: { interfaces: ['lo'], result: 'passed' } });
  w.append({ ...admin, type: 'check.clock', data: { displayed: '2026-12-01T09:07:00.000Z', confirmedBy: 'Wendy Witness' } });
  w.append({ ...admin, type: 'step.started', data: { step: 'root-key', title: 'Generate the root key in the HSM', action: 'generate-key' } });
  w.append({ ...admin, type: 'key.generated', data: { step: 'root-key', label: 'root-2026', algorithm: 'RSA-4096', spkiSha256: ROOT_SPKI_SHA, token: { label: 'offline-root', serial: '1a2b3c4d' } } });
  w.append({ ...admin, type: 'step.completed', data: { step: 'root-key', outputs: [{ name: 'root-2026.spki.pem', sha256: 'ab'.repeat(32), size: 800 }] } });
  w.append({ actor: 'Wendy Witness', role: 'witness', type: 'step.signed-off', data: { step: 'root-key' } });
  w.append({ actor: 'Carol Custodian', role: 'custodian', type: 'step.signed-off', data: { step: 'root-key' } });
  w.append({ ...admin, type: 'step.started', data: { step: 'root-cert', title: 'Sign the root certificate', action: 'sign-root' } });
  w.append({
    ...admin,
    type: 'certificate.issued',
    data: {
      step: 'root-cert',
      certificate: { subject: 'CN=NEAM Root CA 2026, O=NEAM', issuer: 'CN=NEAM Root CA 2026, O=NEAM', serial: '01f3a9c0d2e4b6a8c0ffee', notBefore: '2026-12-01T00:00:00.000Z', notAfter: '2036-12-01T00:00:00.000Z', sha256: ROOT_CERT_SHA, spkiSha256: ROOT_SPKI_SHA },
    },
  });
  w.append({ ...admin, type: 'step.completed', data: { step: 'root-cert', outputs: [{ name: 'root.pem', sha256: ROOT_CERT_SHA, size: 1902 }] } });
  w.append({ actor: 'Walter Witness', role: 'witness', type: 'step.signed-off', data: { step: 'root-cert' } });
  w.append({ actor: 'Wendy Witness', role: 'witness', type: 'fingerprint.confirmed', data: { subject: 'root certificate', sha256: ROOT_CERT_SHA } });
}

/** Closing signers: the HSM transfer key and two witnesses. */
export function closingSigners(transfer: Signer, witnesses: Signer[], transferCertificate?: Uint8Array): CloseSigner[] {
  return [
    { kind: 'transfer', name: 'offline transfer key', role: 'system', signer: transfer, ...(transferCertificate === undefined ? {} : { certificate: transferCertificate }) },
    ...witnesses.map((signer, i): CloseSigner => ({ kind: 'witness', name: i === 0 ? 'Wendy Witness' : 'Walter Witness', role: 'witness', signer })),
  ];
}

/** A closed root-ceremony transcript in `dir`; returns its path and bytes. */
export function writeClosedTranscript(dir: string, transfer: Signer, witnesses: Signer[], options: { rehearsal?: boolean; previous?: { head: string; ceremony?: string } | null; name?: string; ceremony?: string; transferCertificate?: Uint8Array } = {}): { path: string; bytes: Buffer } {
  const path = join(dir, options.name ?? 'transcript.jsonl');
  const w = createTranscript(path, {
    ceremony: options.ceremony ?? 'root-2026-12-01',
    rehearsal: options.rehearsal ?? true,
    previous: options.previous ?? null,
    actor: 'Alice Admin',
    role: 'administrator',
    data: { title: 'Root key ceremony', script: { name: 'root.yaml', sha256: 'de'.repeat(32) } },
    clock: steppingClock(),
  });
  writeRootCeremonyBody(w);
  w.close({ actor: 'Alice Admin', role: 'administrator', outcome: 'completed', signers: closingSigners(transfer, witnesses, options.transferCertificate) });
  return { path, bytes: readFileSync(path) };
}

/** The lines of a transcript (each without its newline). */
export function linesOf(bytes: Buffer | string): string[] {
  const s = bytes.toString();
  return s.slice(0, s.endsWith('\n') ? -1 : undefined).split('\n');
}

/** Joins lines back into a transcript (newline-terminated). */
export function joinLines(lines: string[]): string {
  return `${lines.join('\n')}\n`;
}
