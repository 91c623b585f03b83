// Bundles bench/gpu/gpu-step.ts into .gpu/gpu-step.mjs: one file with tfjs and road's sources (from src/, not dist/),
// `webgpu` (Dawn's native addon) left external: .gpu/node_modules/webgpu is put there by ../shared/gpu/prepare.sh.
import { statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const outfile = join(root, '.gpu', 'gpu-step.mjs');
const src = (dir) => join(root, dir, 'src', 'index.ts');
await build({
  entryPoints: [join(root, 'bench', 'gpu', 'gpu-step.ts')],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // ESM builds first: tfjs-core's main (a CJS bundle) and its dist/register_all_gradients (ESM) would be two copies.
  mainFields: ['module', 'main'],
  outfile,
  minify: process.env.GPU_BUNDLE_MINIFY !== '0',
  legalComments: 'none',
  logLevel: 'warning',
  // Only Dawn's addon stays outside; backends road never loads on the device are not bundled.
  external: ['webgpu', '@tensorflow/tfjs-node', '@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-backend-wasm', 'mnist'],
  alias: {
    '@road/backend/testing': join(root, 'packages', 'backend', 'src', 'testing.ts'),
    '@road/backend': src('packages/backend'),
    '@road/backbone': src('packages/backbone'),
    '@road/distill': src('packages/distill'),
    '@road/dann': src('packages/dann'),
    '@road/datasets': src('packages/datasets'),
    '@road/metrics': src('packages/metrics'),
    '@road/trainer': src('apps/trainer'),
    // Image files are never decoded on the device (SynthCity is drawn procedurally): no native sharp there.
    sharp: join(root, 'bench', 'gpu', 'sharp-stub.ts'),
  },
  banner: { js: "import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);" },
});
console.log(`${outfile}: ${(statSync(outfile).size / 2 ** 20).toFixed(1)} MiB`);
