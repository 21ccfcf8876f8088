import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Services run real sockets; a generous hook timeout keeps a loaded CI machine from flaking.
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
