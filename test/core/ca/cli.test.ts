import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { run, runOk } from '../../helpers/tools.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', env: { ...process.env, SOFTHSM2_CONF: '', NEAM_CA_PIN: '' }, timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(r: { code: number; stdout: string; stderr: string }): T {
  expect(r.code, r.stderr + r.stdout).toBe(0);
  const parsed = JSON.parse(r.stdout) as { ok: boolean; value: T };
  expect(parsed.ok).toBe(true);
  return parsed.value;
}

describe('neam-ca ca … and inspect (a rehearsal on SoftHSM from the command line)', () => {
  let home: string;
  let cleanup: () => void;
  const p = (name: string): string => join(home, name);
  const hsm = (token: string): string[] => ['--home', home, '--token', token, '--pin-file', p(`pins/${token}.pin`)];

  beforeAll(() => {
    ({ dir: home, cleanup } = tempDir('neam-cli-ca-'));
    for (const t of ['root-tok', 'online-tok']) expect(cli(['hsm', 'init-token', '--home', home, '--label', t, '--generate-pins', p('pins')]).code).toBe(0);
  });
  afterAll(() => cleanup());

  it('every ca command and inspect have --help', () => {
    for (const c of ['ca root', 'ca intermediate', 'ca crl', 'ca sign', 'ca revoke', 'ca csr', 'ca list', 'inspect']) {
      const r = cli([...c.split(' '), '--help']);
      expect(r.code, c).toBe(0);
      expect(r.stdout, c).toContain(`Usage: neam-ca ${c}`);
    }
  });

  it('root → CSR → prepare (dry run) → sign the prepared bytes → revoke → CRL, checked by OpenSSL', () => {
    // Root: RSA-4096 generated in the token (the default root profile).
    const root = json<{ signed: { serial: string; out: string }; tbsSha256: string; summary: { publicKey: string } }>(
      cli(['ca', 'root', ...hsm('root-tok'), '--key', 'root', '--generate', 'rsa-4096', '--subject', 'CN=Rehearsal Root CA,O=NEAM,C=DE', '--out', p('root.pem'), '--rehearsal', '--ceremony', 'rehearsal-1', '--json']),
    );
    expect(root.summary.publicKey).toBe('RSA-4096');
    expect(runOk('openssl', ['verify', '-x509_strict', '-CAfile', p('root.pem'), p('root.pem')])).toMatch(/OK/u);

    // The online side makes a CSR with its own HSM key.
    json(cli(['ca', 'csr', ...hsm('online-tok'), '--key', 'int-1', '--generate', 'rsa-2048', '--subject', 'CN=online 1', '--out', p('int.csr'), '--json']));
    expect(run('openssl', ['req', '-in', p('int.csr'), '-noout', '-verify']).status).toBe(0);

    // Prepare only: the decoded fields and the digest, nothing signed, nothing recorded.
    const dry = cli(['ca', 'intermediate', ...hsm('root-tok'), '--key', 'root', '--csr', p('int.csr'), '--issuer', p('root.pem'), '--subject', 'CN=NEAM Intermediate CA 1,O=NEAM', '--dry-run', '--prepared-out', p('int.prepared.json')]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stderr).toMatch(/Prepared intermediate certificate \(profile intermediate\)/u);
    expect(dry.stderr).toMatch(/Name constraints:\s+critical, permitted: URI:example\.org/u);
    const digest = /TBS SHA-256: ([0-9a-f]{64})/u.exec(dry.stderr)?.[1];
    expect(digest).toBeDefined();
    expect(dry.stdout).toContain(`Dry run: nothing was signed. TBS SHA-256 ${digest}`);
    expect(json<{ certificates: unknown[] }>(cli(['ca', 'list', '--home', home, '--json'])).certificates).toHaveLength(1);

    // Sign exactly the prepared bytes, only if they are the approved ones and built with the named profile.
    const wrong = cli(['ca', 'sign', ...hsm('root-tok'), '--key', 'root', '--prepared', p('int.prepared.json'), '--expect-tbs-sha256', '00'.repeat(32), '--profile', 'intermediate', '--out', p('int.pem')]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain('[ERR_PKI_TBS_MISMATCH]');
    // The file's own profile and digest prove nothing: both expectations are required.
    const unverified = cli(['ca', 'sign', ...hsm('root-tok'), '--key', 'root', '--prepared', p('int.prepared.json'), '--expect-tbs-sha256', digest as string, '--out', p('int.pem')]);
    expect(unverified.code).toBe(1);
    expect(unverified.stderr).toContain('[ERR_PKI_PREPARED_UNVERIFIED]');
    const otherProfile = cli(['ca', 'sign', ...hsm('root-tok'), '--key', 'root', '--prepared', p('int.prepared.json'), '--expect-tbs-sha256', digest as string, '--profile', 'intermediate-ecdsa', '--out', p('int.pem')]);
    expect(otherProfile.code).toBe(1);
    expect(otherProfile.stderr).toContain('[ERR_PKI_PROFILE_INVALID]');
    const signed = json<{ signed: { serial: string } }>(cli(['ca', 'sign', ...hsm('root-tok'), '--key', 'root', '--prepared', p('int.prepared.json'), '--expect-tbs-sha256', digest as string, '--profile', 'intermediate', '--out', p('int.pem'), '--json']));
    expect(runOk('openssl', ['verify', '-x509_strict', '-purpose', 'any', '-CAfile', p('root.pem'), p('int.pem')])).toMatch(/OK/u);
    expect(runOk('certtool', ['--verify-chain', '--infile', writeChain()])).toMatch(/Verified/u);

    // Revoke and publish.
    const rev = cli(['ca', 'revoke', '--home', home, '--cert', p('int.pem'), '--reason', 'keyCompromise']);
    expect(rev.code, rev.stderr).toBe(0);
    expect(rev.stdout).toContain(`Revoked certificate ${signed.signed.serial}`);
    json(cli(['ca', 'crl', ...hsm('root-tok'), '--key', 'root', '--issuer', p('root.pem'), '--out', p('root.crl'), '--json']));
    const v = run('openssl', ['crl', '-in', p('root.crl'), '-CAfile', p('root.pem'), '-noout', '-verify']);
    expect(`${v.stdout}${v.stderr}`).toMatch(/verify OK/u);
    const check = run('openssl', ['verify', '-crl_check', '-CRLfile', p('root.crl'), '-CAfile', p('root.pem'), p('int.pem')]);
    expect(`${check.stdout}${check.stderr}`).toMatch(/certificate revoked/u);

    const list = cli(['ca', 'list', '--home', home]);
    expect(list.stdout).toMatch(/root\s+CN=Rehearsal Root CA,O=NEAM,C=DE\s+\S+\s+root\s+issued\s+rehearsal-1 \(rehearsal\)/u);
    expect(list.stdout).toMatch(/intermediate\s+CN=NEAM Intermediate CA 1,O=NEAM\s+\S+\s+intermediate\s+revoked/u);

    // inspect: certificate, CRL, CSR (DER), a chain with two blocks.
    const ins = cli(['inspect', p('int.pem')]);
    expect(ins.code).toBe(0);
    expect(ins.stdout).toMatch(/Subject:\s+CN=NEAM Intermediate CA 1,O=NEAM/u);
    expect(ins.stdout).toMatch(/Basic constraints:\s+critical, CA:TRUE, pathLen:0/u);
    expect(ins.stdout).toContain(`SHA-256(TBS):      ${digest}`);
    const crlJson = json<{ kind: string; summary: { crlNumber: string; revoked: Array<{ serial: string; reason: string }> } }>(cli(['inspect', p('root.crl'), '--json']));
    expect(crlJson).toMatchObject({ kind: 'crl', summary: { crlNumber: '1', revoked: [{ serial: signed.signed.serial, reason: 'keyCompromise' }] } });
    runOk('openssl', ['req', '-in', p('int.csr'), '-outform', 'DER', '-out', p('int.csr.der')]);
    const csr = cli(['inspect', p('int.csr.der')]);
    expect(csr.stdout).toMatch(/Certificate request \(PKCS#10\)[\s\S]*Signature:\s+sha256WithRSAEncryption \(valid\)/u);
    const chain = json<Array<{ kind: string }>>(cli(['inspect', writeChain(), '--json']));
    expect(chain.map((o) => o.kind)).toEqual(['certificate', 'certificate']);
  });

  function writeChain(): string {
    const path = p('chain.pem');
    writeFileSync(path, `${readFileSync(p('int.pem'), 'utf8')}${readFileSync(p('root.pem'), 'utf8')}`);
    return path;
  }

  // Failures: each exits 1 (operation) or 2 (usage) with its code.
  const failures: Array<{ name: string; args: () => string[]; exit: number; code: string }> = [
    { name: 'inspect of PEM with trailing junk', args: () => ['inspect', writeJunk(), '--json'], exit: 1, code: 'ERR_PKI_PEM_INVALID' },
    { name: 'inspect of garbage', args: () => ['inspect', writeFile('garbage.bin', Buffer.from('0\u0082\u00ff\u00ffnot DER'))], exit: 1, code: 'ERR_PKI_DER_INVALID' },
    { name: 'inspect of a missing file', args: () => ['inspect', p('nope.pem')], exit: 1, code: 'ERR_IO' },
    { name: 'an output that exists', args: () => ['ca', 'root', ...hsm('root-tok'), '--key', 'root', '--out', p('root.pem')], exit: 1, code: 'ERR_ALREADY_EXISTS' },
    { name: 'a weak CSR', args: () => ['ca', 'intermediate', ...hsm('root-tok'), '--key', 'root', '--csr', weakCsr(), '--issuer', p('root.pem')], exit: 1, code: 'ERR_PKI_KEY_WEAK' },
    { name: 'revoking an unknown serial', args: () => ['ca', 'revoke', '--home', home, '--serial', '01:02:03', '--reason', 'superseded'], exit: 1, code: 'ERR_PKI_NOT_REVOCABLE' },
    { name: 'a malformed --subject', args: () => ['ca', 'root', ...hsm('root-tok'), '--key', 'x', '--subject', 'FOO=bar'], exit: 2, code: 'ERR_USAGE' },
    { name: 'a profile file with unknown fields', args: () => ['ca', 'root', ...hsm('root-tok'), '--key', 'root', '--dry-run', '--profile', writeFile('bad.yaml', 'name: r\nkind: certificate\nextra: 1\n')], exit: 1, code: 'ERR_PKI_PROFILE_INVALID' },
  ];
  function writeFile(name: string, data: string | Buffer): string {
    writeFileSync(p(name), data);
    return p(name);
  }
  function writeJunk(): string {
    return writeFile('junk.pem', `${readFileSync(p('root.pem'), 'utf8')}trailing junk\n`);
  }
  function weakCsr(): string {
    runOk('openssl', ['req', '-new', '-newkey', 'rsa:1024', '-nodes', '-keyout', p('weak.key'), '-subj', '/CN=weak', '-out', p('weak.csr')]);
    return p('weak.csr');
  }
  for (const f of failures) {
    it(`fails cleanly on ${f.name}`, () => {
      const r = cli(f.args());
      expect(r.code, r.stderr + r.stdout).toBe(f.exit);
      expect(`${r.stderr}${r.stdout}`).toContain(f.code);
    });
  }
});
