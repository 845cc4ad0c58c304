/**
 * Test fixture for the shipped ceremony scripts: a CA folder, five custodian media, two backup media,
 * the site file and the answers file of a 3-of-5 rehearsal, and where the runner puts ceremonies.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { generateKeyPairSync } from 'node:crypto';

import { bundleState, certificateFingerprint, certificateFromInput, createBundle, enrollPeer, generateFileIdentity, importBundle, pinRoot, recordIdentity, type PayloadFile } from '../../../core/bundle/index.ts';
import { softwareSigner } from '../../../core/crypto/signer.ts';
import { buildCsr, toPem } from '../../../core/pki/index.ts';
import { loadCustodianFile, openCaHome, rehearsalSoftHsmDir } from '../../../core/ceremony/index.ts';
import { ActivationSession } from '../../../core/quorum/index.ts';
import { openStore } from '../../../core/store/index.ts';
import { Secret } from '../../../core/util/secret.ts';
import { tempDir } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { cli, FIXTURES, REPO } from './fixture.ts';

/** The custodians' media folder names. */
export const CUSTODIANS = ['carol', 'dave', 'erin', 'frank', 'grace'];

export interface RootFixture {
  root: string;
  caDir: string;
  sitePath: string;
  answersPath: string;
  media: string;
  cleanup(): void;
}

/** A CA folder, five custodian media, two backup media, the site and answers files. */
export function makeRootFixture(): RootFixture {
  const { dir, cleanup } = tempDir('neam-root-');
  const media = join(dir, 'media');
  for (const c of CUSTODIANS) mkdirSync(join(media, c), { recursive: true });
  for (const b of ['1', '2']) mkdirSync(join(dir, 'backup', b), { recursive: true });
  const sitePath = join(dir, 'site.yaml');
  writeFileSync(sitePath, readFileSync(join(FIXTURES, 'site-root.template.yaml'), 'utf8').replaceAll('{{OUTPUT_DIR}}', join(dir, 'ca')));
  const answersPath = join(dir, 'answers.yaml');
  writeFileSync(answersPath, readFileSync(join(FIXTURES, 'root-answers.yaml'), 'utf8').replaceAll('{{MEDIA}}', media).replaceAll('{{BACKUP}}', join(dir, 'backup')));
  return { root: dir, caDir: join(dir, 'ca'), sitePath, answersPath, media, cleanup };
}

export function rootRun(fx: RootFixture, env: NodeJS.ProcessEnv = {}): ReturnType<typeof cli> {
  return cli(['ceremony', 'run', join(REPO, 'ceremony-scripts/root.yaml'), '--site', fx.sitePath, '--rehearsal', '--answers', fx.answersPath], { env });
}

