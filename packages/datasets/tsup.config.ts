import { defineConfig } from 'tsup';
import { browserBuild } from '../../scripts/browser-build.js';

export default defineConfig([
  {
    // batch-worker is the worker-thread entry of createBatchIterator; it must sit next to index.js in dist
    // (batching.ts finds it through import.meta.url).
    entry: ['src/index.ts', 'src/batch-worker.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
    // import.meta.url in the CJS build (worker location, createRequire for the mnist package).
    shims: true,
  },
  // The browser build (export condition `default`; Node takes `node`): file readers, sharp decoding, worker
  // threads and the mnist package loader are Node only; synthetic data, transforms, label maps, RNG run anywhere.
  browserBuild('@road/datasets', { nodeOnly: ['sharp'] }),
]);
