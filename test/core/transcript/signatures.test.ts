import { createHash, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { softwareSigner } from '../../../core/crypto/signer.ts';
import { canonicalJson } from '../../../core/util/canonical-json.ts';
import { closingBodyBytes, verifyTranscript, type JsonValue, type TranscriptRecord } from '../../../core/transcript/index.ts';
import { tempDir, TEST_USER_PIN } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';
import { joinLines, linesOf, transferKeyOnSoftHsm, witnessKey, writeClosedTranscript, type TransferHsm } from './fixtures.ts';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let hsm: TransferHsm;
let witnesses: ReturnType<typeof witnessKey>[];
let path: string;
let bytes: Buffer;
let lines: string[];
const dir = tempDir('neam-transcript-sig-');

beforeAll(() => {
  hsm = transferKeyOnSoftHsm();
  witnesses = [witnessKey(), witnessKey()];
  ({ path, bytes } = writeClosedTranscript(dir.dir, hsm.signer, witnesses.map((w) => w.signer)));
  lines = linesOf(bytes);
});
afterAll(() => {
  hsm.hsm.close();
  dir.cleanup();
});

const closing = (): TranscriptRecord => JSON.parse(lines[lines.length - 1] as string) as TranscriptRecord;
const withClosing = (r: TranscriptRecord): string => joinLines([...lines.slice(0, -1), canonicalJson(r)]);

describe('closing signatures checked by independent tools', () => {
  it('openssl dgst verifies every closing signature over the body cut out with sed, using the key pkcs11-tool reads from the token', () => {
    const n = lines.length;
    // The signed body is the closing line without its "signatures" member (RFC 8785 keeps the rest in order).
    const script = String.raw`sed -n "$2p" "$1" | sed -E 's/,"signatures":\[[^]]*\]//' | tr -d '\n'`;
    const body = runOk('sh', ['-c', script, 'sh', path, String(n)]);
    expect(Buffer.from(body, 'utf8').equals(closingBodyBytes(closing()))).toBe(true);
    writeFileSync(join(dir.dir, 'body'), body);
    // The transfer key's public half, read from SoftHSM by OpenSC, not by our code.
    runOk('pkcs11-tool', ['--module', hsm.hsm.modulePath, '--login', '--pin', TEST_USER_PIN, '--read-object', '--type', 'pubkey', '--label', 'transfer', '-o', join(dir.dir, 'transfer.der')], { env: hsm.hsm.env });
    runOk('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(dir.dir, 'transfer.der'), '-out', join(dir.dir, 'transfer.pem')]);
    const c = closing();
    const signers = c.data['signers'] as Array<{ kind: string; spki: string; spkiSha256: string }>;
    expect(signers[0]?.spkiSha256).toBe(sha256(readFileSync(join(dir.dir, 'transfer.der'))));
    for (const [i, sig] of (c.signatures ?? []).entries()) {
      writeFileSync(join(dir.dir, `sig${i}.der`), Buffer.from(sig.signature, 'base64'));
      let pem: string;
      if (i === 0) pem = join(dir.dir, 'transfer.pem');
      else {
        writeFileSync(join(dir.dir, `w${i}.der`), Buffer.from(signers[i]?.spki as string, 'base64'));
        pem = join(dir.dir, `w${i}.pem`);
        runOk('openssl', ['pkey', '-pubin', '-inform', 'DER', '-in', join(dir.dir, `w${i}.der`), '-out', pem]);
      }
      const ok = run('openssl', ['dgst', '-sha256', '-verify', pem, '-signature', join(dir.dir, `sig${i}.der`), join(dir.dir, 'body')]);
      expect(ok.stdout.trim(), ok.stderr).toBe('Verified OK');
    }
    // The oracle can fail: one changed byte in the body and openssl refuses.
    writeFileSync(join(dir.dir, 'body-changed'), body.replace('"outcome":"completed"', '"outcome":"completes"'));
    const bad = run('openssl', ['dgst', '-sha256', '-verify', join(dir.dir, 'transfer.pem'), '-signature', join(dir.dir, 'sig0.der'), join(dir.dir, 'body-changed')]);
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toContain('Verification failure');
  });

  it('sha256sum over each line reproduces every prev: the chain is checkable with coreutils alone', () => {
    const sums = runOk('sh', ['-c', 'while IFS= read -r line; do printf "%s" "$line" | sha256sum | cut -d" " -f1; done < "$1"', 'sh', path]).trim().split('\n');
    expect(sums).toHaveLength(lines.length);
    for (let i = 1; i < lines.length; i++) expect((JSON.parse(lines[i] as string) as TranscriptRecord).prev).toBe(sums[i - 1]);
    expect(verifyTranscript(bytes).head).toBe(sums[sums.length - 1]);
  });
});

describe('pinned fingerprints', () => {
  it('accept the right keys (fingerprints as people type them: upper case, colons)', () => {
    const fp = sha256(hsm.signer.spki);
    const typed = (fp.toUpperCase().match(/../gu) as string[]).join(':');
    const v = verifyTranscript(bytes, { pins: { transfer: [typed], witnesses: witnesses.map((w) => sha256(w.signer.spki)) } });
    expect(v.ok, v.problem?.message).toBe(true);
    expect(v.signers.every((s) => s.pinned === true)).toBe(true);
  });

  it('a transcript signed with one transfer key fails against another pinned key', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const otherFp = sha256(softwareSigner(other, 'ECDSA-SHA256').spki);
    const v = verifyTranscript(bytes, { pins: { transfer: [otherFp] } });
    expect(v.ok).toBe(false);
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNER_NOT_PINNED');
    expect(v.problem?.message).toContain(sha256(hsm.signer.spki));
    expect(v.signers[0]?.pinned).toBe(false);
  });

  it('a whole transcript forged and signed with the forger’s own keys verifies on its own, and fails against the pins', () => {
    const forgerDir = tempDir('neam-forger-');
    try {
      const forgerTransfer = witnessKey().signer;
      const forged = writeClosedTranscript(forgerDir.dir, forgerTransfer, [witnessKey().signer]).bytes;
      expect(verifyTranscript(forged).ok).toBe(true);
      const pinned = verifyTranscript(forged, { pins: { transfer: [sha256(hsm.signer.spki)] } });
      expect(pinned.problem?.code).toBe('ERR_TRANSCRIPT_SIGNER_NOT_PINNED');
    } finally {
      forgerDir.cleanup();
    }
  });

  it('every witness must match a witness pin', () => {
    const v = verifyTranscript(bytes, { pins: { witnesses: [sha256(witnesses[0]?.signer.spki as Buffer)] } });
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNER_NOT_PINNED');
    expect(v.problem?.message).toContain('Walter Witness');
  });

  it('a malformed pin is a programmer error', () => {
    expect(() => verifyTranscript(bytes, { pins: { transfer: ['abc'] } })).toThrow(TypeError);
  });
});

describe('signature tampering', () => {
  it('swapping two signatures names both signers', () => {
    const c = closing();
    const sigs = c.signatures ?? [];
    const swapped = [{ ...sigs[0], signature: sigs[1]?.signature }, { ...sigs[1], signature: sigs[0]?.signature }, sigs[2]] as typeof sigs;
    const v = verifyTranscript(withClosing({ ...c, signatures: swapped }));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(v.problem?.message).toMatch(/transfer offline transfer key .*does not verify.*witness Wendy Witness/u);
  });

  it('a removed signature is named', () => {
    const c = closing();
    const v = verifyTranscript(withClosing({ ...c, signatures: (c.signatures ?? []).slice(0, 2) }));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(v.problem?.message).toContain('Walter Witness');
    expect(v.problem?.message).toContain('no signature by this key');
  });

  it('an extra signature by a key not listed in the signed body is refused', () => {
    const c = closing();
    const stranger = witnessKey().signer;
    const extra = { spkiSha256: sha256(stranger.spki), signature: stranger.sign(closingBodyBytes(c)).toString('base64') };
    const v = verifyTranscript(withClosing({ ...c, signatures: [...(c.signatures ?? []), extra] }));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(v.problem?.message).toContain('not listed in data.signers');
  });

  it('a witness struck from the signed signer list breaks every signature (the list is signed)', () => {
    const c = closing();
    const data = { ...c.data, signers: (c.data['signers'] as JsonValue[]).slice(0, 2) };
    const v = verifyTranscript(withClosing({ ...c, data, signatures: (c.signatures ?? []).slice(0, 2) }));
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_RECORD_CHANGED');
    expect(v.problem?.message).toContain('none of its 2 signatures verify');
  });

  it('fewer witnesses than required is refused', () => {
    const v = verifyTranscript(bytes, { minWitnesses: 3 });
    expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
    expect(v.problem?.message).toContain('at least 3 required');
  });
});

describe('embedded certificates', () => {
  function selfSigned(keyPem: string, name: string): Buffer {
    writeFileSync(join(dir.dir, `${name}.key`), keyPem, { mode: 0o600 });
    runOk('openssl', ['req', '-x509', '-new', '-key', join(dir.dir, `${name}.key`), '-subj', `/CN=${name}`, '-days', '730', '-outform', 'DER', '-out', join(dir.dir, `${name}.crt`)]);
    return readFileSync(join(dir.dir, `${name}.crt`));
  }

  it('a transfer certificate is embedded, its fields shown, and it can be pinned by its own fingerprint', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const cert = selfSigned(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string, 'NEAM Transfer 2026');
    const sub = tempDir('neam-cert-');
    try {
      const t = writeClosedTranscript(sub.dir, softwareSigner(createPrivateKey(privateKey.export({ type: 'pkcs8', format: 'pem' })), 'ECDSA-SHA256'), [witnessKey().signer], { transferCertificate: cert });
      const v = verifyTranscript(t.bytes, { pins: { transfer: [sha256(cert)] } });
      expect(v.ok, v.problem?.message).toBe(true);
      expect(v.signers[0]).toMatchObject({ pinned: true, certificateSha256: sha256(cert), certificate: { subject: 'CN=NEAM Transfer 2026', sha256: sha256(cert) } });
    } finally {
      sub.cleanup();
    }
  });

  it('a certificate for a different key than the signing key is refused and not honoured for pinning', () => {
    const signing = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const otherCert = selfSigned(other.export({ type: 'pkcs8', format: 'pem' }) as string, 'Decoy');
    const sub = tempDir('neam-cert-');
    try {
      const t = writeClosedTranscript(sub.dir, softwareSigner(signing, 'ECDSA-SHA256'), [witnessKey().signer], { transferCertificate: otherCert });
      const v = verifyTranscript(t.bytes, { pins: { transfer: [sha256(otherCert)] } });
      expect(v.problem?.code).toBe('ERR_TRANSCRIPT_SIGNATURE_INVALID');
      expect(v.problem?.message).toContain('different public key');
      expect(v.signers[0]?.pinned).toBe(false);
    } finally {
      sub.cleanup();
    }
  });
});
