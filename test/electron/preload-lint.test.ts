/**
 * The preload's import boundary (eslint.config.js): it may import electron, zod and the IPC
 * contract, nothing else. The rule is a regex because a gitignore-style group could not re-include
 * the contract below a parent folder that '*' excluded; these cases prove both directions.
 */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function restricted(specifier: string): Promise<boolean> {
  const [result] = await eslint.lintText(`import { x } from '${specifier}';\nexport const a = x;\n`, { filePath: 'electron/preload/index.ts' });
  return (result?.messages ?? []).some((m) => m.ruleId === '@typescript-eslint/no-restricted-imports');
}

describe('preload imports', () => {
  it.each(['electron', 'zod', '../ipc/contract.ts', './contract.ts', '../contract.ts'])('allows %s', async (s) => {
    expect(await restricted(s)).toBe(false);
  });

  it.each(['node:fs', 'fs', 'child_process', '../host/router.ts', '../ipc/schema.ts', '../ipc/contract-extra.ts', '../../core/errors.ts', 'react', 'pkcs11js'])('refuses %s', async (s) => {
    expect(await restricted(s)).toBe(true);
  });
});
