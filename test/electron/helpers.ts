/**
 * Shared fixtures for the electron/ tests: handler dependencies over temporary folders, a logger
 * that records (so tests can check nothing secret was logged), and a tiny renderer folder.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { openHsm } from '../../core/hsm/index.ts';
import { createLogger, memorySink, type Logger, type LogRecord } from '../../core/log/logger.ts';
import { CeremonySession, type CeremonySessionDeps } from '../../electron/host/ceremony/session.ts';
import type { AppConfig } from '../../electron/host/config.ts';
import { EventHub } from '../../electron/host/events.ts';
import type { HandlerDeps } from '../../electron/host/handlers/index.ts';
import { SecretVault } from '../../electron/host/secret-vault.ts';
import { YamlChecker } from '../../electron/host/yaml-checker.ts';

/** The YAML checker's worker from source (run through tsx). */
export const YAML_WORKER = new URL('../../electron/host/yaml-worker-dev.mjs', import.meta.url);

/** A logger whose redacted records the test can read. */
export function recordingLogger(): { logger: Logger; records: LogRecord[] } {
  const sink = memorySink();
  return { logger: createLogger({ sinks: [sink], level: 'debug' }), records: sink.records };
}

/** A configuration over the given folders (SoftHSM unless `modulePath` says otherwise). */
export function testConfig(over: Partial<AppConfig> & { scripts?: string[] } = {}): AppConfig {
  const roots = (over.scripts ?? []).map((path, i) => ({ id: `r${i}`, label: path, path }));
  return {
    modulePath: over.modulePath,
    softhsmConf: over.softhsmConf,
    softhsmDir: over.softhsmDir ?? '/nonexistent/softhsm',
    fileRoots: over.fileRoots ?? roots,
    rehearsal: over.rehearsal ?? { on: true, reason: 'test rehearsal' },
  };
}

/** Handler dependencies for tests (a fresh YAML checker, event hub and ceremony session). */
export function testDeps(config: AppConfig, logger: Logger, vault = new SecretVault({ random: (n) => randomBytes(n) }), extra: { yaml?: YamlChecker; runner?: CeremonySessionDeps['runner'] } = {}): HandlerDeps {
  const yaml = extra.yaml ?? new YamlChecker({ workerUrl: YAML_WORKER });
  const events = new EventHub();
  const ceremony = new CeremonySession({ config, vault, yaml, events, logger, openHsm, software: 'neam-ca test (workstation)', ...(extra.runner === undefined ? {} : { runner: extra.runner }) });
  return {
    config,
    vault,
    openHsm,
    product: 'NEAM CA ceremony workstation',
    version: '0.0.0-test',
    versions: { node: process.versions.node, electron: null, chrome: null },
    logger,
    yaml,
    events,
    ceremony,
  };
}

/** Writes a minimal "built renderer" (index.html and one asset) into `dir`. */
export function fakeRenderer(dir: string): string {
  mkdirSync(join(dir, 'assets'), { recursive: true });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title><script type="module" src="./assets/app.js"></script>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'export {};\n');
  writeFileSync(join(dir, 'assets', 'notes.txt'), 'not served');
  return dir;
}
