import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 30_000,
    // Integration tests start real clusters; running files one at a time keeps
    // them within a 2-core machine and keeps their timing faults meaningful.
    fileParallelism: false,
    reporters: ['default'],
  },
});
