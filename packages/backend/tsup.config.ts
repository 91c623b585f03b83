import { defineConfig } from 'tsup';
import { browserBuild } from '../../scripts/browser-build.js';

// Loaded lazily at run time, never bundled: optional native / GPU packages and the tfjs packages.
const external = [
  '@tensorflow/tfjs',
  '@tensorflow/tfjs-core',
  '@tensorflow/tfjs-backend-cpu',
  '@tensorflow/tfjs-backend-wasm',
  '@tensorflow/tfjs-backend-webgpu',
  '@tensorflow/tfjs-backend-webgl',
  '@tensorflow/tfjs-node',
  '@tensorflow/tfjs-node-gpu',
  'webgpu',
  '@road/native',
];

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/testing.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
    // import.meta.url (createRequire) in the CJS build.
    shims: true,
    external,
  },
  // The browser build (export condition `default`; Node takes `node`): webgpu → webgl → wasm → cpu.
  browserBuild('@road/backend', {
    replace: ['src/loaders', 'src/engine-report', 'src/gradients'],
    external,
  }),
]);
