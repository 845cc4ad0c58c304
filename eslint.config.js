// Lint rules that enforce NEAM CA's process boundaries mechanically (STYLE.md):
//  - core/ never imports electron, React or DOM globals, nor electron/ or renderer/ code;
//  - renderer/ never imports Node built-ins, native modules or core/ at runtime (types only);
//  - electron preload imports only electron (contextBridge, ipcRenderer) and the IPC contract;
//  - only core/hsm/pkcs11.ts imports the PKCS#11 binding.
import js from '@eslint/js';
import globals from 'globals';
import tseslint from 'typescript-eslint';

const NODE_BUILTINS = ['assert', 'buffer', 'child_process', 'cluster', 'crypto', 'dgram', 'dns', 'events', 'fs', 'fs/promises', 'http', 'http2', 'https', 'module', 'net', 'os', 'path', 'process', 'readline', 'stream', 'tls', 'url', 'util', 'v8', 'vm', 'worker_threads', 'zlib'];

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'demo-out/**', 'test-artifacts/**', 'renderer/dist/**', '**/*.d.ts'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/ban-ts-comment': ['error', { 'ts-ignore': true, 'ts-nocheck': true, 'ts-expect-error': 'allow-with-description' }],
      'no-console': 'off',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['core/**/*.ts'],
    rules: {
      'no-console': 'error',
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            { name: 'electron', message: 'core/ must not depend on Electron; the Electron main process calls core, not the reverse.' },
            { name: 'react', message: 'core/ must not depend on React.' },
            { name: 'react-dom', message: 'core/ must not depend on React.' },
            { name: 'pkcs11js', message: 'Only core/hsm/pkcs11.ts imports the PKCS#11 binding; use the HSM port.' },
          ],
          patterns: [
            { group: ['**/electron/**', '**/renderer/**', 'react/*', 'react-dom/*'], message: 'core/ never imports electron/ or renderer/ code.' },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'navigator', 'localStorage', 'sessionStorage', 'HTMLElement', 'location'],
    },
  },
  {
    files: ['core/hsm/pkcs11.ts'],
    rules: { '@typescript-eslint/no-restricted-imports': 'off' },
  },
  {
    files: ['renderer/**/*.{ts,tsx}'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...NODE_BUILTINS.map((name) => ({ name, message: 'The renderer runs sandboxed: no Node built-ins.' })),
            { name: 'electron', message: 'The renderer talks to main only through the typed API exposed by the preload.' },
            { name: 'better-sqlite3', message: 'No native modules in the renderer.' },
            { name: 'pkcs11js', message: 'No native modules in the renderer.' },
          ],
          patterns: [
            { group: ['node:*'], message: 'The renderer runs sandboxed: no Node built-ins.' },
            { group: ['**/core/**', '!**/core/**/*.types', '!**/core/**/types'], allowTypeImports: true, message: 'The renderer may import types from core, never runtime code.' },
          ],
        },
      ],
    },
  },
  {
    files: ['electron/preload*.ts', 'electron/preload/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              // A regex, not a gitignore group: with '*' excluding the parent folders, a negated
              // '!../ipc/contract*' could never re-include the contract (gitignore semantics).
              regex: '^(?!(?:electron|zod)$|(?:\\.\\.?/)+(?:shared/|ipc/)?(?:ipc-)?contract(?:\\.ts)?$)',
              message: 'The preload imports only electron (contextBridge, ipcRenderer) and the IPC contract.',
            },
          ],
        },
      ],
    },
  },
);
