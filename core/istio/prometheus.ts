/**
 * @module istio/prometheus
 * Reads Istio's standard metrics exported as JSON: the Prometheus HTTP API answer of
 * `/api/v1/query` or `/api/v1/query_range` (compact on one line or pretty-printed), a top-level
 * array of samples, or JSON lines with one sample each. A byte-level scanner finds each sample
 * object (`data.result[]` elements, or top-level objects) and parses it alone, so memory is bounded
 * by the largest sample, never by the export. Only `reporter="destination"` series of
 * `istio_requests_total` and `istio_tcp_connections_opened_total` are learned; `source_principal`
 * is the full SPIFFE URI (`unknown` for plaintext).
 *
 * Must never: buffer a whole export, or throw on malformed input (each bad sample is reported
 * with the line where it starts).
 */
import type { IstioConfig } from './config.ts';
import type { MeshIndex } from './inventory.ts';
import { keyOf, type ObservedRequest } from './model.ts';
import { resolveDestination, resolvePeer } from './resolve.ts';

/** A sample object found in the stream, or a structural problem. */
export type ScannedSample = { kind: 'sample'; line: number; value: unknown } | { kind: 'malformed'; line: number; reason: string };

const enum Ch {
  LF = 10,
  QUOTE = 34,
  BACKSLASH = 92,
  LBRACE = 123,
  RBRACE = 125,
  LBRACKET = 91,
  RBRACKET = 93,
  COMMA = 44,
  COLON = 58,
}

interface Frame {
  type: 'obj' | 'arr';
  /** For objects: the last key read. For arrays: the key the array is the value of. */
  key: string | undefined;
  expectKey: boolean;
  /** This array holds samples (`result`, or a top-level array). */
  samples: boolean;
}

/**
 * Scans a JSON byte stream for Prometheus sample objects. `maxSampleBytes` caps one sample.
 */
