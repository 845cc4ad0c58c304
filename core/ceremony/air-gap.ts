/**
 * @module ceremony/air-gap
 * The air-gap check: lists the network interfaces of the process's network namespace and refuses
 * when any interface other than loopback is administratively up. Interfaces are read over netlink
 * with iproute2 (`ip -j addr show`), which sees the namespace the process runs in (sysfs may show
 * the host's interfaces inside a namespace and is not trusted). Without iproute2 the check falls
 * back to `/proc/self/net/dev` plus the addresses Node reports, and treats an interface whose
 * state it cannot read as up: the check fails closed.
 *
 * Must never: pass when it could not read the interfaces, or ignore an interface that is up
 * without an address (it can still be given one).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { networkInterfaces } from 'node:os';

/** One network interface as seen by the check. */
export interface InterfaceState {
  name: string;
  /** Administratively up (IFF_UP), or unknown and therefore treated as up. */
  up: boolean;
  loopback: boolean;
  /** Kernel flags (`UP`, `LOWER_UP`, `NO-CARRIER`, …) when known. */
  flags: string[];
  /** Addresses with prefix length. */
  addresses: string[];
  /** True when the state could not be read (treated as up). */
  unknown?: boolean;
}

/** The outcome of one air-gap probe. */
export interface AirGapReport {
  /** How the interfaces were read. */
  method: 'netlink' | 'procfs';
  interfaces: InterfaceState[];
  /** Interfaces other than loopback that are up (or unknown). */
  offending: InterfaceState[];
  ok: boolean;
}

/** Pure evaluation of interface states. */
export function evaluateAirGap(method: AirGapReport['method'], interfaces: InterfaceState[]): AirGapReport {
  const offending = interfaces.filter((i) => !i.loopback && (i.up || i.unknown === true));
  return { method, interfaces, offending, ok: offending.length === 0 };
}

/** A sentence naming the offending interfaces and what to do. */
export function describeOffending(report: AirGapReport): string {
  const list = report.offending
    .map((i) => `${i.name} (${i.unknown === true ? 'state unknown' : i.flags.join(',') || 'up'}${i.addresses.length > 0 ? `; ${i.addresses.join(', ')}` : ''})`)
    .join(', ');
  return `network interfaces other than loopback are up: ${list}. Disconnect the workstation: unplug cables, disable Wi-Fi and Bluetooth, or run 'ip link set <name> down' for each, then check again`;
}

const IP_CANDIDATES = ['/usr/sbin/ip', '/sbin/ip', '/usr/bin/ip', '/bin/ip'];

interface IpJsonLink {
  ifname?: unknown;
  flags?: unknown;
  link_type?: unknown;
  addr_info?: Array<{ local?: unknown; prefixlen?: unknown }>;
}

/** Parses `ip -j addr show` output. Exported for tests. */
export function parseIpJson(text: string): InterfaceState[] {
  const parsed = JSON.parse(text) as unknown;
  if (!Array.isArray(parsed)) throw new Error('ip -j output is not a list');
  return (parsed as IpJsonLink[]).map((l) => {
    if (typeof l.ifname !== 'string') throw new Error('ip -j output without ifname');
    const flags = Array.isArray(l.flags) ? l.flags.filter((f): f is string => typeof f === 'string') : [];
    const addresses = (l.addr_info ?? []).filter((a) => typeof a.local === 'string').map((a) => `${String(a.local)}/${String(a.prefixlen ?? '')}`);
    return { name: l.ifname, up: flags.includes('UP'), loopback: flags.includes('LOOPBACK') || l.link_type === 'loopback', flags, addresses };
  });
}

function runIp(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-j', 'addr', 'show'], { timeout: 10_000, maxBuffer: 4 * 1024 * 1024, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C' } }, (err, stdout) => {
      if (err !== null) reject(err);
      else resolve(stdout);
    });
  });
}

/** Reads interfaces from procfs (names) and Node (addresses) when iproute2 is missing. */
function procInterfaces(): InterfaceState[] {
  const text = readFileSync('/proc/self/net/dev', 'utf8');
  const names = text
    .split('\n')
    .slice(2)
    .map((l) => l.split(':')[0]!.trim())
    .filter((n) => n !== '');
  const addrs = networkInterfaces();
  return names.map((name) => {
    const a = addrs[name] ?? [];
    const loopback = name === 'lo' || (a.length > 0 && a.every((x) => x.internal));
    const addresses = a.map((x) => x.cidr ?? x.address);
    // Without netlink the administrative state is unknown: fail closed for non-loopback interfaces.
    return { name, up: !loopback, loopback, flags: [], addresses, unknown: !loopback };
  });
}

/**
 * Probes the interfaces of this process's network namespace.
 * Never throws: an unreadable state fails closed.
 */
export async function probeAirGap(): Promise<AirGapReport> {
  const ip = IP_CANDIDATES.find((p) => existsSync(p));
  if (ip !== undefined) {
    try {
      return evaluateAirGap('netlink', parseIpJson(await runIp(ip)));
    } catch {
      // fall through to procfs
    }
  }
  try {
    return evaluateAirGap('procfs', procInterfaces());
  } catch {
    return evaluateAirGap('procfs', [{ name: '(interfaces could not be read)', up: true, loopback: false, flags: [], addresses: [], unknown: true }]);
  }
}
