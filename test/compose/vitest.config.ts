import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// The compose tests (`npm run test:compose`) build images and run containers: not part of the default
// `vitest run` projects, run by `npm test` after them.
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    include: ['test/compose/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 1_200_000,
    fileParallelism: false,
    sequence: { shuffle: false },
  },
});
