import { defineConfig } from 'tsup';
import { browserBuild } from '../../scripts/browser-build.js';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: false,
    target: 'node20',
  },
  // The browser build (export condition `default`; Node takes `node`): file:// model I/O is Node only.
  browserBuild('@road/backbone'),
]);
