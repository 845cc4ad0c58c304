/**
 * @module electron/loopback/cli
 * `npm run app:browser`: builds the renderer with Vite (unless `--renderer-dir` names a built
 * one), starts the loopback host with the same handlers as the Electron main process, and prints
 * the address to open in Chromium, token included. Ctrl+C stops it and wipes held secrets.
 *
 * Must never: bind anything but 127.0.0.1, or print anything secret besides the per-launch address.
 */
// @peculiar/x509 (used by core's ceremony, quorum and transcript code) needs this once, first.
import 'reflect-metadata';

import { randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { resolve } from 'node:path';

import { CoreError } from '../../core/errors.ts';
import { openHsm } from '../../core/hsm/index.ts';
import { createLogger, textSink } from '../../core/log/logger.ts';
import { CeremonySession } from '../host/ceremony/session.ts';
import { APP_OPTIONS, resolveAppConfig } from '../host/config.ts';
import { EventHub } from '../host/events.ts';
import { createHandlers } from '../host/handlers/index.ts';
import { PRODUCT, readVersion } from '../host/product.ts';
import { createRouter } from '../host/router.ts';
import { SecretVault } from '../host/secret-vault.ts';
import { YamlChecker } from '../host/yaml-checker.ts';
import { contract } from '../ipc/contract.ts';
import { startLoopbackHost } from './server.ts';

const EXTRA_OPTIONS = {
  port: { type: 'string' },
  'renderer-dir': { type: 'string' },
  help: { type: 'boolean' },
} as const;

const HELP = `Usage: npm run app:browser -- [options]

Serves the ceremony workstation UI on 127.0.0.1 for Chromium (browser mode). Prints the address,
which carries a one-time key; open it on this machine only.

Options:
${Object.entries(APP_OPTIONS)
  .map(([k, v]) => `  --${k.padEnd(14)} ${v.description}`)
  .join('\n')}
  --port N         TCP port on 127.0.0.1 (default: a free port)
  --renderer-dir D serve an already built renderer instead of building one into dist/renderer
  --help           this text
`;

async function main(argv: string[]): Promise<number> {
  const repo = new URL('../../', import.meta.url);
  let config;
  try {
    config = resolveAppConfig({ argv, env: process.env, cwd: process.cwd(), home: homedir(), strict: true }, EXTRA_OPTIONS);
  } catch (e) {
    console.error(e instanceof CoreError ? e.message : String(e));
    return 2;
  }
  if (config.values['help'] === true) {
    process.stdout.write(HELP);
    return 0;
  }
  const portArg = config.values['port'];
  const port = typeof portArg === 'string' ? Number(portArg) : 0;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a TCP port number (0-65535), not ${String(portArg)}`);
    return 2;
  }
  const logger = createLogger({ sinks: [textSink(process.stderr)], level: 'info', scope: 'workstation' });

  let rendererDir: string;
  const dirArg = config.values['renderer-dir'];
  if (typeof dirArg === 'string') {
    rendererDir = resolve(dirArg);
  } else {
    const { buildRenderer } = await import('../../build/build-app.ts');
    process.stderr.write('building the renderer with Vite…\n');
    rendererDir = await buildRenderer();
  }

  const vault = new SecretVault({ random: (n) => randomBytes(n) });
  const sweeper = setInterval(() => vault.sweep(), 10_000);
  sweeper.unref();
  const version = readVersion(new URL('package.json', repo));
  const yaml = new YamlChecker({ workerUrl: new URL('../host/yaml-worker-dev.mjs', import.meta.url) });
  const events = new EventHub();
  const ceremony = new CeremonySession({ config, vault, yaml, events, logger, openHsm, software: `neam-ca ${version} (workstation, browser mode)` });
  const router = createRouter(
    contract,
    createHandlers({
      config,
      vault,
      openHsm,
      product: PRODUCT,
      version,
      versions: { node: process.versions.node, electron: null, chrome: null },
      logger,
      yaml,
      events,
      ceremony,
    }),
    logger,
  );
  const host = await startLoopbackHost({ router, rendererDir, logger, port });
  events.attach((channel, payload) => host.send(channel, payload));
  const lines = [
    `${PRODUCT}: browser mode (loopback host on 127.0.0.1 only)`,
    config.rehearsal.on ? `REHEARSAL: ${config.rehearsal.reason ?? ''}` : 'LIVE CEREMONY MODE',
    `Ceremony files from: ${config.fileRoots.map((r) => r.path).join(', ')}`,
    'Open this address in Chromium on this machine. It carries a one-time key: do not share it.',
    `URL: ${host.url}`,
    'Press Ctrl+C to stop.',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);

  await new Promise<void>((resolveStop) => {
    const stop = (): void => resolveStop();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await ceremony.shutdown();
  vault.wipeAll();
  clearInterval(sweeper);
  await yaml.close();
  await host.close();
  process.stdout.write('stopped\n');
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
