/**
 * @module istio/envoy-log
 * Parses one line of an Envoy JSON access log as Istio writes it (`accessLogEncoding: JSON`, the
 * default keys plus `downstream_peer_uri_san` for the client's SPIFFE ID) into an observation of
 * the server side. Outbound (client-side) lines, passthrough clusters and requests already denied
 * by an RBAC filter are skipped with a reason, not learned. See docs/istio.md for the format.
 *
 * Must never: throw on input (every line yields a request, a skip or a malformed verdict), or
 * learn a request the current policies denied.
 */
import type { IstioConfig } from './config.ts';
import type { MeshIndex } from './inventory.ts';
import { keyOf, type ObservedRequest } from './model.ts';
import { resolveDestination, resolvePeer, type DestinationHints, type DestinationResult, type PeerResult } from './resolve.ts';

/** What one line turned into. */
export type LineVerdict = { kind: 'request'; request: ObservedRequest } | { kind: 'skip'; reason: string } | { kind: 'malformed'; reason: string };

/** Keys accepted for the client's SPIFFE ID, in order. */
export const PEER_KEYS = ['downstream_peer_uri_san', 'peer_uri_san', 'source_principal', 'downstream_peer_principal'];

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,32}$/u;

function str(o: Record<string, unknown>, k: string): string | undefined | false {
  const v = o[k];
  if (v === undefined || v === null || v === '-' || v === '') return undefined;
  return typeof v === 'string' ? v : false;
}