export async function* scanPrometheusJson(source: AsyncIterable<Buffer | Uint8Array | string>, maxSampleBytes: number): AsyncGenerator<ScannedSample> {
  const stack: Frame[] = [];
  let line = 1;
  let inString = false;
  let escape = false;
  let keyBytes: number[] | null = null; // collecting a (short) key string
  // Capture of the current candidate sample.
  let capParts: Buffer[] = [];
  let capLen = 0;
  let capDepth = -1; // stack depth at which the captured object opened; -1 when not capturing
  let capLine = 0;
  let capOverflow = false;
  let capTop = false; // capture of a top-level object (may turn out to be the API wrapper)
  let garbageLine = -1; // skipping a non-JSON line at top level
  let mode: 'unknown' | 'lines' | 'document' = 'unknown';
  let sawContent = false;
  const out: ScannedSample[] = [];

  const finishCapture = (chunk: Buffer, start: number, end: number): void => {
    const tail = chunk.subarray(start, end);
    if (capOverflow || capLen + tail.length > maxSampleBytes) out.push({ kind: 'malformed', line: capLine, reason: `sample larger than ${maxSampleBytes} bytes` });
    else {
      const text = Buffer.concat([...capParts, tail], capLen + tail.length).toString('utf8');
      try {
        out.push({ kind: 'sample', line: capLine, value: JSON.parse(text) as unknown });
      } catch {
        out.push({ kind: 'malformed', line: capLine, reason: 'not valid JSON' });
      }
    }
    capParts = [];
    capLen = 0;
    capDepth = -1;
    capOverflow = false;
    capTop = false;
  };
  const resetStructure = (): void => {
    stack.length = 0;
    inString = false;
    escape = false;
    keyBytes = null;
    capParts = [];
    capLen = 0;
    capDepth = -1;
    capOverflow = false;
    capTop = false;
  };

  for await (const raw of source) {
    const chunk = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : Buffer.isBuffer(raw) ? raw : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let capStart = capDepth >= 0 ? 0 : -1;
    for (let i = 0; i < chunk.length; i++) {
      const c = chunk[i] as number;
      if (c === Ch.LF) {
        if (garbageLine >= 0) garbageLine = -1;
        else {
          // JSON lines (the first line held a whole value): a value must end with its line, so a
          // truncated line is reported alone instead of swallowing the lines after it.
          if (mode === 'unknown' && sawContent) mode = stack.length === 0 && !inString ? 'lines' : 'document';
          if (mode === 'lines' && (stack.length > 0 || inString)) {
            out.push({ kind: 'malformed', line: capDepth >= 0 ? capLine : line, reason: 'line ends inside a JSON value (truncated line)' });
            resetStructure();
            capStart = -1;
          }
        }
        line++;
        continue;
      }
      if (garbageLine >= 0) continue;
      if (c !== 32 && c !== 9 && c !== 13) sawContent = true;
      if (inString) {
        if (escape) escape = false;
        else if (c === Ch.BACKSLASH) escape = true;
        else if (c === Ch.QUOTE) {
          inString = false;
          if (keyBytes !== null) {
            const top = stack[stack.length - 1];
            if (top !== undefined) top.key = Buffer.from(keyBytes).toString('utf8');
            keyBytes = null;
          }
          continue;
        }
        if (keyBytes !== null) {
          if (keyBytes.length < 64) keyBytes.push(c);
        }
        continue;
      }
      const top = stack[stack.length - 1];
      switch (c) {
        case Ch.QUOTE:
          inString = true;
          if (top !== undefined && top.type === 'obj' && top.expectKey) {
            keyBytes = [];
            top.expectKey = false;
          }
          break;
        case Ch.LBRACE: {
          const parentSamples = top === undefined || (top.type === 'arr' && top.samples);
          stack.push({ type: 'obj', key: undefined, expectKey: true, samples: false });
          if (capDepth < 0 && parentSamples) {
            capDepth = stack.length;
            capLine = line;
            capStart = i;
            capTop = top === undefined;
          }
          break;
        }
        case Ch.LBRACKET: {
          const isResult = top !== undefined && top.type === 'obj' && top.key === 'result';
          stack.push({ type: 'arr', key: top?.key, expectKey: false, samples: top === undefined || isResult });
          if (isResult && capTop) {
            // The captured top-level object is the API wrapper: stop capturing it.
            capParts = [];
            capLen = 0;
            capDepth = -1;
            capOverflow = false;
            capTop = false;
            capStart = -1;
          }
          break;
        }
        case Ch.RBRACE:
        case Ch.RBRACKET: {
          const want = c === Ch.RBRACE ? 'obj' : 'arr';
          if (top === undefined || top.type !== want) {
            out.push({ kind: 'malformed', line, reason: `unexpected '${String.fromCharCode(c)}'` });
            resetStructure();
            capStart = -1;
            break;
          }
          if (capDepth === stack.length && c === Ch.RBRACE) {
            finishCapture(chunk, capStart, i + 1);
            capStart = -1;
          }
          stack.pop();
          if (stack.length === 0 && c === Ch.RBRACE && capTop) capTop = false;
          break;
        }
        case Ch.COMMA:
          if (top !== undefined && top.type === 'obj') top.expectKey = true;
          break;
        case Ch.COLON:
        case 32:
        case 9:
        case 13:
          break;
        default:
          if (stack.length === 0) {
            // Not JSON at top level (a log prefix, a text line): skip to the end of the line.
            out.push({ kind: 'malformed', line, reason: 'not JSON' });
            garbageLine = line;
          }
      }
      if (out.length > 0 && capDepth < 0) {
        for (const s of out) yield s;
        out.length = 0;
      }
    }
    if (capDepth >= 0 && capStart >= 0) {
      const part = chunk.subarray(capStart);
      if (!capOverflow) {
        if (capLen + part.length > maxSampleBytes) {
          capOverflow = true;
          capParts = [];
          capLen = 0;
        } else {
          capParts.push(Buffer.from(part));
          capLen += part.length;
        }
      }
    }
    for (const s of out) yield s;
    out.length = 0;
  }
  if (stack.length > 0 || inString) yield { kind: 'malformed', line: capDepth >= 0 ? capLine : line, reason: 'input ends inside a JSON value (truncated export)' };
}

/** What one sample turned into. */
export type SampleVerdict = { kind: 'request'; request: ObservedRequest } | { kind: 'skip'; reason: string } | { kind: 'malformed'; reason: string };

const METRICS: Record<string, 'http' | 'tcp'> = { istio_requests_total: 'http', istio_tcp_connections_opened_total: 'tcp' };

