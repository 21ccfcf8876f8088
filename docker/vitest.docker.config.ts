import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

/**
 * The container tests (`*.docker.test.ts`): they need a running Docker engine and build the
 * mqfed image, so `npm test` leaves them out and `npm run test:docker` runs them with this file.
 */
export default defineConfig({
  test: {
    // The repository root, whatever folder vitest is started from.
    root: fileURLToPath(new URL('..', import.meta.url)),
    include: ['**/*.docker.test.ts'],
    exclude: ['node_modules/**', '.scratch/**', '.data/**', 'out/**'],
    // Building the image (first time: npm ci and a base) and starting containers take minutes
    // on a two-core machine, not seconds.
    testTimeout: 180_000,
    hookTimeout: 600_000,
    // One engine, shared host ports: files run one after another.
    fileParallelism: false,
    // The JSON report lets .ci/run print `N passed, N failed`; .scratch is git-ignored.
    reporters: ['default', ['json', { outputFile: '.scratch/docker/vitest-results.json' }]],
  },
});