function portOfAddress(addr: string | undefined): number | undefined {
  if (addr === undefined) return undefined;
  const m = /:([0-9]{1,5})$/u.exec(addr);
  const n = m === null ? NaN : Number(m[1]);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/**
 * Memo of identity and destination resolution: a log has few distinct (peer, SNI, authority, local
 * SAN) combinations and millions of lines. Bounded: cleared when it reaches its size.
 */
export class ResolveCache {
  readonly peers = new Map<string, PeerResult>();
  readonly destinations = new Map<string, DestinationResult>();
  constructor(readonly max = 100_000) {}
  peer(raw: unknown, config: IstioConfig): PeerResult {
    if (typeof raw !== 'string') return resolvePeer(raw, config);
    let r = this.peers.get(raw);
    if (r === undefined) {
      if (this.peers.size >= this.max) this.peers.clear();
      r = resolvePeer(raw, config);
      this.peers.set(raw, r);
    }
    return r;
  }
  destination(key: string, hints: DestinationHints, index: MeshIndex): DestinationResult {
    let r = this.destinations.get(key);
    if (r === undefined) {
      if (this.destinations.size >= this.max) this.destinations.clear();
      r = resolveDestination(hints, index);
      this.destinations.set(key, r);
    }
    return r;
  }
}

const FIELDS = ['method', 'path', 'upstream_cluster', 'authority', 'requested_server_name', 'downstream_local_address', 'downstream_local_uri_san', 'response_code_details', 'response_flags', 'destination_workload', 'destination_namespace', 'destination_workload_namespace'];
const UAEX = /(?:^|,)UAEX(?:,|$)/u;

function hintsOf(wl: string | undefined, wns: string | undefined, sni: string | undefined, authority: string | undefined, localSan: string | undefined): DestinationHints {
  const h: DestinationHints = {};
  if (wl !== undefined && wns !== undefined) {
    h.workload = wl;
    h.namespace = wns;
  }
  if (sni !== undefined) h.sni = sni;
  if (authority !== undefined) h.authority = authority;
  if (localSan !== undefined) h.localSan = localSan;
  return h;
}

/** Parses one access-log line (already split; `line` is its 1-based number). */
export function parseEnvoyLine(text: string, file: string, line: number, index: MeshIndex, config: IstioConfig, cache?: ResolveCache): LineVerdict {
  const t = text.trim();
  if (t === '') return { kind: 'skip', reason: 'empty line' };
  if (t[0] !== '{') return { kind: 'malformed', reason: 'not a JSON object (is the access log encoding JSON?)' };
  let o: unknown;
  try {
    o = JSON.parse(t);
  } catch {
    return { kind: 'malformed', reason: 'not valid JSON (truncated or corrupted line)' };
  }
  if (typeof o !== 'object' || o === null || Array.isArray(o)) return { kind: 'malformed', reason: 'not a JSON object' };
  const r = o as Record<string, unknown>;
  for (const k of FIELDS) {
    if (str(r, k) === false) return { kind: 'malformed', reason: `field "${k}" must be a string` };
  }
  const cluster = str(r, 'upstream_cluster') || undefined;
  if (cluster !== undefined) {
    if (cluster.startsWith('outbound|') || cluster === 'PassthroughCluster' || cluster === 'BlackHoleCluster') return { kind: 'skip', reason: 'client-side (outbound) line' };
  }
  const details = str(r, 'response_code_details') || '';
  const flags = str(r, 'response_flags') || '';
  if (details.startsWith('rbac_access_denied') || (flags !== '' && UAEX.test(flags))) return { kind: 'skip', reason: 'request denied by an existing policy (not learned)' };
  let peerRaw: unknown;
  for (const k of PEER_KEYS) if (r[k] !== undefined) {
    peerRaw = r[k];
    break;
  }
  const peer = cache === undefined ? resolvePeer(peerRaw, config) : cache.peer(peerRaw, config);
  if (!peer.ok) return 'skip' in peer ? { kind: 'skip', reason: peer.skip } : { kind: 'malformed', reason: peer.malformed };
  const wl = str(r, 'destination_workload') || undefined;
  const wns = (str(r, 'destination_workload_namespace') || undefined) ?? (str(r, 'destination_namespace') || undefined);
  const sni = str(r, 'requested_server_name') || undefined;
  const authority = str(r, 'authority') || undefined;
  const localSan = str(r, 'downstream_local_uri_san') || undefined;
  const key = `${wl ?? ''}\u001f${wns ?? ''}\u001f${sni ?? ''}\u001f${authority ?? ''}\u001f${localSan ?? ''}`;
  const cached = cache?.destinations.get(key);
  const dest = cached ?? (cache === undefined ? resolveDestination(hintsOf(wl, wns, sni, authority, localSan), index) : cache.destination(key, hintsOf(wl, wns, sni, authority, localSan), index));
  if (!dest.ok) return { kind: 'skip', reason: dest.skip };
  if (index.isExcluded(dest.workload.namespace)) return { kind: 'skip', reason: 'destination in an excluded namespace' };
  // The workload port: inbound|PORT|| names it; else the local address; else the SNI's service port.
  let port: number | undefined;
  if (cluster?.startsWith('inbound|') === true) {
    const p = Number(cluster.split('|')[1]);
    if (!(p >= 1 && p <= 65535)) return { kind: 'malformed', reason: `upstream_cluster "${cluster}" has no valid port` };
    port = p;
  }
  port ??= portOfAddress(str(r, 'downstream_local_address') || undefined);
  if (port === undefined && dest.sniPort !== undefined) {
    const svcPort = index.servicesOf(dest.workload).flatMap((s) => s.ports.filter((p) => p.port === dest.sniPort)).map((p) => index.targetPort(p, dest.workload));
    if (svcPort.length === 1 && svcPort[0] !== undefined) port = svcPort[0];
  }
  const method = str(r, 'method') || undefined;
  if (method !== undefined && !TOKEN.test(method)) return { kind: 'malformed', reason: `method ${JSON.stringify(method.slice(0, 40))} is not an HTTP method token` };
  const rawPath = method === undefined ? undefined : str(r, 'path') || undefined;
  const q = rawPath === undefined ? -1 : rawPath.search(/[?#]/u);
  const path = rawPath === undefined ? null : q >= 0 ? rawPath.slice(0, q) : rawPath;
  return {
    kind: 'request',
    request: {
      file,
      line,
      principal: peer.principal,
      destination: keyOf(dest.workload),
      port: port ?? null,
      method: method ?? null,
      path,
      protocol: method === undefined ? 'tcp' : 'http',
      count: 1,
    },
  };
}
