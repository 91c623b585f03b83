#!/usr/bin/env node
// Builds the playground into dist/ (a static site, index.html at its root): the page's script bundled by esbuild for
// browsers (the library packages' browser builds), the tfjs wasm binaries, a fixed MNIST subset (data/), the SynthCity
// demo model (models/synthcity/, from demo-model/) and a sample SynthCity image (samples/).
//
//   node apps/playground/scripts/build.mjs   (pnpm --filter @road/playground build; after the packages are built)
import { copyFileSync, cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { encodePng, loadMnist, renderSynthCity } from '@road/datasets';
import { build } from 'esbuild';

const app = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(app, 'dist');
const require = createRequire(join(app, 'package.json'));

/** Digits in data/mnist.bin: the first of @road/datasets' fixed shuffled train / test orders (class-balanced prefixes). */
export const MNIST_TRAIN = 4000;
export const MNIST_TEST = 1000;

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });

await build({
  entryPoints: [join(app, 'src', 'main.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: true,
  outfile: join(dist, 'app.js'),
  logLevel: 'warning',
  legalComments: 'linked',
});
for (const f of ['index.html', 'style.css']) copyFileSync(join(app, f), join(dist, f));

// The wasm backend's binaries (plain, SIMD, SIMD + threads), fetched next to the page (setWasmPaths('wasm/')).
const wasmDir = dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
mkdirSync(join(dist, 'wasm'));
for (const f of readdirSync(join(wasmDir, 'dist')).filter((f) => f.endsWith('.wasm')))
  copyFileSync(join(wasmDir, 'dist', f), join(dist, 'wasm', f));

// MNIST: labels then 28×28 uint8 digits, train then test.
const pool = loadMnist();
const parts = [];
for (const ids of [pool.train.subarray(0, MNIST_TRAIN), pool.test.subarray(0, MNIST_TEST)]) {
  parts.push(Uint8Array.from(ids, (id) => pool.labels[id]));
  const pixels = new Uint8Array(ids.length * 784);
  for (const [k, id] of ids.entries()) pixels.set(pool.pixels.subarray(id * 784, (id + 1) * 784), k * 784);
  parts.push(pixels);
}
mkdirSync(join(dist, 'data'));
writeFileSync(join(dist, 'data', 'mnist.bin'), Buffer.concat(parts));
writeFileSync(join(dist, 'data', 'mnist.json'), JSON.stringify({ train: MNIST_TRAIN, test: MNIST_TEST }));

// The SynthCity demo model (scripts/make-demo-model.mjs makes demo-model/).
cpSync(join(app, 'demo-model'), join(dist, 'models', 'synthcity'), { recursive: true });

// A sample target-look SynthCity image (test split, index 0).
const sample = renderSynthCity('target-test', 0, 0, 256, 128);
mkdirSync(join(dist, 'samples'));
writeFileSync(
  join(dist, 'samples', 'synthcity-target.png'),
  encodePng({ data: sample.image, width: sample.width, height: sample.height, channels: 3 }),
);
console.log(`playground built in ${dist}`);
