/**
 * @module istio/traffic
 * Streams observed traffic from Envoy JSON access logs and Prometheus JSON exports into
 * {@link ObservedRequest}s, counting what was learned, skipped (with reasons) and malformed (with
 * line numbers, the first N kept as examples). The byte streams come from the caller, so this
 * module stays free of file handling.
 *
 * Must never: keep lines or requests (they are yielded and forgotten), or stop at a bad record.
 */
import type { IstioConfig } from './config.ts';
import { parseEnvoyLine, ResolveCache } from './envoy-log.ts';
import type { MeshIndex } from './inventory.ts';
import { readLineBatches } from './lines.ts';
import type { MalformedRecord, ObservedRequest, TrafficFileStats, TrafficStats } from './model.ts';
import { parsePrometheusSample, scanPrometheusJson } from './prometheus.ts';

/** One traffic input: a name for messages, its format and its bytes. */
export interface TrafficSource {
  file: string;
  format: 'envoy' | 'prometheus';
  data: AsyncIterable<Buffer | Uint8Array | string>;
}

/** Reads traffic sources one after the other, keeping statistics. */
export class TrafficReader {
  private readonly files: TrafficFileStats[] = [];
  private malformed = 0;
  private readonly examples: MalformedRecord[] = [];
  private requests = 0;
  private records = 0;
  private readonly cache = new ResolveCache();

  constructor(
    private readonly index: MeshIndex,
    private readonly config: IstioConfig,
  ) {}

  private bad(stats: TrafficFileStats, line: number, reason: string): void {
    stats.malformed++;
    this.malformed++;
    if (this.examples.length < this.config.limits.malformedExamples) this.examples.push({ file: stats.file, line, reason });
  }

  /**
   * Yields the observations of one source in batches (one per input chunk), so per-record work
   * stays synchronous and memory stays bounded by a chunk. Resolution is memoised (bounded).
   */
  async *batches(source: TrafficSource): AsyncGenerator<ObservedRequest[]> {
    const stats: TrafficFileStats = { file: source.file, format: source.format, lines: 0, records: 0, malformed: 0, skipped: {} };
    this.files.push(stats);
    const skip = (reason: string): void => {
      stats.skipped[reason] = (stats.skipped[reason] ?? 0) + 1;
    };
    if (source.format === 'envoy') {
      for await (const lines of readLineBatches(source.data, this.config.limits.maxLineBytes)) {
        const out: ObservedRequest[] = [];
        for (const l of lines) {
          stats.lines = l.n;
          if (l.tooLong === true) {
            this.bad(stats, l.n, `line longer than ${this.config.limits.maxLineBytes} bytes (${l.bytes} bytes)`);
            continue;
          }
          const v = parseEnvoyLine(l.text, source.file, l.n, this.index, this.config, this.cache);
          if (v.kind === 'request') {
            stats.records++;
            this.records++;
            this.requests += v.request.count;
            out.push(v.request);
          } else if (v.kind === 'skip') skip(v.reason);
          else this.bad(stats, l.n, v.reason);
        }
        if (out.length > 0) yield out;
      }
      return;
    }
    for await (const s of scanPrometheusJson(source.data, this.config.limits.maxLineBytes)) {
      stats.lines = Math.max(stats.lines, s.line);
      if (s.kind === 'malformed') {
        this.bad(stats, s.line, s.reason);
        continue;
      }
      const v = parsePrometheusSample(s.value, source.file, s.line, this.index, this.config);
      if (v.kind === 'request') {
        stats.records++;
        this.records++;
        this.requests += v.request.count;
        yield [v.request];
      } else if (v.kind === 'skip') skip(v.reason);
      else this.bad(stats, s.line, v.reason);
    }
  }

  /** Streams one source into `sink` (the fast path). */
  async consume(source: TrafficSource, sink: (r: ObservedRequest) => void): Promise<void> {
    for await (const b of this.batches(source)) for (const r of b) sink(r);
  }

  /** Yields the observations of one source one by one. */
  async *read(source: TrafficSource): AsyncGenerator<ObservedRequest> {
    for await (const b of this.batches(source)) yield* b;
  }

  /** Statistics so far (skip reasons sorted for deterministic output). */
  stats(): TrafficStats {
    return {
      files: this.files.map((f) => ({ ...f, skipped: Object.fromEntries(Object.entries(f.skipped).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) })),
      malformed: this.malformed,
      malformedExamples: [...this.examples],
      requests: this.requests,
      records: this.records,
    };
  }
}
