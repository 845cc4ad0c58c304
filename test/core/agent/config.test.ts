import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { afterAll, describe, expect, it } from 'vitest';

import { derivedWorkloadName, loadAgentConfig, parseAgentConfig, parseDurationMs } from '../../../core/agent/config.ts';
import { DEFAULT_ROTATION } from '../../../core/agent/rotation.ts';
import { CoreError, isCoreError } from '../../../core/errors.ts';
import { tempDir } from '../../helpers/softhsm.ts';

const ANCHOR = 'ab'.repeat(32);
const BASE = { server: 'https://ca.example.org:8443', trustAnchors: [ANCHOR], stateDir: '/var/lib/neam-agent', workloadsDir: '/run/neam/svids' };

function problems(input: unknown): Array<{ path: string; message: string }> {
  try {
    parseAgentConfig(input, '/etc/neam-agent', 'agent.yaml');
  } catch (e) {
    expect(isCoreError(e, 'ERR_AGENT_CONFIG_INVALID'), String(e)).toBe(true);
    return ((e as CoreError).details?.['problems'] as Array<{ path: string; message: string }>) ?? [];
  }
  return [];
}

function caught(fn: () => unknown): CoreError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CoreError) return e;
    throw e;
  }
  throw new Error('expected a CoreError');
}

