/**
 * What gets packaged: the Vite bundles of the main process, preload and renderer (built here for
 * real), and the electron-builder configuration with its fuses. electron-builder itself is not
 * installed; build/README.md says how to package.
 */
import { readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { buildElectron, buildRenderer, MAIN_EXTERNALS } from '../../build/build-app.ts';
import { META_CSP } from '../../electron/host/csp.ts';
import { tempDir } from '../helpers/softhsm.ts';

const REPO = new URL('../../', import.meta.url).pathname;

describe('the bundles', () => {
  let tmp: ReturnType<typeof tempDir>;
  let main: string;
  let preload: string;
  let worker: string;
  let rendererDir: string;
  let electronDir: string;
  beforeAll(async () => {
    tmp = tempDir('neam-bundle-');
    electronDir = await buildElectron(join(tmp.dir, 'electron'));
    rendererDir = await buildRenderer(join(tmp.dir, 'renderer'));
    main = readFileSync(join(electronDir, 'main.mjs'), 'utf8');
    preload = readFileSync(join(electronDir, 'preload.cjs'), 'utf8');
    worker = readFileSync(join(electronDir, 'yaml-worker.mjs'), 'utf8');
    expect(readdirSync(electronDir).sort()).toEqual(['main.mjs', 'preload.cjs', 'yaml-worker.mjs']);
  });
  afterAll(() => tmp.cleanup());

  it('the preload is one CommonJS file that requires only electron and exposes only window.api', () => {
    const requires = [...preload.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/gu)].map((m) => m[1]);
    expect([...new Set(requires)]).toEqual(['electron']);
    expect(preload).not.toMatch(/^\s*import\s/mu);
    expect([...preload.matchAll(/exposeInMainWorld\(\s*["'](\w+)["']/gu)].map((m) => m[1])).toEqual(['api']);
    expect(preload).not.toMatch(/\.sendSync\s*\(|ipcRenderer\.send\s*\(/u);
  });

  it('the main process is ESM with only electron and the native addons left external', () => {
    const imports = [...main.matchAll(/^import .* from "([^"]+)";$/gmu)].map((m) => m[1]!);
    const packages = imports.filter((s) => !s.startsWith('node:'));
    expect(packages).toEqual(['electron']);
    expect(main).toMatch(/\brequire\$?\d*\("pkcs11js"\)/u);
    for (const ext of MAIN_EXTERNALS) expect(main).not.toContain(`node_modules/${ext}/`);
    expect(main).not.toMatch(/\bopenExternal\s*\(/u);
  });

  it('the YAML checker worker is ESM with only the native addons external, and checks a file when run (review finding L5)', async () => {
    const imports = [...worker.matchAll(/^import .* from "([^"]+)";$/gmu)].map((m) => m[1]!);
    for (const s of imports.filter((x) => !x.startsWith('node:'))) expect(MAIN_EXTERNALS as readonly string[]).toContain(s);
    expect(worker).not.toMatch(/from "electron"/u);
    // Run the bundled worker as the packaged app does (the externals resolve from node_modules).
    symlinkSync(join(REPO, 'node_modules'), join(tmp.dir, 'node_modules'));
    const { YamlChecker } = await import('../../electron/host/yaml-checker.ts');
    const checker = new YamlChecker({ workerUrl: new URL(`file://${join(electronDir, 'yaml-worker.mjs')}`) });
    try {
      const r = await checker.check(readFileSync(join(REPO, 'ceremony-scripts/root.yaml'), 'utf8'), 'root.yaml', REPO);
      expect(r).toMatchObject({ kind: 'script', valid: true, problems: [] });
      expect(r.plan?.steps.length).toBeGreaterThan(10);
    } finally {
      await checker.close();
    }
  });

  it('the renderer carries the meta CSP, only external scripts, no source maps', () => {
    const html = readFileSync(join(rendererDir, 'index.html'), 'utf8');
    expect(/<meta http-equiv="Content-Security-Policy" content="([^"]*)"/u.exec(html)?.[1]).toBe(META_CSP);
    for (const tag of html.match(/<script\b[^>]*>/gu) ?? []) expect(tag).toMatch(/\bsrc="\.\/assets\//u);
    expect(html).not.toMatch(/<style|style="/u);
    const assets = readdirSync(join(rendererDir, 'assets'));
    expect(assets.filter((f) => f.endsWith('.map'))).toEqual([]);
    for (const f of assets.filter((a) => a.endsWith('.js'))) expect(readFileSync(join(rendererDir, 'assets', f), 'utf8')).not.toContain('sourceMappingURL');
  });
});

describe('build/electron-builder.yml', () => {
  const config = parse(readFileSync(join(REPO, 'build/electron-builder.yml'), 'utf8')) as Record<string, unknown> & {
    electronFuses: Record<string, boolean>;
    linux: { target: string[] };
    files: string[];
    extraMetadata: { main: string };
  };

  it('sets every fuse of the baseline', () => {
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
      loadBrowserProcessSpecificV8Snapshot: false,
      grantFileProtocolExtraPrivileges: false,
    });
  });

  it('packages the Vite bundles as an asar, as AppImage and deb', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config['asar']).toBe(true);
    expect(config.extraMetadata.main).toBe('dist/electron/main.mjs');
    expect(config.files).toEqual(expect.arrayContaining(['dist/electron/main.mjs', 'dist/electron/preload.cjs', 'dist/renderer/**', '!**/*.map', '!node_modules/**']));
  });
});
