/**
 * The air-gap check, tested for real: inside a network namespace holding only loopback
 * (`unshare -n`) it passes; with an interface brought up in that namespace it refuses naming it;
 * on the host it refuses naming every non-loopback interface that is up (sysfs, read in the host's
 * own namespace, is the independent oracle).
 */
import { readdirSync, readFileSync } from 'node:fs';

import { describe, expect, it } from 'vitest';

import { describeOffending, evaluateAirGap, parseIpJson, probeAirGap } from '../../../core/ceremony/index.ts';
import { run, requireTool } from '../../helpers/tools.ts';
import { BIN } from './fixture.ts';

const IFF_UP = 0x1;
const IFF_LOOPBACK = 0x8;

/** Non-loopback interfaces that are up in the host namespace, read from sysfs. */
function hostInterfacesUp(): string[] {
  return readdirSync('/sys/class/net').filter((name) => {
    const flags = Number.parseInt(readFileSync(`/sys/class/net/${name}/flags`, 'utf8').trim(), 16);
    return (flags & IFF_UP) !== 0 && (flags & IFF_LOOPBACK) === 0;
  });
}

interface Report {
  ok: boolean;
  offending: Array<{ name: string }>;
  interfaces: Array<{ name: string; up: boolean; loopback: boolean }>;
}

function airGapCli(prefix: string[] = [], shell?: string): { code: number; report: Report; stdout: string; stderr: string } {
  requireTool('unshare');
  const node = process.execPath;
  const r = shell === undefined ? run(prefix[0] ?? node, [...prefix.slice(1), ...(prefix.length > 0 ? [node] : []), BIN, 'ceremony', 'air-gap', '--json']) : run('unshare', ['-n', 'sh', '-c', `${shell} && exec "${node}" "${BIN}" ceremony air-gap --json`]);
  const parsed = JSON.parse(r.stdout) as { ok: boolean; value: Report };
  return { code: r.status ?? -1, report: parsed.value, stdout: r.stdout, stderr: r.stderr };
}

describe('air-gap check (real network namespaces)', () => {
  it('passes inside a network namespace that holds only loopback (unshare -n)', () => {
    const r = airGapCli(['unshare', '-n']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.ok).toBe(true);
    expect(r.report.interfaces.map((i) => i.name)).toEqual(['lo']);
  });

  it('still passes with loopback brought up in the namespace', () => {
    const r = airGapCli([], 'ip link set lo up');
    expect(r.code, r.stderr).toBe(0);
    expect(r.report.interfaces).toEqual([expect.objectContaining({ name: 'lo', up: true, loopback: true })]);
  });

  it('refuses inside the namespace once another interface is up, naming it (and not the one that is down)', () => {
    const r = airGapCli([], 'ip link add neamv0 type veth peer name neamv1 && ip link set neamv0 up');
    expect(r.code).toBe(1);
    expect(r.report.ok).toBe(false);
    expect(r.report.offending.map((i) => i.name)).toEqual(['neamv0']);
    const text = run('unshare', ['-n', 'sh', '-c', `ip link add neamv0 type veth peer name neamv1 && ip link set neamv0 up && exec "${process.execPath}" "${BIN}" ceremony air-gap`]);
    expect(text.status).toBe(1);
    expect(text.stdout).toContain('NOT air-gapped: network interfaces other than loopback are up: neamv0');
  });

  it('refuses on the host while an interface is up, naming every one', async () => {
    const up = hostInterfacesUp();
    // The test needs a host that is online, as CI machines are; a host without any interface up
    // would make this case unable to fail.
    expect(up.length, 'this test needs a network interface that is up on the host').toBeGreaterThan(0);
    const report = await probeAirGap();
    expect(report.ok).toBe(false);
    expect(report.method).toBe('netlink');
    expect(report.offending.map((i) => i.name).sort()).toEqual(up.sort());
    const r = airGapCli();
    expect(r.code).toBe(1);
    for (const name of up) expect(describeOffending(report)).toContain(name);
  });
});

describe('air-gap evaluation (pure)', () => {
  it('parses ip -j output and flags only non-loopback interfaces that are up', () => {
    const ifs = parseIpJson(
      JSON.stringify([
        { ifname: 'lo', flags: ['LOOPBACK', 'UP', 'LOWER_UP'], link_type: 'loopback', addr_info: [{ local: '127.0.0.1', prefixlen: 8 }] },
        { ifname: 'eth0', flags: ['BROADCAST', 'MULTICAST', 'UP', 'LOWER_UP'], link_type: 'ether', addr_info: [{ local: '10.0.0.2', prefixlen: 24 }] },
        { ifname: 'wlan0', flags: ['NO-CARRIER', 'BROADCAST', 'MULTICAST', 'UP'], link_type: 'ether', addr_info: [] },
        { ifname: 'eth1', flags: ['BROADCAST', 'MULTICAST'], link_type: 'ether' },
      ]),
    );
    const report = evaluateAirGap('netlink', ifs);
    expect(report.ok).toBe(false);
    // An interface that is up without carrier or address is still refused: it can get one.
    expect(report.offending.map((i) => i.name)).toEqual(['eth0', 'wlan0']);
    expect(describeOffending(report)).toContain('eth0 (BROADCAST,MULTICAST,UP,LOWER_UP; 10.0.0.2/24)');
  });

  it('fails closed for interfaces whose state is unknown', () => {
    const report = evaluateAirGap('procfs', [
      { name: 'lo', up: false, loopback: true, flags: [], addresses: [] },
      { name: 'eth0', up: true, loopback: false, flags: [], addresses: [], unknown: true },
    ]);
    expect(report.ok).toBe(false);
    expect(describeOffending(report)).toContain('eth0 (state unknown)');
  });

  it('rejects malformed ip output', () => {
    expect(() => parseIpJson('{}')).toThrow();
    expect(() => parseIpJson('[{"flags":[]}]')).toThrow();
    expect(() => parseIpJson('not json')).toThrow();
  });
});
