/**
 * @module online/metrics
 * A small Prometheus registry (text exposition format 0.0.4): counters and gauges with labels,
 * histograms with fixed buckets, and gauges computed when scraped. Enough for the online CA's
 * issuance counts and latency, failures by reason, expiring certificates, coverage and CRL/OCSP
 * activity, without a dependency.
 *
 * Must never: put a secret or an unbounded user-supplied value in a label (labels are codes,
 * routes and fixed names).
 */

type Labels = Readonly<Record<string, string>>;

function labelText(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${String(labels[k]).replace(/\\/gu, '\\\\').replace(/"/gu, '\\"').replace(/\n/gu, '\\n')}"`).join(',')}}`;
}

function fmt(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  return String(n);
}

interface Metric {
  readonly name: string;
  readonly help: string;
  render(): string[];
}

/** A monotonically increasing counter with labels. */
export class Counter implements Metric {
  readonly #values = new Map<string, number>();
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  /** Adds `n` (default 1). */
  inc(labels: Labels = {}, n = 1): void {
    const k = labelText(labels);
    this.#values.set(k, (this.#values.get(k) ?? 0) + n);
  }
  /** Current value (tests). */
  get(labels: Labels = {}): number {
    return this.#values.get(labelText(labels)) ?? 0;
  }
  render(): string[] {
    return [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`, ...[...this.#values].map(([k, v]) => `${this.name}${k} ${fmt(v)}`)];
  }
}

/** A gauge, set directly or computed at scrape time. */
export class Gauge implements Metric {
  readonly #values = new Map<string, number>();
  #collect: (() => Array<[Labels, number]>) | undefined;
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  set(value: number, labels: Labels = {}): void {
    this.#values.set(labelText(labels), value);
  }
  /** Replaces the value set with what `fn` returns at each scrape. */
  collect(fn: () => Array<[Labels, number]>): void {
    this.#collect = fn;
  }
  get(labels: Labels = {}): number | undefined {
    return this.#values.get(labelText(labels));
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} gauge`];
    if (this.#collect !== undefined) {
      for (const [l, v] of this.#collect()) lines.push(`${this.name}${labelText(l)} ${fmt(v)}`);
    } else {
      for (const [k, v] of this.#values) lines.push(`${this.name}${k} ${fmt(v)}`);
    }
    return lines;
  }
}

/** A histogram with fixed upper bounds (seconds for latencies). */
export class Histogram implements Metric {
  readonly #counts: number[];
  #sum = 0;
  #count = 0;
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {
    this.#counts = new Array<number>(buckets.length).fill(0);
  }
  observe(value: number): void {
    this.#sum += value;
    this.#count++;
    for (let i = 0; i < this.buckets.length; i++) {
      if (value <= (this.buckets[i] as number)) {
        this.#counts[i] = (this.#counts[i] as number) + 1;
        break;
      }
    }
  }
  get count(): number {
    return this.#count;
  }
  render(): string[] {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} histogram`];
    let cumulative = 0;
    this.buckets.forEach((b, i) => {
      cumulative += this.#counts[i] as number;
      lines.push(`${this.name}_bucket{le="${fmt(b)}"} ${cumulative}`);
    });
    lines.push(`${this.name}_bucket{le="+Inf"} ${this.#count}`, `${this.name}_sum ${fmt(this.#sum)}`, `${this.name}_count ${this.#count}`);
    return lines;
  }
}

/** A set of metrics rendered together. */
export class Registry {
  readonly #metrics: Metric[] = [];
  counter(name: string, help: string): Counter {
    return this.#add(new Counter(name, help));
  }
  gauge(name: string, help: string): Gauge {
    return this.#add(new Gauge(name, help));
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.#add(new Histogram(name, help, buckets));
  }
  #add<T extends Metric>(m: T): T {
    if (this.#metrics.some((x) => x.name === m.name)) throw new TypeError(`metric ${m.name} registered twice`);
    this.#metrics.push(m);
    return m;
  }
  /** The exposition text. */
  render(): string {
    return `${this.#metrics.flatMap((m) => m.render()).join('\n')}\n`;
  }
}

/** The online CA's metrics. */
export function onlineMetrics(): {
  registry: Registry;
  issued: Counter;
  issuanceSeconds: Histogram;
  failures: Counter;
  expiring: Gauge;
  coverageDays: Gauge;
  coverageLow: Gauge;
  intermediateNotAfter: Gauge;
  activeIntermediate: Gauge;
  crlPublished: Counter;
  crlLastPublish: Gauge;
  ocspResponses: Counter;
  attestations: Counter;
  rateLimited: Counter;
  httpRequests: Counter;
  residentMemory: Gauge;
} {
  const registry = new Registry();
  return {
    registry,
    issued: registry.counter('neam_ca_svid_issued_total', 'Certificates issued, by kind (workload, node, server, admin).'),
    issuanceSeconds: registry.histogram('neam_ca_svid_issuance_duration_seconds', 'Time from a complete issuance request to its recorded certificate.', [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5]),
    failures: registry.counter('neam_ca_svid_issuance_failures_total', 'Refused or failed issuance and attestation requests, by error code.'),
    expiring: registry.gauge('neam_ca_certificates_expiring', "Workload and node identities whose newest certificate expires within the window (24h, 12h, 6h) with no successor issued."),
    coverageDays: registry.gauge('neam_ca_coverage_days_left', 'Days of full-TTL issuance left with the intermediates imported so far.'),
    coverageLow: registry.gauge('neam_ca_coverage_warning', '1 when coverage left is below the warning threshold: schedule the next intermediate ceremony.'),
    intermediateNotAfter: registry.gauge('neam_ca_intermediate_not_after_seconds', 'notAfter of each issued intermediate (Unix seconds).'),
    activeIntermediate: registry.gauge('neam_ca_intermediate_active', '1 for the intermediate currently signing, 0 for the others.'),
    crlPublished: registry.counter('neam_ca_crl_published_total', 'CRLs signed, by intermediate.'),
    crlLastPublish: registry.gauge('neam_ca_crl_last_published_timestamp_seconds', 'When each intermediate last published its CRL (Unix seconds).'),
    ocspResponses: registry.counter('neam_ca_ocsp_responses_total', 'OCSP responses, by result.'),
    attestations: registry.counter('neam_ca_node_attestations_total', 'Node attestations, by result.'),
    rateLimited: registry.counter('neam_ca_rate_limited_total', 'Requests refused by a rate limit, by limit.'),
    httpRequests: registry.counter('neam_ca_http_requests_total', 'HTTP requests, by route and status code.'),
    residentMemory: registry.gauge('process_resident_memory_bytes', 'Resident memory of the server process.'),
  };
}
