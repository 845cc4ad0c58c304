import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The process boundaries of STYLE.md are enforced by eslint.config.js; these cases prove the
// rules fire (a rule that cannot fail protects nothing) and that allowed imports pass.
const eslint = new ESLint({ cwd: new URL('../..', import.meta.url).pathname });

async function problems(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? []).map((m) => `${m.ruleId ?? ''}: ${m.message}`);
}

describe('lint boundaries', () => {
  const cases: Array<{ name: string; file: string; code: string; rule: RegExp }> = [
    { name: 'core imports electron', file: 'core/x/bad.ts', code: "import { app } from 'electron';\nexport const a = app;\n", rule: /no-restricted-imports/u },
    { name: 'core imports react', file: 'core/x/bad.ts', code: "import { useState } from 'react';\nexport const a = useState;\n", rule: /no-restricted-imports/u },
    { name: 'core imports renderer code', file: 'core/x/bad.ts', code: "import { x } from '../../renderer/src/x.ts';\nexport const a = x;\n", rule: /no-restricted-imports/u },
    { name: 'core uses DOM document', file: 'core/x/bad.ts', code: 'export const a = document.title;\n', rule: /no-restricted-globals/u },
    { name: 'core imports pkcs11js outside hsm/pkcs11.ts', file: 'core/pki/bad.ts', code: "import * as p from 'pkcs11js';\nexport const a = p;\n", rule: /no-restricted-imports/u },
    { name: 'renderer imports node:fs', file: 'renderer/src/bad.tsx', code: "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n", rule: /no-restricted-imports/u },
    { name: 'renderer imports fs', file: 'renderer/src/bad.tsx', code: "import { readFileSync } from 'fs';\nexport const a = readFileSync;\n", rule: /no-restricted-imports/u },
    { name: 'renderer imports core at runtime', file: 'renderer/src/bad.tsx', code: "import { CoreError } from '../../core/errors.ts';\nexport const a = CoreError;\n", rule: /no-restricted-imports/u },
    { name: 'preload imports node:fs', file: 'electron/preload.ts', code: "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n", rule: /no-restricted-imports/u },
  ];
  for (const c of cases) {
    it(`refuses: ${c.name}`, async () => {
      const found = await problems(c.file, c.code);
      expect(found.some((p) => c.rule.test(p)), found.join('\n')).toBe(true);
    });
  }

  it('allows a type-only import of core in the renderer, and node built-ins in core', async () => {
    expect(await problems('renderer/src/ok.tsx', "import type { SerializedError } from '../../core/errors.ts';\nexport type A = SerializedError;\n")).toEqual([]);
    expect(await problems('core/x/ok.ts', "import { readFileSync } from 'node:fs';\nexport const a = readFileSync;\n")).toEqual([]);
    expect(await problems('electron/preload.ts', "import { contextBridge, ipcRenderer } from 'electron';\nexport const a = [contextBridge, ipcRenderer];\n")).toEqual([]);
  });
});