/** The rehearsal SoftHSM configuration of a root fixture's CA folder. */
export function rehearsalConf(fx: RootFixture): string {
  return join(rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')), 'softhsm2.conf');
}

/** pkcs11-tool (OpenSC, an independent reader) against the rehearsal token; exit code and output. */
export function p11(fx: RootFixture, args: string[], label = 'neam-root'): { code: number; out: string } {
  const r = run('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', label, ...args], { env: { ...process.env, SOFTHSM2_CONF: rehearsalConf(fx) } });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

/** Serials of the initialised rehearsal tokens labelled `label` (softhsm2-util, independent of our HSM port). */
export function tokenSerials(fx: RootFixture, label = 'neam-root'): string[] {
  const text = runOk('softhsm2-util', ['--show-slots'], { env: { ...process.env, SOFTHSM2_CONF: rehearsalConf(fx) } });
  return text
    .split(/\n(?=Slot )/u)
    .filter((b) => new RegExp(`Label:\\s+${label}\\s*$`, 'mu').test(b) && /Initialized:\s+yes/u.test(b))
    .map((b) => /Serial number:\s+([0-9a-f]+)/u.exec(b.slice(b.indexOf('Token info')))?.[1] ?? '?');
}

/** The operator's reset of a rehearsal token whose temporary PINs were lost (what the resume advises). */
export function deleteToken(fx: RootFixture, serial: string): void {
  runOk('softhsm2-util', ['--delete-token', '--serial', serial], { env: { ...process.env, SOFTHSM2_CONF: rehearsalConf(fx) } });
}

/** The passphrase the root answers give a custodian (by media folder name). */
export function custodianPassphrase(media: string): string {
  return `${media} rehearsal passphrase`;
}

/**
 * Both token PINs of the CA folder's current quorum, rebuilt from three custodians' files the way
 * the documentation defines them (for the test's own checks: never printed).
 */
export async function quorumPins(fx: RootFixture): Promise<{ user: string; so: string }> {
  const ca = openCaHome(join(fx.caDir, 'rehearsal'));
  try {
    const roster = ca.currentRoster();
    if (roster === undefined) throw new Error('no current quorum');
    const a = new ActivationSession(roster);
    for (const m of ['carol', 'dave', 'erin']) {
      const name = `${m[0]!.toUpperCase()}${m.slice(1)} Custodian`;
      const { file } = loadCustodianFile(join(fx.media, m), name, roster);
      await a.addCustodian(file, Secret.fromString(custodianPassphrase(m)));
    }
    return await a.withActivationPins('test', (pins) => ({ user: pins.user.use((b) => b.toString('utf8')), so: pins.so!.use((b) => b.toString('utf8')) }));
  } finally {
    ca.close();
  }
}

export function ceremonyFolder(fx: RootFixture, script = 'root'): string {
  const base = join(fx.caDir, 'rehearsal', 'ceremonies');
  const found = readdirSync(base).filter((n) => n.endsWith(`-${script}-rehearsal`));
  if (found.length !== 1) throw new Error(`expected one ${script} ceremony in ${base}: ${readdirSync(base).join(', ')}`);
  return join(base, found[0]!);
}


/** The online CA's side of the air gap, for tests: its own bundle state, transfer identity and CSRs. */
export interface OnlineSide {
  /** The online transfer certificate (PEM) and its fingerprint, read aloud at the ceremony. */
  certificatePath: string;
  fingerprint: string;
  /** Writes an intermediate-request bundle for `names`; returns its path. */
  requestBundle(names: Array<{ name: string; startsInDays: number; key: 'rsa-2048' | 'ec-p256' }>): string;
  /** Writes a revocation-request bundle asking to revoke `certificatePem`; returns its path. */
  revocationBundle(certificatePem: string, reason: 'keyCompromise' | 'superseded'): string;
  /** Imports a bundle from the offline side (throws when it does not verify). */
  importBundle(path: string): { alreadyImported: boolean; kind: string };
  close(): void;
}

/**
 * The online side, enrolled with the offline side's transfer certificate and root from a completed
 * root ceremony (pinned by the fingerprints the ceremony recorded).
 */
export function onlineSide(fx: RootFixture, rootCeremonyDir: string): OnlineSide {
  const dir = join(fx.root, 'online');
  mkdirSync(dir, { recursive: true });
  const store = openStore(join(dir, 'online.sqlite'));
  const state = bundleState(store);
  const now = new Date();
  const generated = generateFileIdentity({ name: 'online-ca', path: join(dir, 'transfer.key'), passphrase: Secret.fromString('online transfer passphrase'), now, kdf: { N: 2 ** 15, r: 8, p: 1 } });
  recordIdentity(state, generated, now);
  const transfer = readFileSync(join(rootCeremonyDir, 'transfer.pem'));
  const root = readFileSync(join(rootCeremonyDir, 'root.pem'));
  enrollPeer(state, { name: 'offline-root', certificate: transfer, fingerprint: certificateFingerprint(certificateFromInput(transfer)), now });
  pinRoot(state, { peer: 'offline-root', certificate: root, fingerprint: certificateFingerprint(certificateFromInput(root)), now });
  const certificatePath = join(dir, 'online-transfer.pem');
  writeFileSync(certificatePath, toPem('CERTIFICATE', generated.certificate));
  let n = 0;
  return {
    certificatePath,
    fingerprint: generated.fingerprint,
    requestBundle(names) {
      const files: PayloadFile[] = [];
      const requests = names.map((r) => {
        const { privateKey } = r.key === 'rsa-2048' ? generateKeyPairSync('rsa', { modulusLength: 2048 }) : generateKeyPairSync('ec', { namedCurve: 'P-256' });
        const csr = buildCsr({ subject: { commonName: `online ${r.name}` }, signer: softwareSigner(privateKey, r.key === 'rsa-2048' ? 'RSA-PKCS1-SHA256' : 'ECDSA-SHA256') });
        const path = `payload/csr/${r.name}.csr`;
        files.push({ path, data: Buffer.from(toPem('CERTIFICATE REQUEST', csr.der)) });
        const start = new Date(Date.now() + r.startsInDays * 86_400_000);
        return { name: r.name, csr: path, notBefore: start.toISOString().replace(/\.\d{3}Z$/u, 'Z'), notAfter: new Date(start.getTime() + 90 * 86_400_000).toISOString().replace(/\.\d{3}Z$/u, 'Z') };
      });
      files.push({ path: 'payload/index.json', data: Buffer.from(JSON.stringify({ requests })) });
      const out = join(dir, `request-${++n}.neambundle`);
      createBundle(state, { kind: 'intermediate-request', to: 'offline-root', files, signer: generated.signer, now: new Date(), write: (b) => writeFileSync(out, b.bytes, { flag: 'wx' }) });
      return out;
    },
    revocationBundle(certificatePem, reason) {
      const files: PayloadFile[] = [
        { path: 'payload/revoke/1.pem', data: Buffer.from(certificatePem) },
        { path: 'payload/index.json', data: Buffer.from(JSON.stringify({ revocations: [{ certificate: 'payload/revoke/1.pem', reason, comment: 'test revocation' }] })) },
      ];
      const out = join(dir, `revocation-${++n}.neambundle`);
      createBundle(state, { kind: 'revocation-request', to: 'offline-root', files, signer: generated.signer, now: new Date(), write: (b) => writeFileSync(out, b.bytes, { flag: 'wx' }) });
      return out;
    },
    importBundle(path) {
      const r = importBundle(state, readFileSync(path), { now: new Date() });
      return { alreadyImported: r.alreadyImported, kind: r.manifest.kind };
    },
    close: () => store.close(),
  };
}
