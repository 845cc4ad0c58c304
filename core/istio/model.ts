/**
 * @module istio/model
 * The shared vocabulary of the Istio domain: the mesh inventory (namespaces, workloads, services),
 * one observed request as the traffic parsers produce it, the aggregated evidence tuple, and
 * parse statistics. Types only, plus tiny pure helpers on them.
 *
 * Must never: do I/O or hold traffic lines (only counts and bounded examples).
 */

/** A port a workload's containers listen on. */
export interface ContainerPort {
  name?: string;
  port: number;
  protocol: string;
}

/** A workload: a Deployment, StatefulSet, DaemonSet, Job, CronJob, or a bare Pod. */
export interface Workload {
  namespace: string;
  name: string;
  /** Kubernetes kind it came from (`Deployment`, …, or `Workload` from the YAML inventory). */
  kind: string;
  serviceAccount: string;
  /** Pod (template) labels. */
  labels: Readonly<Record<string, string>>;
  ports: readonly ContainerPort[];
  /** Ports known to speak HTTP (from the YAML inventory; services add theirs). */
  httpPorts: readonly number[];
}

/** A Service port. `targetPort` is a number or a container port name. */
export interface ServicePort {
  name?: string;
  port: number;
  targetPort: number | string;
  protocol: string;
  appProtocol?: string;
}

/** A Kubernetes Service (only those with a selector front workloads). */
export interface Service {
  namespace: string;
  name: string;
  selector: Readonly<Record<string, string>>;
  ports: readonly ServicePort[];
}

/** A namespace with its labels. */
export interface Namespace {
  name: string;
  labels: Readonly<Record<string, string>>;
}

/** The mesh as the inventory describes it; every list sorted, keys unique. */
export interface Inventory {
  namespaces: readonly Namespace[];
  workloads: readonly Workload[];
  services: readonly Service[];
  /** `namespace/name` of every service account (declared or used by a workload). */
  serviceAccounts: readonly string[];
}

/** `namespace/name` key of a workload or service. */
export function keyOf(x: { namespace: string; name: string }): string {
  return `${x.namespace}/${x.name}`;
}

/** Protocol class of an observation: HTTP (has a method), TCP (connection only) or unknown. */
export type ObservedProtocol = 'http' | 'tcp' | 'unknown';

/**
 * One observed request (or, for Prometheus, one series of requests) as seen by the destination's
 * sidecar, resolved to an inventory workload.
 */
export interface ObservedRequest {
  /** Input file (as given) and 1-based line where the record starts. */
  file: string;
  line: number;
  /** Peer identity without `spiffe://` (`td/ns/NS/sa/SA`), or null for plaintext. */
  principal: string | null;
  /** Destination workload `namespace/name`. */
  destination: string;
  /** Workload (target) port, or null when the input does not carry it. */
  port: number | null;
  /** HTTP method, or null for TCP or when the input does not carry it. */
  method: string | null;
  /** Raw request path (query stripped), or null when absent. */
  path: string | null;
  protocol: ObservedProtocol;
  /** Requests this record stands for (1 per access log line; the sample value for metrics). */
  count: number;
}

/** A line or record that could not be used, with where and why. */
export interface MalformedRecord {
  file: string;
  line: number;
  reason: string;
}

/** Statistics of one traffic input. */
export interface TrafficFileStats {
  file: string;
  format: 'envoy' | 'prometheus';
  /** Lines read (Envoy) or lines scanned (Prometheus). */
  lines: number;
  /** Records turned into observations. */
  records: number;
  malformed: number;
  /** Records deliberately not learned, by reason (outbound side, unknown destination, …). */
  skipped: Record<string, number>;
}

/** Statistics over all traffic inputs. */
export interface TrafficStats {
  files: TrafficFileStats[];
  /** Total malformed records. */
  malformed: number;
  /** The first malformed records (bounded), in input order. */
  malformedExamples: MalformedRecord[];
  /** Requests represented by the observations learned (sum of counts). */
  requests: number;
  /** Observations learned. */
  records: number;
}

/** Aggregated evidence: one (source principal, destination, port, method, generalised path). */
export interface EvidenceTuple {
  principal: string | null;
  destination: string;
  port: number | null;
  method: string | null;
  /** Generalised path (`/orders/{*}`), `*` when collapsed, or null when not observed. */
  path: string | null;
  protocol: ObservedProtocol;
  count: number;
  /** Where it was first seen (`file:line`). */
  firstSeen: string;
}

/** Compares strings by UTF-16 code units (deterministic, locale-independent). */
export function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
