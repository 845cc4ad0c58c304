/* eslint-disable @typescript-eslint/no-require-imports -- a CommonJS bootstrap: the in-thread TypeScript hook must be installed before the body loads */
// Bootstrap of an issuance worker thread. Workers do not inherit the main thread's TypeScript
// loader; tsx's CommonJS hook runs in-thread (its ESM hooks would start a loader thread per
// worker, about 20 MB each), then the worker body is loaded.
require('tsx/cjs/api').register();
require('./issuance-worker.ts');
