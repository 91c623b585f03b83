// initBackend in a fresh Node process that loaded only @tensorflow/tfjs-core (no @tensorflow/tfjs,
// unlike this test suite's setup file): gradients must get registered with the one tfjs-core copy,
// and a training step must run. Checked for the ESM and the CJS build of the package source.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs build script without declarations
// biome-ignore lint/correctness/useImportExtensions: a plain .mjs script file keeps its own extension
import { bundleGradients } from '../scripts/bundle-gradients.mjs';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
// Under node_modules so that the child resolves @tensorflow/* from this package's dependencies.
const outDir = join(pkgDir, 'node_modules', '.cache', 'road-backend-fresh-process');

const external = ['@tensorflow/*', 'webgpu'];

beforeAll(async () => {
  mkdirSync(outDir, { recursive: true });
  // as in the published dist/: tfjs-core's gradients bundled next to the package's entry files
  await bundleGradients(join(outDir, 'tfjs-gradients.cjs'));
  const entry = join(pkgDir, 'src', 'index.ts');
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile: join(outDir, 'backend.mjs'),
    external,
    logLevel: 'error',
  });
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: join(outDir, 'backend.cjs'),
    external,
    logLevel: 'error',
    define: { 'import.meta.url': '__road_import_meta_url' },
    banner: { js: "const __road_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  });
  const body = (load: (m: string) => string) => `
const tf = ${load('@tensorflow/tfjs-core')};
const before = tf.getGradient('Conv2D') != null;
const road = ${load('./backend')};
(async () => {
  const gradients = road.ensureGradients();
  const info = await road.initBackend({ prefer: 'wasm' });
  const x = tf.randomUniform([2, 8, 8, 3], -1, 1, 'float32', 1);
  const w = tf.variable(tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 2));
  const opt = tf.train.sgd(0.05);
  const losses = [];
  for (let i = 0; i < 3; i++) losses.push(opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, w, 2, 'same'))), true).dataSync()[0]);
  console.log(JSON.stringify({ before, after: tf.getGradient('Conv2D') != null, greater: tf.getGradient('Greater') != null,
    name: info.name, copies: road.tfjsCoreCopies(), losses, loadedFrom: gradients.loadedFrom }));
})();`;
  // tfjs-layers registers every gradient (so @tensorflow/tfjs is not loaded for them), and a backend package loaded
  // after initBackend pulls in '@tensorflow/tfjs' (tfjs-node does): its cpu backend must not replace road's kernels.
  writeFileSync(
    join(outDir, 'layers-first.cjs'),
    `const warnings = [];
const warn = console.warn;
console.warn = (...a) => { warnings.push(a.join(' ')); };
const tf = require('@tensorflow/tfjs-core');
require('@tensorflow/tfjs-layers');
const road = require('./backend.cjs');
(async () => {
  const gradientsBefore = tf.getGradient('Conv2D') != null;
  await road.initBackend({ prefer: ['wasm'] });
  require('@tensorflow/tfjs');
  const again = road.registerTrainingKernels('cpu');
  console.warn = warn;
  console.log(JSON.stringify({ gradientsBefore, warnings, again }));
})();`,
  );
  writeFileSync(
    join(outDir, 'main.mjs'),
    body((m) => `await import('${m === './backend' ? './backend.mjs' : m}')`),
  );
  writeFileSync(
    join(outDir, 'main.cjs'),
    body((m) => `require('${m === './backend' ? './backend.cjs' : m}')`),
  );
});

describe.each(['main.mjs', 'main.cjs'])('fresh process (%s)', (main) => {
  it('registers gradients with the single tfjs-core copy and trains a conv on wasm', () => {
    const out = execFileSync(process.execPath, [join(outDir, main)], {
      cwd: outDir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}');
    expect(r.before).toBe(false);
    expect(r.after).toBe(true);
    // from the bundled tfjs-core gradients, not from the @tensorflow/tfjs umbrella
    expect(r.loadedFrom).toBe(join(outDir, 'tfjs-gradients.cjs'));
    expect(r.greater).toBe(true);
    expect(r.name).toBe('wasm');
    expect(r.copies).toHaveLength(1);
    expect(r.copies[0]).toMatch(/@tensorflow[\\/]tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/);
    expect(r.losses[2]).toBeLessThan(r.losses[0]);
  });
});

describe('fresh process with @tensorflow/tfjs-layers loaded first', () => {
  it('registers each cpu kernel once: no "already registered" warning, road\'s kernels stay after @tensorflow/tfjs loads', () => {
    const out = execFileSync(process.execPath, [join(outDir, 'layers-first.cjs')], {
      cwd: outDir,
      encoding: 'utf8',
      timeout: 60_000,
    });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}');
    expect(r.gradientsBefore).toBe(true);
    expect(r.warnings.filter((w: string) => /already registered/.test(w))).toEqual([]);
    // Idempotent when ours are still in place; before the fix, tfjs-backend-cpu had put its own back (replaced: 2).
    expect(r.again).toEqual({ backendName: 'cpu', added: [], replaced: [] });
  });
});
