/**
 * `npm run bench -- istio`: Istio manifest generation at scale. A synthetic mesh of 5,000 services
 * (50 namespaces × 100) and 10 million Envoy JSON access-log lines (3 callers per service, HTTP with
 * id-bearing paths, 2 % TCP, 0.1 % malformed, some client-side noise) is generated on the fly,
 * streamed into a temporary file. Then, each in its own process so peak RSS is its own, the first
 * 1 M, 5 M and 10 M lines are streamed through the real pipeline (parse → resolve → generalise →
 * aggregate), and at 10 M the rollout is generated, rendered and validated (CRD schema + CEL when
 * the CRDs are found, Istio rules always). Printed: time and lines/s per size, time per million
 * (linear means flat), peak RSS (target < 500 MB), and two peers on the same 1 M lines: a bare
 * `JSON.parse` per line in Node (the floor of any JSON-log reader) and `jq | sort -u` extracting
 * the raw distinct tuples. Benchmarks print; they never assert.
 *
 * Run as a worker by itself: `node --import tsx bench/istio.ts --worker MODE LINES LOG INVENTORY`.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SERVICES = 5000;
const NAMESPACES = 50;
// NEAM_BENCH_SCALE (default 1) shrinks the run for a smoke test, e.g. 0.01 for 100 k lines.
const SCALE = Number(process.env['NEAM_BENCH_SCALE'] ?? '1') > 0 ? Number(process.env['NEAM_BENCH_SCALE'] ?? '1') : 1;
const LINES = Math.round(10_000_000 * SCALE);
const SIZES = [1_000_000, 5_000_000, 10_000_000].map((n) => Math.round(n * SCALE));

function lcg(seed: number): () => number {
  let s = seed;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) & 0x7fffffff; // 32-bit LCG (Math.imul: a float product would lose bits)
    return s / 0x7fffffff;
  };
}

/** A service of the synthetic mesh. */
export interface Svc {
  ns: string;
  name: string;
}

/** The synthetic mesh. */
export function mesh(): Svc[] {
  const out: Svc[] = [];
  for (let i = 0; i < SERVICES; i++) out.push({ ns: `team-${String(i % NAMESPACES).padStart(2, '0')}`, name: `svc-${String(i).padStart(4, '0')}` });
  return out;
}

/** The inventory as kubectl JSON (the format a real cluster export has). */
export function inventoryJson(svcs: Svc[]): string {
  const items: unknown[] = [];
  for (let n = 0; n < NAMESPACES; n++) items.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: `team-${String(n).padStart(2, '0')}` } });
  for (const s of svcs) {
    items.push({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: s.name, namespace: s.ns }, spec: { template: { metadata: { labels: { app: s.name, version: 'v1', 'pod-template-hash': 'abc123' } }, spec: { serviceAccountName: s.name, containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] } } } });
    items.push({ apiVersion: 'v1', kind: 'Service', metadata: { name: s.name, namespace: s.ns }, spec: { selector: { app: s.name }, ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'tcp-admin', port: 9000, targetPort: 9000 }] } });
  }
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

