import { defineConfig } from 'vitest/config';

const names = ['backend', 'backbone', 'distill', 'dann', 'datasets', 'metrics', 'native'];

export default defineConfig({
  test: {
    projects: [
      ...names.map((name) => ({
        test: {
          name,
          root: `packages/${name}`,
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          setupFiles: ['../../test/setup-tf.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          pool: 'forks' as const,
        },
      })),
      {
        // Browser-facing checks: the library packages bundled for a page.
        test: {
          name: 'browser',
          root: 'test/browser',
          include: ['**/*.test.ts'],
          testTimeout: 120_000,
          pool: 'forks' as const,
        },
      },
      {
        // The built playground (apps/playground/dist) in headless Chromium.
        test: {
          name: 'playground',
          root: 'apps/playground',
          include: ['test/**/*.test.ts'],
          setupFiles: ['../../test/setup-tf.ts'],
          testTimeout: 300_000,
          hookTimeout: 120_000,
          pool: 'forks' as const,
        },
      },
      {
        test: {
          name: 'bench',
          root: 'bench',
          include: ['lib/**/*.test.mjs'],
        },
      },
      {
        test: {
          name: 'trainer',
          root: 'apps/trainer',
          include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
          setupFiles: ['../../test/setup-tf.ts'],
          testTimeout: 300_000,
          hookTimeout: 300_000,
          pool: 'forks' as const,
        },
      },
    ],
  },
});
