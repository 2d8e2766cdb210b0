import { defineConfig } from 'vitest/config';

const server = ['packages/server/src/**/*.test.ts', 'packages/server/test/**/*.test.ts'];

export default defineConfig({
  test: {
    reporters: ['default', './scripts/summary-reporter.ts'],
    // Browser and multi-process tests start real servers and Chromium: generous limits on a loaded 2-core machine.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    projects: [
      {
        extends: true,
        test: {
          name: 'fabric',
          include: ['packages/*/src/**/*.test.ts', 'packages/*/test/**/*.test.ts', 'test/**/*.test.ts'],
        },
      },
      {
        // The control plane's tests again, each store on a fresh schema of the real PostgreSQL server.
        extends: true,
        test: {
          name: 'server on PostgreSQL',
          include: server,
          setupFiles: ['packages/server/test/postgres/setup.ts'],
          globalSetup: ['packages/server/test/postgres/global.ts'],
        },
      },
    ],
  },
});