/** Streams `lines` access-log lines into `file`. */
export async function writeLog(file: string, svcs: Svc[], lines = LINES): Promise<void> {
  const rnd = lcg(42);
  const callers = svcs.map(() => [0, 1, 2].map(() => Math.floor(rnd() * SERVICES)));
  const out = createWriteStream(file, { highWaterMark: 1 << 20 });
  const resources = ['orders', 'items', 'accounts', 'events'];
  let buf = '';
  for (let i = 0; i < lines; i++) {
    const d = Math.floor(rnd() * SERVICES);
    const dst = svcs[d] as Svc;
    const src = svcs[(callers[d] as number[])[Math.floor(rnd() * 3)] as number] as Svc;
    const peer = `spiffe://cluster.local/ns/${src.ns}/sa/${src.name}`;
    const sni = `outbound_.80_._.${dst.name}.${dst.ns}.svc.cluster.local`;
    const r = rnd();
    let line: string;
    if (r < 0.001) line = '{"start_time":"2026-11-20T10:00:00.000Z","method":"GET","pa';
    else if (r < 0.006) line = `{"method":"GET","path":"/x","upstream_cluster":"outbound|80||${dst.name}.${dst.ns}.svc.cluster.local","downstream_peer_uri_san":null}`;
    else if (r < 0.026) line = `{"start_time":"2026-11-20T10:00:00.000Z","method":null,"path":null,"protocol":null,"response_code":0,"upstream_cluster":"inbound|9000||","requested_server_name":"outbound_.9000_._.${dst.name}.${dst.ns}.svc.cluster.local","downstream_peer_uri_san":"${peer}","bytes_received":120,"bytes_sent":80}`;
    else {
      const res = resources[d % 4] as string;
      const id = Math.floor(rnd() * 1_000_000);
      const pick = Math.floor(rnd() * 4);
      const [method, path] = pick === 0 ? ['GET', `/api/v1/${res}/${id}`] : pick === 1 ? ['GET', `/api/v1/${res}?page=${id % 50}`] : pick === 2 ? ['POST', `/api/v1/${res}`] : ['PUT', `/api/v1/${res}/${id}/status`];
      line = `{"start_time":"2026-11-20T10:${String(i % 60).padStart(2, '0')}:00.000Z","method":"${method}","path":"${path}","protocol":"HTTP/1.1","response_code":200,"response_flags":"-","bytes_received":${id % 900},"bytes_sent":${id % 9000},"duration":${id % 97},"upstream_cluster":"inbound|8080||","requested_server_name":"${sni}","authority":"${dst.name}.${dst.ns}:80","downstream_peer_uri_san":"${peer}","request_id":"${id.toString(16)}"}`;
    }
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await new Promise<void>((res) => out.once('drain', () => res()));
      buf = '';
    }
  }
  out.end(buf);
  await new Promise<void>((res) => out.once('finish', () => res()));
}

/** The first `n` lines of a file as a byte stream, in 64 KiB chunks like the CLI reads (stops there). */
async function* firstLines(file: string, n: number): AsyncGenerator<Buffer> {
  let left = n;
  for await (const c of createReadStream(file, { highWaterMark: 64 * 1024 }) as AsyncIterable<Buffer>) {
    let at = 0;
    while (left > 0) {
      const nl = c.indexOf(10, at);
      if (nl < 0) break;
      at = nl + 1;
      left--;
    }
    if (left === 0) {
      yield c.subarray(0, at);
      return;
    }
    yield c;
  }
}

type Mode = 'parse' | 'parse+generate' | 'replay' | 'floor';

interface WorkerResult {
  lines: number;
  records: number;
  malformed: number;
  tuples: number;
  seconds: number;
  /** Peak RSS while streaming (before any generation). */
  parseRssMb: number;
  /** Live heap after a full GC at the end of streaming: what the data really holds. */
  liveHeapMb: number;
  generateSeconds?: number;
  documents?: number;
  schema?: string;
  replaySeconds?: number;
  replayDenied?: number;
  /** Peak RSS of the whole worker. */
  maxRssMb: number;
}

const rssMb = (): number => process.resourceUsage().maxRSS / 1024;

