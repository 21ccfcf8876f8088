import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    // Scratch and data folders may hold copies of tests; only the tree's own tests run. Tests that
    // need a Docker engine run apart, through `npm run test:docker`.
    exclude: ['node_modules/**', '.scratch/**', '.data/**', 'out/**', '**/*.docker.test.ts'],
    // Services run real sockets and real processes. On a loaded two-core machine (the suite
    // beside two CPU-bound processes) a test that takes 8 s idle takes 25 s, so the limits are
    // three times what a slow test needs, not what it takes idle; a hung test still fails. Longer
    // tests (whole scenario runs) set their own limit, next to what makes them long.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // The JSON report lets .ci/run print a plain `N passed, N failed` line.
    reporters: ['default', ['json', { outputFile: '.vitest-results.json' }]],
  },
});
