/**
 * @module istio/aggregate
 * Folds observed requests into evidence tuples (source principal, destination workload, port,
 * method, generalised path) with counts. Memory is bounded by the number of distinct tuples, not
 * by the input: each request is generalised and counted, then forgotten. An operation
 * (principal, workload, port, method) that shows more distinct paths than `paths.maxPerOperation`
 * collapses to "any path" (reported), so a log full of random paths cannot grow the set without
 * bound; `limits.maxTuples` is the hard stop.
 *
 * Must never: keep request lines, or depend on the order of input for its output (tuples are
 * sorted; only `firstSeen` depends on order, by definition).
 */
import { CoreError } from '../errors.ts';
import type { IstioConfig } from './config.ts';
import { cmp, type EvidenceTuple, type ObservedProtocol, type ObservedRequest } from './model.ts';
import { compileIdPatterns, generalisePath, type GeneraliseOptions } from './paths.ts';

const NO_PATH = '\u0000';
const SEP = '\u001f';

interface Op {
  principal: string | null;
  destination: string;
  port: number | null;
  method: string | null;
  protocol: ObservedProtocol;
  /** Generalised path → count and first sighting; null once collapsed. */
  paths: Map<string, { count: number; first: string }> | null;
  collapsedCount: number;
  collapsedFirst: string;
}

/** An operation whose paths were collapsed to "any path". */
export interface CollapsedOperation {
  principal: string | null;
  destination: string;
  port: number | null;
  method: string | null;
}

/** Accumulates evidence tuples. */
export class TrafficAggregate {
  private readonly ops = new Map<string, Op>();
  private size = 0;
  private readonly gen: GeneraliseOptions;
  private readonly cache = new Map<string, string | null>();

  constructor(private readonly config: IstioConfig) {
    this.gen = { mode: config.paths.mode, idPatterns: compileIdPatterns(config.paths.idSegmentPatterns), maxLength: config.paths.maxLength };
  }

  /** Number of distinct tuples held. */
  get tupleCount(): number {
    return this.size;
  }

  private generalise(raw: string): string | null {
    const hit = this.cache.get(raw);
    if (hit !== undefined) return hit;
    const g = generalisePath(raw, this.gen);
    if (this.cache.size >= 50_000) this.cache.clear();
    this.cache.set(raw, g);
    return g;
  }

  /**
   * Adds one observation.
   * @throws {CoreError} ERR_INPUT_TOO_LARGE when the distinct tuples exceed `limits.maxTuples`.
   */
  add(r: ObservedRequest): void {
    const key = `${r.principal ?? ''}${SEP}${r.destination}${SEP}${r.port ?? ''}${SEP}${r.method ?? ''}${SEP}${r.protocol}`;
    let op = this.ops.get(key);
    if (op === undefined) {
      op = { principal: r.principal, destination: r.destination, port: r.port, method: r.method, protocol: r.protocol, paths: new Map(), collapsedCount: 0, collapsedFirst: '' };
      this.ops.set(key, op);
    }
    const where = `${r.file}:${r.line}`;
    if (op.paths === null) {
      op.collapsedCount += r.count;
      return;
    }
    const g = r.method === null || r.path === null ? NO_PATH : (this.generalise(r.path) ?? NO_PATH);
    const t = op.paths.get(g);
    if (t !== undefined) {
      t.count += r.count;
      return;
    }
    if (g !== NO_PATH && op.paths.size >= this.config.paths.maxPerOperation) {
      // Too many distinct paths: this operation allows any path from now on (reported).
      let sum = r.count;
      for (const v of op.paths.values()) sum += v.count;
      // Map iteration follows insertion order, so the first entry holds the earliest sighting.
      const first = op.paths.values().next().value?.first ?? where;
      this.size -= op.paths.size - 1;
      op.paths = null;
      op.collapsedCount = sum;
      op.collapsedFirst = first;
      return;
    }
    op.paths.set(g, { count: r.count, first: where });
    this.size++;
    if (this.size > this.config.limits.maxTuples) {
      throw new CoreError('ERR_INPUT_TOO_LARGE', `the traffic holds more than ${this.config.limits.maxTuples} distinct (principal, workload, port, method, path) tuples; raise limits.maxTuples, lower paths.maxPerOperation, or use paths.mode: none`, {
        details: { maxTuples: this.config.limits.maxTuples },
      });
    }
  }

  /** The evidence, sorted by destination, principal, port, method, path. */
  tuples(): EvidenceTuple[] {
    const out: EvidenceTuple[] = [];
    for (const op of this.ops.values()) {
      const base = { principal: op.principal, destination: op.destination, port: op.port, method: op.method, protocol: op.protocol };
      if (op.paths === null) out.push({ ...base, path: '*', count: op.collapsedCount, firstSeen: op.collapsedFirst });
      else for (const [p, v] of op.paths) out.push({ ...base, path: p === NO_PATH ? null : p, count: v.count, firstSeen: v.first });
    }
    return out.sort(compareTuples);
  }

  /** Operations whose paths collapsed to "any path" (sorted). */
  collapsed(): CollapsedOperation[] {
    return [...this.ops.values()]
      .filter((o) => o.paths === null)
      .map((o) => ({ principal: o.principal, destination: o.destination, port: o.port, method: o.method }))
      .sort((a, b) => cmp(a.destination, b.destination) || cmp(a.principal ?? '', b.principal ?? '') || (a.port ?? 0) - (b.port ?? 0) || cmp(a.method ?? '', b.method ?? ''));
  }
}

/** Deterministic tuple order. */
export function compareTuples(a: EvidenceTuple, b: EvidenceTuple): number {
  return (
    cmp(a.destination, b.destination) ||
    cmp(a.principal ?? '', b.principal ?? '') ||
    (a.port ?? 0) - (b.port ?? 0) ||
    cmp(a.method ?? '', b.method ?? '') ||
    cmp(a.path ?? '', b.path ?? '') ||
    cmp(a.protocol, b.protocol)
  );
}