async function worker(mode: Mode, n: number, log: string, inventory: string): Promise<WorkerResult> {
  const { TrafficAggregate, TrafficReader, defaultConfig, loadInventory, generate, renderManifestFiles, validateGenerated, loadCrds, PolicySet, Replayer, PHASES, readLineBatches } = await import('../core/istio/index.ts');
  if (mode === 'floor') {
    // The floor of any JSON access-log reader: split lines, JSON.parse, touch one field.
    const t0 = performance.now();
    let k = 0;
    let lines = 0;
    for await (const b of readLineBatches(firstLines(log, n), 65536))
      for (const l of b) {
        lines++;
        try {
          if ((JSON.parse(l.text) as { method?: unknown }).method !== undefined) k++;
        } catch {
          // malformed
        }
      }
    return { lines, records: k, malformed: 0, tuples: 0, seconds: (performance.now() - t0) / 1000, parseRssMb: rssMb(), liveHeapMb: 0, maxRssMb: rssMb() };
  }
  const config = defaultConfig();
  const { inventory: inv, index } = loadInventory([inventory], config);
  const reader = new TrafficReader(index, config);
  const agg = new TrafficAggregate(config);
  const t0 = performance.now();
  await reader.consume({ file: log, format: 'envoy', data: firstLines(log, n) }, (r) => agg.add(r));
  const seconds = (performance.now() - t0) / 1000;
  const parseRssMb = rssMb();
  (globalThis as { gc?: () => void }).gc?.();
  const stats = reader.stats();
  const result: WorkerResult = { lines: stats.files[0]?.lines ?? 0, records: stats.records, malformed: stats.malformed, tuples: agg.tupleCount, seconds, parseRssMb, liveHeapMb: process.memoryUsage().heapUsed / 1048576, maxRssMb: 0 };
  if (mode !== 'parse') {
    const t1 = performance.now();
    const held: { g?: ReturnType<typeof generate> } = {};
    held.g = generate({ inventory: inv, config, tuples: agg.tuples(), collapsed: agg.collapsed(), exceptions: [], now: new Date('2026-12-01T00:00:00Z') });
    const files = renderManifestFiles(held.g);
    let crds;
    try {
      crds = loadCrds(process.cwd(), process.env).set;
    } catch {
      crds = undefined;
    }
    const findings = validateGenerated(held.g, crds);
    result.generateSeconds = (performance.now() - t1) / 1000;
    result.documents = files.reduce((s, f) => s + (f.bytes.toString().match(/^---$/gmu)?.length ?? 0), 0);
    result.schema = `${crds === undefined ? 'Istio rules only (CRDs not found)' : 'CRD schema + CEL + Istio rules'}, ${findings.filter((f) => f.severity === 'error').length} errors`;
    if (mode === 'replay') {
      // The final state of the rollout: later phases replace earlier resources of the same name.
      // Everything else of the generation is dropped first, as `neam-ca istio replay` holds only the manifests.
      const state = new Map<string, unknown>();
      for (const p of PHASES) for (const r of (held.g as NonNullable<typeof held.g>).phases[p]) state.set(`${r.kind}/${r.metadata.namespace}/${r.metadata.name}`, r);
      delete held.g;
      files.length = 0;
      (globalThis as { gc?: () => void }).gc?.();
      const rp = new Replayer(new PolicySet([...state.values()], config.rootNamespace), index);
      const r0 = performance.now();
      await new TrafficReader(index, config).consume({ file: log, format: 'envoy', data: firstLines(log, n) }, (r) => rp.add(r));
      result.replaySeconds = (performance.now() - r0) / 1000;
      result.replayDenied = rp.result().denied;
    }
  }
  result.maxRssMb = rssMb();
  return result;
}

