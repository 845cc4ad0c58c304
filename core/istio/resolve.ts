/**
 * @module istio/resolve
 * Turns the identities and addresses found in traffic records into inventory terms: a peer URI
 * SAN into a principal (`td/ns/NS/sa/SA`, trust domain checked against the configuration), and the
 * destination hints a record carries (workload name, Istio SNI, authority, local SAN, service
 * name) into exactly one inventory workload.
 *
 * Must never: pick one of several candidate workloads arbitrarily (ambiguity is a skip reason), or
 * accept a principal from a trust domain the configuration does not name.
 */
import type { IstioConfig } from './config.ts';
import type { MeshIndex } from './inventory.ts';
import { keyOf, type Workload } from './model.ts';

/** A parsed Istio identity. */
export interface Identity {
  trustDomain: string;
  namespace: string;
  serviceAccount: string;
  /** `td/ns/NS/sa/SA` (what AuthorizationPolicy `principals` hold). */
  principal: string;
}

const SPIFFE = /^spiffe:\/\/([a-z0-9._-]+)\/ns\/([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/sa\/([a-z0-9](?:[-a-z0-9.]*[a-z0-9])?)$/u;

/**
 * Parses an Istio SPIFFE ID `spiffe://<td>/ns/<ns>/sa/<sa>` (Istio's `ParseIdentity`: exactly five
 * segments); returns undefined for anything else.
 */
export function parseSpiffeId(uri: string): Identity | undefined {
  const m = SPIFFE.exec(uri);
  if (m === null) return undefined;
  const [, td, ns, sa] = m as unknown as [string, string, string, string];
  return { trustDomain: td, namespace: ns, serviceAccount: sa, principal: `${td}/ns/${ns}/sa/${sa}` };
}

/** Outcome of resolving a peer identity. */
export type PeerResult = { ok: true; principal: string | null; identity?: Identity } | { ok: false; skip: string } | { ok: false; malformed: string };

/**
 * Resolves the peer URI SAN(s) of a record: empty/absent/`-`/`unknown` means plaintext (null); a
 * comma-separated list uses its first `spiffe://` entry.
 */
export function resolvePeer(raw: unknown, config: IstioConfig): PeerResult {
  if (raw === undefined || raw === null || raw === '' || raw === '-' || raw === 'unknown') return { ok: true, principal: null };
  if (typeof raw !== 'string') return { ok: false, malformed: 'the peer identity field must be a string' };
  const uri = raw.split(',').map((s) => s.trim()).find((s) => s.startsWith('spiffe://'));
  if (uri === undefined) return { ok: false, skip: 'peer identity is not a SPIFFE ID' };
  const id = parseSpiffeId(uri);
  if (id === undefined) return { ok: false, skip: 'peer SPIFFE ID is not of the Istio form spiffe://<td>/ns/<ns>/sa/<sa>' };
  if (id.trustDomain !== config.trustDomain && !config.federatedTrustDomains.includes(id.trustDomain)) return { ok: false, skip: `peer from a trust domain not in the configuration` };
  return { ok: true, principal: id.principal, identity: id };
}

/** Destination hints a record may carry. */
export interface DestinationHints {
  workload?: string;
  namespace?: string;
  /** Istio SNI `outbound_.<port>_.<subset>_.<fqdn>`. */
  sni?: string;
  authority?: string;
  /** The server's own SPIFFE ID (`%DOWNSTREAM_LOCAL_URI_SAN%`, `destination_principal`). */
  localSan?: string;
  serviceName?: string;
  serviceNamespace?: string;
}

/** Outcome of resolving a destination. */
export type DestinationResult = { ok: true; workload: Workload; sniPort?: number } | { ok: false; skip: string };

const ISTIO_SNI = /^outbound_\.([0-9]+)_\.[^_]*_\.(.+)$/u;

/** Resolves the destination workload of a record from its hints, in order of reliability. */
export function resolveDestination(h: DestinationHints, index: MeshIndex): DestinationResult {
  const local = h.localSan === undefined ? undefined : parseSpiffeId(h.localSan);
  const narrow = (cands: readonly Workload[]): Workload | undefined => {
    if (cands.length === 1) return cands[0];
    if (local === undefined) return undefined;
    const bySa = cands.filter((w) => w.namespace === local.namespace && w.serviceAccount === local.serviceAccount);
    return bySa.length === 1 ? bySa[0] : undefined;
  };
  if (h.workload !== undefined && h.namespace !== undefined) {
    const w = index.workload(`${h.namespace}/${h.workload}`);
    return w === undefined ? { ok: false, skip: 'destination workload not in the inventory' } : { ok: true, workload: w };
  }
  let ambiguous = false;
  if (h.sni !== undefined) {
    const m = ISTIO_SNI.exec(h.sni);
    if (m !== null) {
      const svc = index.serviceByHost(m[2] as string);
      if (svc !== undefined) {
        const w = narrow(index.workloadsOf(svc));
        if (w !== undefined) return { ok: true, workload: w, sniPort: Number(m[1]) };
        ambiguous ||= index.workloadsOf(svc).length > 1;
      }
    }
  }
  if (h.serviceName !== undefined && h.serviceNamespace !== undefined) {
    const svc = index.serviceByHost(`${h.serviceName}.${h.serviceNamespace}`);
    if (svc !== undefined) {
      const w = narrow(index.workloadsOf(svc));
      if (w !== undefined) return { ok: true, workload: w };
      ambiguous ||= index.workloadsOf(svc).length > 1;
    }
  }
  if (h.authority !== undefined && h.authority !== '' && h.authority !== '-') {
    const svc = index.serviceByHost(h.authority, local?.namespace);
    if (svc !== undefined) {
      const w = narrow(index.workloadsOf(svc));
      if (w !== undefined) return { ok: true, workload: w };
      ambiguous ||= index.workloadsOf(svc).length > 1;
    }
  }
  if (local !== undefined) {
    const w = narrow(index.workloadsBySa(local.namespace, local.serviceAccount));
    if (w !== undefined) return { ok: true, workload: w };
    ambiguous ||= index.workloadsBySa(local.namespace, local.serviceAccount).length > 1;
  }
  return { ok: false, skip: ambiguous ? 'destination matches several workloads' : 'destination not in the inventory' };
}

/** `namespace/name` of a resolved workload. */
export function destinationKey(w: Workload): string {
  return keyOf(w);
}
