/**
 * The load generator of `npm run bench -- issuance`, run as its own process so it measures the
 * server from outside: C keep-alive TLS connections with mutual TLS, one outstanding request per
 * connection, requests built from the same CSR stream for every target (only the JSON envelope
 * differs: ours `{"entryId","csr"}`, cfssl's `{"certificate_request"}`). Prints `{"event":"measure"}`
 * and `{"event":"stop"}` lines when the measurement window opens and closes, then one JSON line:
 * completed and failed requests in the window, latencies (p50, p99), and the body of one
 * successful response for the bench to verify with OpenSSL.
 */
import { readFileSync } from 'node:fs';
import { connect, type TLSSocket } from 'node:tls';

interface LoadSpec {
  host: string;
  port: number;
  path: string;
  format: 'neam' | 'cfssl';
  entryId?: string;
  csrFile: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  concurrency: number;
  warmupSeconds: number;
  durationSeconds: number;
}

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const csrs = JSON.parse(readFileSync(spec.csrFile, 'utf8')) as string[];
const requests = csrs.map((csr) => {
  const body = Buffer.from(JSON.stringify(spec.format === 'neam' ? { entryId: spec.entryId, csr } : { certificate_request: csr }));
  return Buffer.concat([Buffer.from(`POST ${spec.path} HTTP/1.1\r\nhost: localhost\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`), body]);
});
const tls = { cert: readFileSync(spec.certFile), key: readFileSync(spec.keyFile), ca: readFileSync(spec.caFile) };

let next = 0;
let done = 0;
let failed = 0;
const latencies: number[] = [];
let sample = '';
let failureSample = '';
const t0 = Date.now();
const measureFrom = t0 + spec.warmupSeconds * 1000;
const stopAt = measureFrom + spec.durationSeconds * 1000;

function runConnection(): Promise<void> {
  return new Promise((resolve) => {
    const socket: TLSSocket = connect({ host: spec.host, port: spec.port, servername: 'localhost', ...tls }, () => send());
    let buf: Buffer = Buffer.alloc(0);
    let started = 0n;
    let startedAt = 0;
    const send = (): void => {
      if (Date.now() >= stopAt) {
        socket.end();
        resolve();
        return;
      }
      startedAt = Date.now();
      started = process.hrtime.bigint();
      socket.write(requests[next++ % requests.length] as Buffer);
    };
    socket.on('data', (d: Buffer) => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      for (;;) {
        const h = buf.indexOf('\r\n\r\n');
        if (h < 0) return;
        const head = buf.subarray(0, h).toString('latin1');
        const m = /content-length:\s*(\d+)/iu.exec(head);
        const len = m === null ? 0 : Number(m[1]);
        if (buf.length < h + 4 + len) return;
        const body = buf.subarray(h + 4, h + 4 + len);
        buf = buf.subarray(h + 4 + len);
        const ok = head.startsWith('HTTP/1.1 200');
        if (startedAt >= measureFrom) {
          if (ok) {
            done++;
            latencies.push(Number(process.hrtime.bigint() - started) / 1e6);
          } else {
            failed++;
          }
        }
        if (ok && sample === '') sample = body.toString('utf8');
        if (!ok && failureSample === '') failureSample = `${head.split('\r\n')[0] ?? ''} ${body.toString('utf8').slice(0, 300)}`;
        send();
      }
    });
    socket.on('error', (e) => {
      if (failureSample === '') failureSample = e.message;
      failed++;
      resolve();
    });
  });
}

// Tell the bench when the measurement window opens and closes, so it can read the server's CPU
// time over exactly that window.
let stopped = false;
const stop = (): void => {
  if (!stopped) process.stdout.write('{"event":"stop"}\n');
  stopped = true;
};
const measureTimer = setTimeout(() => process.stdout.write('{"event":"measure"}\n'), Math.max(0, measureFrom - Date.now()));
const stopTimer = setTimeout(stop, Math.max(0, stopAt - Date.now()));
await Promise.all(Array.from({ length: spec.concurrency }, runConnection));
clearTimeout(measureTimer);
clearTimeout(stopTimer);
stop();
latencies.sort((a, b) => a - b);
const pct = (p: number): number => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;
process.stdout.write(`${JSON.stringify({ done, failed, seconds: spec.durationSeconds, perSecond: done / spec.durationSeconds, p50: pct(50), p99: pct(99), sample, failureSample })}\n`);
