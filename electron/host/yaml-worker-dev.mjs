// Worker bootstrap from source (development, tests, browser mode): registers tsx's loader in this
// thread, then runs the TypeScript worker. The bundled app runs yaml-worker.mjs directly.
import { register } from 'tsx/esm/api';

register();
await import('./yaml-worker.ts');
