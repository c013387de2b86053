import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], testTimeout: 10_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'test/chaos/**/*.test.ts', 'test/browser/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          // Integration tests each spawn nats-server and several Node processes; on a 2-core
          // machine running them one file at a time keeps timings honest.
          fileParallelism: false,
        },
      },
    ],
  },
});