function jqPeer(log: string, n: number): { seconds: number; distinct: number } | undefined {
  const which = spawnSync('sh', ['-c', 'command -v jq']);
  if (which.status !== 0) return undefined;
  const t0 = performance.now();
  const r = spawnSync('sh', ['-c', `head -n ${n} "$0" | jq -R -r 'fromjson? | select(.upstream_cluster != null and (.upstream_cluster | startswith("inbound|"))) | [.downstream_peer_uri_san, .requested_server_name, .upstream_cluster, .method, ((.path // "") | split("?")[0])] | @tsv' | sort -u -S 200M | wc -l`, log], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return { seconds: (performance.now() - t0) / 1000, distinct: Number(r.stdout.trim()) };
}

const fmt = (x: number, d = 1): string => x.toFixed(d);
const SELF = fileURLToPath(import.meta.url);

function runWorker(mode: Mode, n: number, log: string, inv: string, nodeFlags: string[] = []): WorkerResult {
  // --expose-gc only lets the worker measure its live heap; V8's heap limits stay the defaults
  // unless nodeFlags say otherwise.
  const r = spawnSync(process.execPath, ['--expose-gc', ...nodeFlags, '--import', 'tsx', SELF, '--worker', mode, String(n), log, inv], { encoding: 'utf8', maxBuffer: 16 << 20, env: process.env });
  if (r.status !== 0) throw new Error(`worker ${mode} ${n} failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as WorkerResult;
}

/** Runs the benchmark (the bench runner calls this). */
export async function runIstioBench(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'neam-bench-istio-'));
  try {
    const svcs = mesh();
    const inv = join(dir, 'inventory.json');
    writeFileSync(inv, inventoryJson(svcs));
    const log = join(dir, 'access.log');
    const tg = performance.now();
    await writeLog(log, svcs);
    console.log(`mesh: ${SERVICES} services in ${NAMESPACES} namespaces; input: ${LINES.toLocaleString('en')} lines, ${fmt(statSync(log).size / 1e9, 2)} GB, generated in ${fmt((performance.now() - tg) / 1000)} s`);
    console.log('each measurement runs in its own node process (default V8 heap settings), so its peak RSS is its own\n');
    const first = SIZES[0] as number;
    const rows: Array<[number, WorkerResult]> = [];
    for (const n of SIZES) {
      rows.push([n, runWorker(n === SIZES[SIZES.length - 1] ? 'parse+generate' : 'parse', n, log, inv)]);
      if (n === first) {
        // The peers run right after, on the same lines, so machine load affects all alike.
        const floor = runWorker('floor', n, log, inv);
        const jq = jqPeer(log, n);
        const ours = rows[0]?.[1] as WorkerResult;
        console.log(`peers on the first ${n.toLocaleString('en')} lines (run back to back):`);
        console.log(`  NEAM CA stream → resolve → generalise → aggregate: ${fmt(ours.seconds)} s (${fmt(ours.lines / ours.seconds / 1000, 0)} k lines/s)`);
        console.log(`  bare JSON.parse per line (Node, the floor):        ${fmt(floor.seconds)} s → NEAM CA / floor = ${fmt(ours.seconds / floor.seconds, 2)}×`);
        if (jq === undefined) console.log('  jq not installed: jq peer skipped');
        else console.log(`  jq | sort -u (raw distinct tuples, no generalisation): ${fmt(jq.seconds)} s, ${jq.distinct} distinct → jq / NEAM CA = ${fmt(jq.seconds / ours.seconds, 2)}× (NEAM CA: ${ours.tuples} generalised tuples)\n`);
      }
    }
    console.log(' lines        stream+aggregate   lines/s   s per 1M   tuples   malformed   peak RSS   live heap');
    for (const [n, r] of rows) console.log(` ${n.toLocaleString('en').padEnd(12)} ${fmt(r.seconds).padStart(9)} s      ${fmt(r.lines / r.seconds / 1000, 0).padStart(5)} k   ${fmt(r.seconds / (n / 1e6), 2).padStart(7)}   ${String(r.tuples).padStart(6)}   ${String(r.malformed).padStart(9)}   ${fmt(r.parseRssMb, 0).padStart(5)} MB   ${fmt(r.liveHeapMb, 0).padStart(5)} MB`);
    const a = rows[0]?.[1] as WorkerResult;
    const z = rows[rows.length - 1]?.[1] as WorkerResult;
    console.log(`\nlinearity: time(${(SIZES[SIZES.length - 1] as number) / 1e6}M)/time(${first / 1e6}M) = ${fmt(z.seconds / a.seconds, 2)} (${fmt((SIZES[SIZES.length - 1] as number) / first, 2)} is linear); s per 1M lines: ${rows.map(([, r], i) => fmt(r.seconds / ((SIZES[i] as number) / 1e6), 2)).join(' / ')}`);
    console.log(`generation at ${z.lines.toLocaleString('en')} lines: ${fmt(z.generateSeconds ?? 0)} s for ${z.documents} documents (${z.schema}); peak RSS of that process ${fmt(z.maxRssMb, 0)} MB`);
    const peak = Math.max(...rows.map(([, r]) => r.maxRssMb));
    console.log(`peak RSS over all runs: ${fmt(peak, 0)} MB (target < 500 MB: ${peak < 500 ? 'met' : 'NOT met'})`);
    for (const flags of [[], ['--max-old-space-size=256']]) {
      const rp = runWorker('replay', first, log, inv, flags);
      console.log(`replay of the first ${first.toLocaleString('en')} lines against the rollout generated from them${flags.length === 0 ? '' : ` (node ${flags.join(' ')})`}: ${fmt(rp.replaySeconds ?? 0)} s (${fmt(first / (rp.replaySeconds ?? 1) / 1000, 0)} k lines/s), ${rp.replayDenied} requests denied; peak RSS ${fmt(rp.maxRssMb, 0)} MB (generation included)`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Registration for bench/run.ts. */
export const ISTIO_BENCH = { name: 'istio', summary: `Istio generation at scale: ${SERVICES} services, ${LINES / 1e6} M access-log lines (peak RSS, time at 1/5/10 M, peers: JSON.parse floor, jq)`, run: runIstioBench };

if (process.argv[2] === '--worker' && process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [, , , mode, n, log, inv] = process.argv;
  console.log(JSON.stringify(await worker(mode as Mode, Number(n), log as string, inv as string)));
}
