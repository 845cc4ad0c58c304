/**
 * @module build/build-app
 * Builds the workstation with Vite: the React renderer (`dist/renderer`), the Electron main process
 * (`dist/electron/main.mjs`, ESM, core bundled in, native addons and electron external), the YAML
 * checker's worker (`dist/electron/yaml-worker.mjs`, same rules) and the
 * preload (`dist/electron/preload.cjs`: a single CommonJS file, because sandboxed preloads cannot
 * load modules; it requires only `electron`). electron-builder packages these (build/README.md).
 *
 *   node --import tsx build/build-app.ts [renderer|electron|all] [--out DIR]
 *
 * Must never: bundle a native addon or `electron` itself, or emit source maps into a package.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import react from '@vitejs/plugin-react';
import { build } from 'vite';

/** The repository root. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** Native addons and Electron are loaded at run time, never bundled. */
export const MAIN_EXTERNALS = ['electron', 'pkcs11js', 'better-sqlite3'] as const;

/** Builds the renderer into `outDir` (default `dist/renderer`). */
export async function buildRenderer(outDir = resolve(REPO_ROOT, 'dist/renderer')): Promise<string> {
  await build({
    configFile: false,
    root: resolve(REPO_ROOT, 'renderer'),
    base: './',
    logLevel: 'warn',
    plugins: [react()],
    build: { outDir, emptyOutDir: true, sourcemap: false, modulePreload: { polyfill: false }, target: 'chrome120' },
  });
  return outDir;
}

/** Bundles one Node entry of the Electron main side (ES module, core inside) into `outDir`. */
async function buildNodeEntry(entry: string, fileName: string, outDir: string, emptyOutDir: boolean): Promise<void> {
  await build({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'warn',
    ssr: { noExternal: true, external: [...MAIN_EXTERNALS], target: 'node' },
    build: {
      ssr: resolve(REPO_ROOT, entry),
      outDir,
      emptyOutDir,
      sourcemap: false,
      minify: false,
      target: 'node20',
      // A Node bundle with core inside; its size is not a download concern.
      chunkSizeWarningLimit: 4096,
      rolldownOptions: { external: [...MAIN_EXTERNALS], output: { format: 'es', entryFileNames: fileName } },
    },
  });
}

/** Builds the Electron main process and preload into `outDir` (default `dist/electron`). */
export async function buildElectron(outDir = resolve(REPO_ROOT, 'dist/electron')): Promise<string> {
  // The main process (core inside), then the YAML checker's worker thread
  // (electron/host/yaml-checker.ts) as its own entry beside main.mjs.
  await buildNodeEntry('electron/main/index.ts', 'main.mjs', outDir, true);
  await buildNodeEntry('electron/host/yaml-worker.ts', 'yaml-worker.mjs', outDir, false);
  await build({
    configFile: false,
    root: REPO_ROOT,
    logLevel: 'warn',
    build: {
      outDir,
      emptyOutDir: false,
      sourcemap: false,
      minify: false,
      target: 'chrome120',
      lib: { entry: resolve(REPO_ROOT, 'electron/preload/index.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
      rolldownOptions: { external: ['electron'] },
    },
  });
  return outDir;
}

async function cli(argv: string[]): Promise<void> {
  const what = argv.find((a) => !a.startsWith('--')) ?? 'all';
  const outIndex = argv.indexOf('--out');
  const out = outIndex >= 0 ? resolve(argv[outIndex + 1] ?? 'dist') : resolve(REPO_ROOT, 'dist');
  if (what !== 'renderer' && what !== 'electron' && what !== 'all') throw new Error(`unknown target ${what}; use renderer, electron or all`);
  if (what !== 'electron') console.log(`renderer: ${await buildRenderer(resolve(out, 'renderer'))}`);
  if (what !== 'renderer') console.log(`electron: ${await buildElectron(resolve(out, 'electron'))}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  await cli(process.argv.slice(2));
}
