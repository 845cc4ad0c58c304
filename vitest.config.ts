import { defineConfig } from 'vitest/config';

// Tests run in forked processes: the PKCS#11 library and SoftHSM's configuration are
// process-wide, so each test file gets its own process and its own token directories.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    setupFiles: ['test/helpers/setup.ts'],
    reporters: process.env['CI'] === 'true' ? ['default'] : ['default'],
  },
});
