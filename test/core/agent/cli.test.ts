/**
 * `neam-ca agent` end to end, as the demo and an operator run it: real child processes for
 * `neam-ca serve` (SoftHSM, intermediates signed by an OpenSSL test root) and `neam-ca agent run
 * --config FILE --join-token-file FILE --once`, then the long-running `agent run` stopped by
 * SIGTERM, and `agent status`. OpenSSL checks what the agent wrote.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { tempDir } from '../../helpers/softhsm.ts';
import { createTestRoot, rootCrl, signIntermediate } from '../online/fixtures.ts';
import { freePort, runAsync } from '../online/harness.ts';
import { opensslVerify, waitFor } from './peers.ts';

const BIN = join(import.meta.dirname, '../../../bin/neam-ca.mjs');
const TD = 'example.org';

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  json: { ok: boolean; value?: Record<string, unknown>; error?: { code: string; message: string } };
}

/** Runs the CLI asynchronously (the test's event loop keeps running). */
async function cli(args: string[]): Promise<CliResult> {
  const r = await runAsync(process.execPath, [BIN, ...args]);
  let json: CliResult['json'] = { ok: false };
  try {
    json = JSON.parse(r.stdout) as CliResult['json'];
  } catch {
    // not a --json call
  }
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, json };
}

describe('neam-ca agent CLI against neam-ca serve (child processes)', () => {
  const tmp = tempDir('neam-agent-cli-');
  const d = tmp.dir;
  const home = join(d, 'home');
  const pin = join(home, 'pins', 'online.pin');
  let port: number;
  let serve: ReturnType<typeof spawn> | undefined;
  let serveLog = '';
  let anchor: string;
  const token = join(d, 'node-1.token');
  const agentDir = join(d, 'agent');
  const configFile = join(agentDir, 'agent.yaml');
  const ca = (...args: string[]): ReturnType<typeof spawnSync> => spawnSync(process.execPath, [BIN, ...args, '--home', home], { encoding: 'utf8', timeout: 120_000 });

  beforeAll(async () => {
    const root = createTestRoot(join(d, 'root'));
    expect(ca('hsm', 'init-token', '--label', 'online', '--generate-pins', join(home, 'pins')).status).toBe(0);
    const init = ca('online', 'init', '--trust-domain', TD, '--token', 'online', '--pin-file', pin, '--algorithm', 'ec-p256', '--windows', '1', '--start', new Date(Date.now() - 3_600_000).toISOString());
    expect(init.status, String(init.stderr)).toBe(0);
    const out = join(d, 'req');
    expect(ca('online', 'export-csrs', '--out', out).status).toBe(0);
    const req = JSON.parse(readFileSync(join(out, 'index.json'), 'utf8')) as { requests: Array<{ name: string; notBefore: string; notAfter: string; csr: string }> };
    const certArgs = req.requests.flatMap((r) => {
      const p = join(d, `${r.name}.pem`);
      writeFileSync(p, signIntermediate(root, readFileSync(join(out, r.csr.replace(/^payload\//u, '')), 'utf8'), { startMs: Date.parse(r.notBefore), endMs: Date.parse(r.notAfter) }));
      return ['--cert', p];
    });
    writeFileSync(join(d, 'root.crl'), rootCrl(root));
    const imp = ca('online', 'import-issuance', ...certArgs, '--root', root.certPath, '--root-crl', join(d, 'root.crl'));
    expect(imp.status, String(imp.stderr)).toBe(0);
    expect(ca('entry', 'create', '--spiffe-id', `spiffe://${TD}/ns/demo/sa/web`, '--parent', 'node-1', '--dns', 'localhost').status).toBe(0);
    expect(ca('entry', 'create', '--spiffe-id', `spiffe://${TD}/ns/demo/sa/db`, '--parent', 'node-1').status).toBe(0);
    const tok = ca('token', 'create', '--node', 'node-1', '--out', token, '--json');
    expect(tok.status, String(tok.stderr)).toBe(0);
    anchor = ((JSON.parse(String(tok.stdout)) as { value: { trustAnchors: string[] } }).value.trustAnchors[0] ?? '') as string;
    expect(anchor).toMatch(/^[0-9a-f]{64}$/u);

    port = await freePort();
    serve = spawn(process.execPath, [BIN, 'serve', '--home', home, '--token', 'online', '--pin-file', pin, '--listen', `127.0.0.1:${port}`, '--workers', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    serve.stderr?.on('data', (b: Buffer) => (serveLog += b.toString()));
    await waitFor('neam-ca serve to listen', () => /online CA serving/u.test(serveLog), { timeoutMs: 30_000, detail: () => serveLog });

    // The configuration as docs/agent.md shows it (relative paths are relative to the file).
    spawnSync('mkdir', ['-p', agentDir]);
    writeFileSync(
      configFile,
      `server: https://127.0.0.1:${port}
trustAnchors:
  - ${anchor}
stateDir: state
workloadsDir: workloads
pollInterval: 2s
metrics:
  file: agent.prom
workloads:
  spiffe://${TD}/ns/demo/sa/web:
    name: web
`,
    );
  });

  afterAll(async () => {
    if (serve !== undefined && serve.exitCode === null) {
      const exited = new Promise((r) => serve?.once('exit', r));
      serve.kill('SIGTERM');
      await exited;
    }
    tmp.cleanup();
  });

  it('agent run --once --join-token-file: attests, delivers every workload, prints them, exits 0; the files verify with OpenSSL; the token never appears in the output', async () => {
    const r = await cli(['agent', 'run', '--config', configFile, '--join-token-file', token, '--once', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const v = r.json.value as { nodeId: string; trustDomain: string; workloads: Array<{ name: string; spiffeId: string; serial: string; dir: string }> };
    expect(v.nodeId).toBe(`spiffe://${TD}/neam-ca/node/node-1`);
    expect(v.workloads.map((w) => w.name).sort()).toEqual(['ns-demo-sa-db', 'web']);
    for (const w of v.workloads) {
      expect(w.dir).toBe(join(agentDir, 'workloads', w.name));
      expect(statSync(join(w.dir, 'svid.key')).mode & 0o777).toBe(0o600);
      const out = await opensslVerify(join(w.dir, 'svid.pem'), { bundle: join(w.dir, 'bundle.pem'), purpose: 'sslclient', scratch: join(d, `v-${w.name}`) });
      expect(out, w.name).toMatch(/: OK/u);
      expect(out).not.toMatch(/error/u);
    }
    expect(readFileSync(join(agentDir, 'agent.prom'), 'utf8')).toMatch(/neam_agent_attested 1/u);
    // JSON log lines on stderr; the token is in none of them.
    const secret = readFileSync(token, 'utf8').trim();
    expect(r.stderr).toMatch(/"msg":"node attested"/u);
    expect(r.stderr + r.stdout).not.toContain(secret.slice(8));
  });

  it('agent status reads the state without the CA; a second --once (already attested) delivers nothing new and exits 0', async () => {
    const st = await cli(['agent', 'status', '--config', configFile, '--json']);
    expect(st.code, st.stdout).toBe(0);
    expect(st.json.value).toMatchObject({ attested: true, nodeId: `spiffe://${TD}/neam-ca/node/node-1`, needsAttention: false });
    const before = (st.json.value as { workloads: Array<{ name: string; serial: string; state: string }> }).workloads;
    expect(before.map((w) => w.state)).toEqual(['ok', 'ok']);
    const again = await cli(['agent', 'run', '--config', configFile, '--once']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/^Synced in \d+\.\d s as spiffe:\/\/example\.org\/neam-ca\/node\/node-1 \(trust domain example\.org\); 2 workload\(s\) hold a valid SVID\./u);
    for (const w of before) expect(again.stdout).toContain(w.serial);
    const text = await cli(['agent', 'status', '--config', configFile]);
    expect(text.stdout).toMatch(/WORKLOAD\s+SPIFFE ID\s+STATE/u);
  });

  it('agent run (long-running) serves until SIGTERM and stops cleanly with exit 0', async () => {
    const child = spawn(process.execPath, [BIN, 'agent', 'run', '--config', configFile], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
    const since = Math.floor(Date.now() / 1000);
    const lastPoll = (): number => Number(/neam_agent_last_successful_poll_timestamp_seconds (\d+)/u.exec(readFileSync(join(agentDir, 'agent.prom'), 'utf8'))?.[1] ?? 0);
    try {
      await waitFor('a successful poll by the running agent', () => /"msg":"agent running"/u.test(log) && lastPoll() >= since, { timeoutMs: 30_000, detail: () => log });
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(log).toMatch(/"msg":"agent stopped"/u);
    expect(log).not.toMatch(/"level":"error"/u);
  });

  it('refusals: --timeout without --once is a usage error (2); no join token (1, ERR_AGENT_NOT_ATTESTED, says what to do); a CA that cannot be reached (1, ERR_AGENT_SYNC_INCOMPLETE naming the cause)', async () => {
    const usage = await cli(['agent', 'run', '--config', configFile, '--timeout', '5s']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/ERR_USAGE.*--timeout applies to --once only/u);

    const other = join(d, 'other');
    spawnSync('mkdir', ['-p', other]);
    const otherConfig = join(other, 'agent.yaml');
    writeFileSync(otherConfig, `server: https://127.0.0.1:${port}\ntrustAnchors: [${anchor}]\nstateDir: state\nworkloadsDir: workloads\n`);
    const noToken = await cli(['agent', 'run', '--config', otherConfig, '--once']);
    expect(noToken.code).toBe(1);
    expect(noToken.stderr).toMatch(/\[ERR_AGENT_NOT_ATTESTED\].*no usable node SVID and no join token.*neam-ca token create/u);

    const spent = await cli(['agent', 'run', '--config', otherConfig, '--join-token-file', token, '--once']);
    expect(spent.code).toBe(1);
    expect(spent.stderr).toMatch(/\[ERR_AGENT_NOT_ATTESTED\].*ERR_ONLINE_TOKEN_USED.*create a new one/u);

    const closed = await freePort();
    const unreachable = join(d, 'unreachable');
    spawnSync('mkdir', ['-p', unreachable]);
    writeFileSync(join(unreachable, 'agent.yaml'), `server: https://127.0.0.1:${closed}\ntrustAnchors: [${anchor}]\nstateDir: state\nworkloadsDir: workloads\nrotation: { backoffBase: 200ms, backoffCap: 1s }\n`);
    const t0 = Date.now();
    const down = await cli(['agent', 'run', '--config', join(unreachable, 'agent.yaml'), '--join-token-file', token, '--once', '--timeout', '3s']);
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/\[ERR_AGENT_SYNC_INCOMPLETE\]: the agent's sync did not finish within 3 s; last errors:\n\s+- attestation: \[ERR_AGENT_SERVER_UNREACHABLE\] cannot reach the CA at https:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/u);
    expect(Date.now() - t0).toBeLessThan(30_000);
  });
});
