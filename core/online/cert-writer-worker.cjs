/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS bootstrap: the in-thread TypeScript hook must be installed before the body loads */
// Bootstrap of the certificate-record writer thread (see cert-writer-worker.ts): tsx's in-thread
// CommonJS hook, then the body.
require('tsx/cjs/api').register();
require('./cert-writer-worker.ts');
