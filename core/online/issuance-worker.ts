/**
 * @module online/issuance-worker
 * Body of an issuance worker thread: receives the intermediates (profiles and software keys, as
 * transferable KeyObjects) and issuance jobs from the main thread, and answers each job with the
 * signed certificate (or the TBS, in token mode) or a serialised error.
 *
 * Must never: touch the database, the network or the HSM; log key material.
 */
import { parentPort } from 'node:worker_threads';

import { IssuerSet, type IssueJobResult, type ToWorker } from './issuance-jobs.ts';

const port = parentPort;
if (port === null) throw new TypeError('issuance-worker must run in a worker thread');
const issuers = new IssuerSet();
// Results finished in the same turn of the event loop travel in one message (a message costs
// far more than the bytes in it).
let outbox: IssueJobResult[] = [];
let transfer: ArrayBuffer[] = [];
let flushing = false;
function flush(): void {
  flushing = false;
  if (outbox.length === 0) return;
  port?.postMessage({ type: 'results', results: outbox }, transfer);
  outbox = [];
  transfer = [];
}
function send(r: IssueJobResult): void {
  // Copy into exact-size buffers before transferring: a Buffer may be a slice of Node's shared
  // pool, and cloning or transferring a view moves its whole backing store.
  if (r.ok && r.der !== undefined) {
    const der = new Uint8Array(r.der);
    outbox.push({ ...r, der });
    transfer.push(der.buffer);
  } else if (r.ok) {
    const tbs = new Uint8Array(r.tbs);
    const serial = new Uint8Array(r.serial);
    outbox.push({ ...r, tbs, serial });
    transfer.push(tbs.buffer, serial.buffer);
  } else {
    outbox.push(r);
  }
  if (!flushing) {
    flushing = true;
    setImmediate(flush);
  }
}
port.on('message', (msg: ToWorker) => {
  if (msg.type === 'issuers') {
    issuers.set(msg.issuers);
    port.postMessage({ type: 'ready' });
    return;
  }
  for (const job of msg.jobs) void issuers.run(job).then(send);
});
port.postMessage({ type: 'started' });
