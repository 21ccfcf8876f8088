import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // Scratch and data folders may hold copies of tests; only the tree's own tests run. Tests that
    // need a Docker engine run apart, through `npm run test:docker`.
    exclude: ['node_modules/**', '.scratch/**', '.data/**', 'out/**', '**/*.docker.test.ts'],
    // Services run real sockets; a generous hook timeout keeps a loaded CI machine from flaking.
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // The JSON report lets .ci/run print a plain `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
