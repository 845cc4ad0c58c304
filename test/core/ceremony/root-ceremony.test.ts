/**
 * The shipped root ceremony (ceremony-scripts/root.yaml) rehearsed end to end with 3-of-5
 * custodians on SoftHSM, unattended, through the real CLI: every artefact is checked by OpenSSL
 * (and the token by OpenSC's pkcs11-tool), the transcript verifies with its co-signatures, and
 * SIGKILLs after the root key generation and after the CRL signature are recovered by resume with
 * exactly one key and one CRL.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { afterEach, describe, expect, it } from 'vitest';

import { CA_DB, ceremonyJournal, ceremonyStatus, openCaHome, rehearsalSoftHsmDir } from '../../../core/ceremony/index.ts';
import { rosterGovernsSoPin } from '../../../core/quorum/index.ts';
import { verifyTranscriptFile } from '../../../core/transcript/index.ts';
import { runOk } from '../../helpers/tools.ts';
import { cli } from './fixture.ts';
import { ceremonyFolder, CUSTODIANS, makeRootFixture, p11, quorumPins, rootRun, type RootFixture } from './root-fixture.ts';

/** The keys on the rehearsal token, listed by OpenSC's pkcs11-tool (an independent reader). */
function pkcs11Objects(fx: RootFixture): string {
  const conf = join(rehearsalSoftHsmDir(join(fx.caDir, 'rehearsal')), 'softhsm2.conf');
  return runOk('pkcs11-tool', ['--module', '/usr/lib/softhsm/libsofthsm2.so', '--token-label', 'neam-root', '--list-objects'], { env: { ...process.env, SOFTHSM2_CONF: conf } });
}

function countLabel(listing: string, label: string, type: 'Public Key Object' | 'Private Key Object'): number {
  return listing.split(/\n(?=\S)/u).filter((block) => block.startsWith(type) && block.includes(`label:      ${label}\n`)).length;
}