function sampleCount(s: Record<string, unknown>): number | undefined {
  const one = (pair: unknown): number | undefined => {
    if (!Array.isArray(pair) || pair.length !== 2) return undefined;
    const n = typeof pair[1] === 'string' ? Number(pair[1]) : typeof pair[1] === 'number' ? pair[1] : NaN;
    return Number.isFinite(n) && n >= 0 ? n : undefined;
  };
  if (s['value'] !== undefined) return one(s['value']);
  if (Array.isArray(s['values'])) {
    let max: number | undefined;
    for (const p of s['values']) {
      const n = one(p);
      if (n === undefined) return undefined;
      max = max === undefined || n > max ? n : max;
    }
    return max;
  }
  return undefined;
}

/** Interprets one Prometheus sample (`{metric: {...}, value: [t, "n"]}`). */
export function parsePrometheusSample(value: unknown, file: string, line: number, index: MeshIndex, config: IstioConfig): SampleVerdict {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { kind: 'malformed', reason: 'a sample must be a JSON object' };
  const s = value as Record<string, unknown>;
  if (s['status'] === 'error') return { kind: 'malformed', reason: `Prometheus returned an error: ${String(s['error'] ?? s['errorType'] ?? 'unknown').slice(0, 200)}` };
  const m = s['metric'];
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return { kind: 'malformed', reason: 'a sample needs a "metric" object of labels' };
  const labels = m as Record<string, unknown>;
  for (const [k, v] of Object.entries(labels)) if (typeof v !== 'string') return { kind: 'malformed', reason: `label "${k}" must be a string` };
  const L = labels as Record<string, string | undefined>;
  const count = sampleCount(s);
  if (count === undefined) return { kind: 'malformed', reason: 'a sample needs "value": [time, "number"] or "values"' };
  const name = L['__name__'];
  if (name !== undefined && METRICS[name] === undefined) return { kind: 'skip', reason: `metric ${name} is not used` };
  if (L['reporter'] !== 'destination') return { kind: 'skip', reason: `reporter is not "destination"` };
  if (count <= 0) return { kind: 'skip', reason: 'series with no requests' };
  const svc = L['destination_service_name'];
  if (svc === 'PassthroughCluster' || svc === 'BlackHoleCluster') return { kind: 'skip', reason: 'passthrough or blackhole destination' };
  const plaintext = L['connection_security_policy'] === 'none';
  const peer = plaintext ? ({ ok: true, principal: null } as const) : resolvePeer(L['source_principal'], config);
  if (!peer.ok) return 'skip' in peer ? { kind: 'skip', reason: peer.skip } : { kind: 'malformed', reason: peer.malformed };
  const dest = resolveDestination(
    {
      ...(L['destination_workload'] !== undefined && L['destination_workload'] !== 'unknown' && L['destination_workload_namespace'] !== undefined ? { workload: L['destination_workload'], namespace: L['destination_workload_namespace'] } : {}),
      ...(svc !== undefined && L['destination_service_namespace'] !== undefined ? { serviceName: svc, serviceNamespace: L['destination_service_namespace'] } : {}),
      ...(L['destination_principal'] !== undefined ? { localSan: L['destination_principal'] } : {}),
    },
    index,
  );
  if (!dest.ok) return { kind: 'skip', reason: dest.skip };
  if (index.isExcluded(dest.workload.namespace)) return { kind: 'skip', reason: 'destination in an excluded namespace' };
  let port: number | null = null;
  if (L['destination_port'] !== undefined) {
    const p = Number(L['destination_port']);
    if (!(Number.isInteger(p) && p >= 1 && p <= 65535)) return { kind: 'malformed', reason: `destination_port ${JSON.stringify(L['destination_port'])} is not a port` };
    port = p;
  }
  const kind = name !== undefined ? METRICS[name] : L['request_protocol'] === 'tcp' ? 'tcp' : 'http';
  const method = kind === 'http' && L['request_method'] !== undefined && L['request_method'] !== '' ? L['request_method'] : null;
  const rawPath = kind === 'http' && L['request_path'] !== undefined && L['request_path'] !== '' ? L['request_path'] : null;
  const q = rawPath === null ? -1 : rawPath.search(/[?#]/u);
  return {
    kind: 'request',
    request: {
      file,
      line,
      principal: peer.principal,
      destination: keyOf(dest.workload),
      port,
      method,
      path: rawPath === null ? null : q >= 0 ? rawPath.slice(0, q) : rawPath,
      protocol: kind === 'tcp' ? 'tcp' : method === null ? 'unknown' : 'http',
      count: Math.max(1, Math.round(count)),
    },
  };
}
