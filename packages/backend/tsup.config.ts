import { defineConfig } from 'tsup';

export default defineConfig({
  entry: ['src/index.ts', 'src/testing.ts'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
  // import.meta.url (createRequire) in the CJS build.
  shims: true,
  // Loaded lazily at run time, never bundled: optional native / GPU packages and the tfjs packages.
  external: [
    '@tensorflow/tfjs',
    '@tensorflow/tfjs-core',
    '@tensorflow/tfjs-backend-cpu',
    '@tensorflow/tfjs-backend-wasm',
    '@tensorflow/tfjs-backend-webgpu',
    '@tensorflow/tfjs-node',
    '@tensorflow/tfjs-node-gpu',
    'webgpu',
    '@road/native',
  ],
});
