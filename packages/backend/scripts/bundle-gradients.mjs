#!/usr/bin/env node
// Builds dist/tfjs-gradients.cjs: the gradient functions of every tfjs op, from @tensorflow/tfjs-core's own
// dist/register_all_gradients.js, bundled with esbuild into one CommonJS file (≈0.3 MB) that Node can load.
// Why: in Node, tfjs-core's main entry registers no gradients and its ESM files cannot be loaded (extensionless
// imports); the only other way to get them is the @tensorflow/tfjs umbrella (≈190 MB installed with the converter,
// webgl and data packages it brings). The bundled code works through tfjs-core's process-wide registries (engine,
// gradient registry), exactly as the umbrella's own bundle does, so the gradients land in the one tfjs-core copy.
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles tfjs-core's register_all_gradients into `outfile` (CommonJS, node20). */
export async function bundleGradients(outfile = join(pkgDir, 'dist', 'tfjs-gradients.cjs')) {
  const require = createRequire(join(pkgDir, 'package.json'));
  const entry = require.resolve('@tensorflow/tfjs-core/dist/register_all_gradients.js');
  const version = require('@tensorflow/tfjs-core/package.json').version;
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    legalComments: 'eof',
    banner: {
      js: `// The gradients of @tensorflow/tfjs-core ${version} (Apache-2.0), bundled by @road/backend's scripts/bundle-gradients.mjs.`,
    },
  });
  return outfile;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = await bundleGradients();
  console.log(`@road/backend: bundled tfjs-core's gradients into ${out}`);
}
