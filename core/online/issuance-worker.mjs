// Bootstrap of an issuance worker thread: workers do not inherit the main thread's TypeScript
// loader, so register tsx here, then load the worker body.
import { register } from 'tsx/esm/api';

register();
await import('./issuance-worker.ts');