describe('root.yaml rehearsal (3-of-5 custodians, SoftHSM, unattended)', () => {
  let fx: RootFixture | undefined;
  afterEach(() => {
    fx?.cleanup();
    fx = undefined;
  });

  it('runs to completion: root, transfer certificate and CRL verify with OpenSSL; custodian files on five media; both token PINs under the quorum; transcript co-signed', async () => {
    fx = makeRootFixture();
    const r = rootRun(fx);
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const dir = ceremonyFolder(fx);
    const view = ceremonyStatus(dir);
    expect(view.status).toBe('completed');
    expect(view.steps.every((s) => s.status === 'signed')).toBe(true);

    const root = join(dir, 'root.pem');
    expect(runOk('openssl', ['verify', '-x509_strict', '-check_ss_sig', '-CAfile', root, root])).toContain('OK');
    const text = runOk('openssl', ['x509', '-in', root, '-noout', '-subject', '-ext', 'basicConstraints,keyUsage', '-text']);
    expect(text).toContain('CN = REHEARSAL NEAM Root CA');
    expect(text).toContain('CA:TRUE, pathlen:1');
    expect(text).toContain('Public-Key: (4096 bit)');
    expect(runOk('openssl', ['crl', '-in', join(dir, 'root.crl'), '-CAfile', root, '-noout', '-verify', '-crlnumber'])).toContain('crlNumber=0x01');
    const transfer = runOk('openssl', ['x509', '-in', join(dir, 'transfer.pem'), '-noout', '-text']);
    expect(transfer).toContain('CA:FALSE');
    expect(transfer).toContain('ASN1 OID: prime256v1');
    // GnuTLS as a second oracle for the root.
    expect(runOk('certtool', ['--verify', '--load-ca-certificate', root, '--infile', root])).toContain('Verified');

    // Exactly the root and transfer keys on the token, each once, sensitive and never extractable.
    const listing = pkcs11Objects(fx);
    expect(countLabel(listing, 'neam-root-key', 'Public Key Object')).toBe(1);
    expect(countLabel(listing, 'neam-offline-transfer', 'Public Key Object')).toBe(1);

    // Five custodian files, each on its own medium, mode 0600; the roster in the CA folder.
    for (const c of CUSTODIANS) {
      const files = readdirSync(join(fx.media, c));
      expect(files, c).toHaveLength(1);
      expect(statSync(join(fx.media, c, files[0]!)).mode & 0o777).toBe(0o600);
    }
    const ca = openCaHome(join(fx.caDir, 'rehearsal'));
    try {
      const roster = ca.currentRoster()!;
      expect(roster.threshold).toBe(3);
      expect(roster.custodians.map((c) => c.name)).toEqual(['Carol Custodian', 'Dave Custodian', 'Erin Custodian', 'Frank Custodian', 'Grace Custodian']);
      expect(ca.pki.certificates({ role: 'root' })).toHaveLength(1);
    } finally {
      ca.close();
    }

    // The transcript verifies with the default rules (transfer key and at least one co-signer).
    const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'));
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.signers.map((s) => `${s.kind}:${s.name}`)).toEqual(['transfer:neam-offline-transfer', 'witness:Frank Custodian', 'witness:Grace Custodian']);
    expect(v.records.some((r) => r.type === 'quorum.enrolled')).toBe(true);
    expect(v.records.filter((r) => r.type === 'certificate.issued')).toHaveLength(2);
    // Security review H1: both token PINs are derived from the split secret. Nobody typed an SO
    // PIN; the quorum's SO PIN (rebuilt here from three files) is the token's, checked by OpenSC.
    const enrolled = v.records.find((r) => r.type === 'quorum.enrolled')!;
    expect(enrolled.data['pins']).toEqual(['user', 'so']);
    const ca2 = openCaHome(join(fx.caDir, 'rehearsal'));
    try {
      expect(rosterGovernsSoPin(ca2.currentRoster()!)).toBe(true);
    } finally {
      ca2.close();
    }
    const pins = await quorumPins(fx);
    expect(p11(fx, ['--login', '--pin', pins.user, '--list-objects']).code).toBe(0);
    // The derived SO PIN works (setting the user PIN to the quorum's own: no net change).
    expect(p11(fx, ['--login', '--login-type', 'so', '--so-pin', pins.so, '--init-pin', '--new-pin', pins.user]).code).toBe(0);
    expect(p11(fx, ['--login', '--login-type', 'so', '--so-pin', 'rehearsal-so-pin-0001', '--init-pin', '--new-pin', 'hijacked-pin-1234']).out).toContain('CKR_PIN_INCORRECT');
    // No passphrase or PIN in the transcript, the ceremony folder or the CA database.
    const transcript = readFileSync(join(dir, 'transcript.jsonl'), 'utf8');
    const secrets = ['rehearsal passphrase', pins.user, pins.so];
    for (const secret of secrets) expect(transcript).not.toContain(secret);
    const files = [...readdirSync(dir).filter((n) => statSync(join(dir, n)).isFile()).map((n) => join(dir, n)), join(fx.caDir, 'rehearsal', CA_DB)];
    for (const f of files) for (const secret of secrets) expect(readFileSync(f).includes(Buffer.from(secret)), `${f} holds a secret`).toBe(false);
  });

  it('killed after the root key was generated: resume opens the token with 3 custodians and adopts the one root key', () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'root-key:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    expect(ceremonyStatus(dir).steps.find((s) => s.id === 'root-key')!.status).toBe('started');
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toContain('Share of Carol Custodian accepted (1 of 3)');
    expect(resumed.stderr).toContain('was generated before the interruption and is intact');
    const listing = pkcs11Objects(fx);
    expect(countLabel(listing, 'neam-root-key', 'Public Key Object')).toBe(1);
    const journal = ceremonyJournal(dir);
    expect(journal.filter((e) => e.type === 'quorum.activated')).toHaveLength(1);
    expect(journal.find((e) => e.type === 'step.completed' && e.step === 'root-key')!.data).toMatchObject({ how: 'adopted' });
    const v = verifyTranscriptFile(join(dir, 'transcript.jsonl'));
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.records.filter((r) => typeof r.data['journalSeq'] === 'number').map((r) => r.data['journalSeq'])).toEqual(journal.map((e) => e.seq));
  });

  it('killed right after the root CRL was signed: resume adopts the recorded CRL; the number is used once', () => {
    fx = makeRootFixture();
    const killed = rootRun(fx, { NEAM_CA_FAILPOINT: 'root-crl-sign:after-act' });
    expect(killed.signal).toBe('SIGKILL');
    const dir = ceremonyFolder(fx);
    // Past the point of no return: abort is refused.
    const abort = cli(['ceremony', 'abort', dir, '--reason', 'try', '--answers', fx.answersPath]);
    expect(abort.code).toBe(1);
    expect(abort.stderr).toContain('[ERR_CEREMONY_PAST_POINT_OF_NO_RETURN]');
    const resumed = cli(['ceremony', 'resume', dir, '--answers', fx.answersPath]);
    expect(resumed.code, resumed.stderr.slice(-3000)).toBe(0);
    expect(resumed.stderr).toContain('CRL number 1 was signed and recorded before the interruption; adopted');
    const ca = openCaHome(join(fx.caDir, 'rehearsal'));
    try {
      const rootCert = ca.pki.certificates({ role: 'root' })[0]!;
      expect(ca.pki.crls(rootCert.spkiSha256).map((c) => c.crlNumber)).toEqual([1]);
    } finally {
      ca.close();
    }
    expect(runOk('openssl', ['crl', '-in', join(dir, 'root.crl'), '-CAfile', join(dir, 'root.pem'), '-noout', '-verify'])).toBe('');
    expect(verifyTranscriptFile(join(dir, 'transcript.jsonl')).ok).toBe(true);
  });
});
