/**
 * @module renderer/zod-jitless
 * Turns off zod's code generation before any schema is built. zod v4 probes `new Function('')` to
 * decide whether it may compile fast parsers; the workstation's CSP requires Trusted Types for
 * scripts (`require-trusted-types-for 'script'; trusted-types 'none'`), so the probe is a blocked
 * script evaluation that Chromium reports as a violation on every load. Without code generation the
 * contract's schemas parse the same way, interpreted.
 *
 * Imported first by `main.tsx` (module evaluation follows import order), before the contract.
 *
 * Must never: be imported after a module that builds a schema.
 */
import { config } from 'zod';

config({ jitless: true });