describe('agent configuration', () => {
  const tmp = tempDir('neam-agent-config-');
  afterAll(() => tmp.cleanup());

  it('accepts a minimal configuration and fills the documented defaults', () => {
    const c = parseAgentConfig(BASE, '/etc/neam-agent', 'agent.yaml');
    expect(c).toMatchObject({
      server: 'https://ca.example.org:8443',
      trustAnchors: [ANCHOR],
      pollIntervalMs: 30_000,
      requestTimeoutMs: 30_000,
      hookTimeoutMs: 30_000,
      checkRevocation: true,
      onlyListed: false,
      rotation: DEFAULT_ROTATION,
      metrics: {},
      workloads: [],
    });
    expect(c.joinTokenFile).toBeUndefined();
  });

  it('resolves relative paths against the configuration file, reads durations with units, hooks and owners', () => {
    const c = parseAgentConfig(
      {
        ...BASE,
        trustAnchors: [ANCHOR.replace(/(..)(?!$)/gu, '$1:').toUpperCase()],
        stateDir: 'state',
        workloadsDir: '../svids',
        joinTokenFile: 'node.token',
        pollInterval: '5m',
        requestTimeout: 2.5,
        hookTimeout: '250ms',
        rotation: { ratio: 0.5, jitter: 0, backoffBase: '2s', backoffCap: '1h', alertWindow: '12h' },
        metrics: { listen: ':9464', file: 'agent.prom' },
        workloads: {
          'spiffe://example.org/ns/web/sa/nginx': { name: 'nginx', crls: true, owner: '101:102', hook: ['nginx', '-s', 'reload'] },
          api: { hook: { command: ['systemctl', 'reload', 'api'], timeout: '5s' }, owner: 1000 },
        },
      },
      '/etc/neam-agent',
      'agent.yaml',
    );
    expect(c.trustAnchors).toEqual([ANCHOR]);
    expect(c.stateDir).toBe('/etc/neam-agent/state');
    expect(c.workloadsDir).toBe('/etc/svids');
    expect(c.joinTokenFile).toBe('/etc/neam-agent/node.token');
    expect([c.pollIntervalMs, c.requestTimeoutMs, c.hookTimeoutMs]).toEqual([300_000, 2500, 250]);
    expect(c.rotation).toEqual({ ratio: 0.5, jitterFraction: 0, backoffBase: 2000, backoffCap: 3_600_000, alertWindow: 43_200_000 });
    expect(c.metrics).toEqual({ listen: { host: '127.0.0.1', port: 9464 }, file: '/etc/neam-agent/agent.prom' });
    expect(c.workloads).toEqual([
      { key: 'spiffe://example.org/ns/web/sa/nginx', name: 'nginx', crls: true, owner: { uid: 101, gid: 102 }, hook: { command: ['nginx', '-s', 'reload'], timeoutMs: 250 } },
      { key: 'api', crls: false, owner: { uid: 1000, gid: process.getgid?.() ?? 0 }, hook: { command: ['systemctl', 'reload', 'api'], timeoutMs: 5000 } },
    ]);
  });

  // Each case names the field it violates; the problem is reported under that path.
  const invalid: Array<[string, Record<string, unknown>, RegExp]> = [
    ['server', { server: 'http://ca.example.org' }, /must be an https:\/\/ URL/u],
    ['server', { server: 'https://ca.example.org/v1?x=1' }, /no path, query or credentials/u],
    ['server', { server: 'ca.example.org:8443' }, /is not a URL|must be an https/u],
    ['server', { server: undefined }, /expected string/iu],
    ['trustAnchors.0', { trustAnchors: ['abc'] }, /must be a SHA-256 fingerprint/u],
    ['stateDir', { stateDir: undefined }, /expected string/iu],
    ['workloadsDir', { workloadsDir: '/var/lib/neam-agent/svids' }, /must not be the state directory, inside it, or contain it/u],
    ['workloadsDir', { workloadsDir: '/var/lib' }, /must not be the state directory, inside it, or contain it/u],
    ['pollInterval', { pollInterval: '50ms' }, /at least 100ms/u],
    ['pollInterval', { pollInterval: 'soon' }, /is not a duration/u],
    ['requestTimeout', { requestTimeout: -1 }, /non-negative/u],
    ['hookTimeout', { hookTimeout: '1ms' }, /at least 100ms/u],
    ['rotation.ratio', { rotation: { ratio: 1.2 } }, /between 0 and 1/u],
    ['rotation.jitter', { rotation: { ratio: 0.5, jitter: 0.6 } }, /below ratio/u],
    ['rotation.backoffCap', { rotation: { backoffBase: '1m', backoffCap: '1s' } }, /at least backoffBase/u],
    ['rotation.backoffBase', { rotation: { backoffBase: 0 } }, /must be positive/u],
    ['rotation.alertWindow', { rotation: { alertWindow: 'forever' } }, /is not a duration/u],
    ['checkRevocation', { checkRevocation: 'yes' }, /expected boolean/iu],
    ['metrics.listen', { metrics: { listen: 'everywhere' } }, /is not HOST:PORT/u],
    ['metrics.listen', { metrics: { listen: '127.0.0.1:70000' } }, /is not HOST:PORT/u],
    ['workloads.api.name', { workloads: { api: { name: '../etc' } } }, /workload name '\.\.\/etc' is invalid/u],
    ['workloads.api.name', { workloads: { api: { name: '.hidden' } } }, /is invalid/u],
    ['workloads.b.name', { workloads: { a: { name: 'web' }, b: { name: 'web' } } }, /'web' is also the name of workloads\.a/u],
    ['workloads.spiffe://example.org/', { workloads: { 'spiffe://example.org/': {} } }, /is not a workload SPIFFE ID/u],
    ['workloads.api.owner', { workloads: { api: { owner: 'www-data' } } }, /is not a numeric UID or UID:GID/u],
    ['workloads.api.owner', { workloads: { api: { owner: '1:2:3' } } }, /is not a numeric UID/u],
    ['workloads.api.hook', { workloads: { api: { hook: [] } } }, /.+/u],
    ['workloads.api.hook', { workloads: { api: { hook: 'nginx -s reload' } } }, /.+/u],
    ['workloads.api.crls', { workloads: { api: { crls: 1 } } }, /expected boolean/iu],
    ['', { sever: 'https://x' }, /unrecognized key.*sever/iu],
    ['workloads.api', { workloads: { api: { nmae: 'x' } } }, /unrecognized key.*nmae/iu],
  ];
  it.each(invalid)('refuses %s with its path and a message that says what is expected', (path, change, message) => {
    const p = problems({ ...BASE, ...change });
    const hit = p.find((x) => x.path === path);
    expect(hit, `${path}: ${JSON.stringify(p)}`).toBeDefined();
    expect(hit?.message).toMatch(message);
  });

  it('reports every problem at once, each with its path, in the message too', () => {
    const e = caught(() => parseAgentConfig({ ...BASE, server: 'http://x', pollInterval: '1ms', workloads: { a: { owner: 'root' } } }, '/etc', 'agent.yaml'));
    expect(e.code).toBe('ERR_AGENT_CONFIG_INVALID');
    const paths = ((e.details?.['problems'] as Array<{ path: string }>) ?? []).map((p) => p.path).sort();
    expect(paths).toEqual(['pollInterval', 'server', 'workloads.a.owner']);
    expect(e.message).toMatch(/^the agent configuration agent\.yaml is invalid:\n/u);
    for (const p of paths) expect(e.message).toContain(p);
  });

  it('loadAgentConfig: YAML and JSON files; missing, oversized, binary, truncated, alias-bomb, duplicate-key and non-mapping files are refused clearly', () => {
    const d = join(tmp.dir, 'files');
    mkdirSync(d);
    const yaml = join(d, 'agent.yaml');
    writeFileSync(yaml, `server: https://ca:8443\ntrustAnchors: [${ANCHOR}]\nstateDir: state\nworkloadsDir: svids\n`);
    expect(loadAgentConfig(yaml)).toMatchObject({ source: yaml, stateDir: join(d, 'state'), workloadsDir: join(d, 'svids') });
    const json = join(d, 'agent.json');
    writeFileSync(json, JSON.stringify({ ...BASE }));
    expect(loadAgentConfig(json).server).toBe('https://ca.example.org:8443');

    const cases: Array<[string, string | Buffer | undefined, string, RegExp]> = [
      ['missing', undefined, 'ERR_IO', /cannot read the agent configuration .*missing\.yaml \(ENOENT\)/u],
      ['oversized', `# ${'x'.repeat(1024 * 1024)}\n`, 'ERR_AGENT_CONFIG_INVALID', /is 1048579 bytes; at most 1048576 are read/u],
      ['binary', Buffer.from([0x00, 0xff, 0xfe, 0x7b, 0x5b, 0x3a]), 'ERR_AGENT_CONFIG_INVALID', /binary\.yaml is not a text file \(YAML or JSON in UTF-8\); check the path$/u],
      ['latin1', Buffer.from('server: "caf\xe9"\n', 'latin1'), 'ERR_AGENT_CONFIG_INVALID', /is not a text file/u],
      ['truncated', 'server: https://ca:8443\nworkloads:\n  api: { name: "we', 'ERR_AGENT_CONFIG_INVALID', /is not valid YAML\/JSON/u],
      ['aliases', 'a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n', 'ERR_AGENT_CONFIG_INVALID', /is not valid YAML\/JSON/u],
      ['duplicate', 'server: https://a:1\nserver: https://b:1\n', 'ERR_AGENT_CONFIG_INVALID', /is not valid YAML\/JSON.*[Mm]ap keys must be unique/u],
      ['list', '- server\n- stateDir\n', 'ERR_AGENT_CONFIG_INVALID', /must hold a mapping of settings/u],
      ['empty', '', 'ERR_AGENT_CONFIG_INVALID', /must hold a mapping of settings/u],
    ];
    for (const [name, content, code, message] of cases) {
      const f = join(d, `${name}.yaml`);
      if (content !== undefined) writeFileSync(f, content);
      const e = caught(() => loadAgentConfig(f));
      expect(e.code, name).toBe(code);
      expect(e.message, name).toMatch(message);
    }
  });

  it('parseDurationMs: seconds as numbers, unit suffixes; refuses other forms', () => {
    expect([parseDurationMs(30), parseDurationMs(0.5), parseDurationMs('250ms'), parseDurationMs('30s'), parseDurationMs('5m'), parseDurationMs('24h'), parseDurationMs('7d'), parseDurationMs('12')]).toEqual([30_000, 500, 250, 30_000, 300_000, 86_400_000, 604_800_000, 12_000]);
    for (const bad of ['', '5 minutes', '-1s', '1e3', '1w', 'NaN', '12.1234567s'] as const) expect(caught(() => parseDurationMs(bad)).code, bad).toBe('ERR_AGENT_CONFIG_INVALID');
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) expect(caught(() => parseDurationMs(bad)).code, String(bad)).toBe('ERR_AGENT_CONFIG_INVALID');
  });

  it('derivedWorkloadName: the SPIFFE ID path with / as -, or undefined when that is not a valid folder name', () => {
    expect(derivedWorkloadName('spiffe://example.org/ns/web/sa/nginx')).toBe('ns-web-sa-nginx');
    expect(derivedWorkloadName('spiffe://example.org/_private')).toBeUndefined();
    expect(derivedWorkloadName(`spiffe://example.org/${'a'.repeat(200)}`)).toBeUndefined();
    expect(derivedWorkloadName('spiffe://example.org')).toBeUndefined();
  });
});
