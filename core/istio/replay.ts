/**
 * @module istio/replay
 * Replay: every observed request of the traffic input is evaluated against a manifests folder
 * (`evaluate.ts`); anything that would be denied is reported, grouped by (principal, workload,
 * port, method) with counts, example paths, the first line and the deciding policy. This is the
 * proof that the generated STRICT configuration breaks nothing that was observed.
 *
 * Must never: keep requests (memory is bounded by the decision cache and the denied groups, each
 * with at most a few example paths).
 */
import type { Decision, PolicySet } from './evaluate.ts';
import type { MeshIndex } from './inventory.ts';
import { cmp, type ObservedRequest } from './model.ts';

/** One group of would-be-denied requests. */
export interface DeniedGroup {
  principal: string | null;
  destination: string;
  port: number | null;
  method: string | null;
  count: number;
  examplePaths: string[];
  firstSeen: string;
  reason: string;
  stage: Decision['stage'];
}

/** Replay totals. */
export interface ReplayResult {
  /** Requests evaluated (sum of counts) and records. */
  requests: number;
  records: number;
  allowed: number;
  denied: number;
  groups: DeniedGroup[];
}

const EXAMPLES = 5;

/** Accumulates replay verdicts. */
export class Replayer {
  private readonly cache = new Map<string, Decision>();
  private readonly groups = new Map<string, DeniedGroup>();
  private requests = 0;
  private records = 0;
  private denied = 0;

  constructor(
    private readonly policies: PolicySet,
    private readonly index: MeshIndex,
  ) {}

  /** Evaluates one observation. */
  add(r: ObservedRequest): void {
    this.records++;
    this.requests += r.count;
    const key = `${r.principal ?? ''}\u001f${r.destination}\u001f${r.port ?? 0}\u001f${r.method ?? ''}\u001f${r.path ?? ''}`;
    let d = this.cache.get(key);
    if (d === undefined) {
      const w = this.index.workload(r.destination);
      if (w === undefined) return;
      d = this.policies.evaluate({ principal: r.principal, namespace: w.namespace, labels: w.labels, port: r.port ?? 0, ...(r.method === null ? {} : { method: r.method, path: r.path ?? '/' }) });
      if (this.cache.size >= 16_384) this.cache.clear();
      this.cache.set(key, d);
    }
    if (d.allowed) return;
    this.denied += r.count;
    const gk = `${r.principal ?? ''}\u001f${r.destination}\u001f${r.port ?? ''}\u001f${r.method ?? ''}\u001f${d.reason}`;
    let g = this.groups.get(gk);
    if (g === undefined) {
      g = { principal: r.principal, destination: r.destination, port: r.port, method: r.method, count: 0, examplePaths: [], firstSeen: `${r.file}:${r.line}`, reason: d.reason, stage: d.stage };
      this.groups.set(gk, g);
    }
    g.count += r.count;
    if (r.path !== null && g.examplePaths.length < EXAMPLES && !g.examplePaths.includes(r.path)) g.examplePaths.push(r.path);
  }

  /** The result, groups sorted by destination, principal, port, method. */
  result(): ReplayResult {
    return {
      requests: this.requests,
      records: this.records,
      allowed: this.requests - this.denied,
      denied: this.denied,
      groups: [...this.groups.values()].sort((a, b) => cmp(a.destination, b.destination) || cmp(a.principal ?? '', b.principal ?? '') || (a.port ?? 0) - (b.port ?? 0) || cmp(a.method ?? '', b.method ?? '') || cmp(a.reason, b.reason)),
    };
  }
}
