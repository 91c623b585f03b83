#!/usr/bin/env node
// Builds the binary shipped inside the npm package: prebuilds/<platform>-<arch>/road_native.node.
// N-API (NAPI_VERSION 8): one binary serves every Node >= 20 on the platform. Built on Debian 12 (gcc 12) it needs
// glibc >= 2.32 and libstdc++ >= GLIBCXX_3.4.30 (Debian 12, Ubuntu 22.04 and later); where it does not load, the
// install script compiles from source instead. (Linking libstdc++ statically was tried: it needs glibc 2.36.)
// Then loads it in a fresh Node and runs one tiny conv against hand-computed values. Exit 1 on any failure (a release
// must not ship without it); the `prepack` script runs this.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { compileAddon, packageRoot } from './compile.mjs';

const platform = `${process.platform}-${process.arch}`;
const output = join(packageRoot, 'prebuilds', platform, 'road_native.node');
const r = compileAddon({ output });
if (!r.built) {
  console.error(`@road/native prebuild: ${r.reason}`);
  process.exit(1);
}
// 1×3×3×1 image 1..9 convolved with a 2×2 filter of ones, 'valid': the sums of the four 2×2 windows.
const check = `
const addon = require(${JSON.stringify(output)});
const heap = new ArrayBuffer(4 * 17);
const f = new Float32Array(heap);
f.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 0);
f.set([1, 1, 1, 1], 9);
addon.conv2d(heap, 0, 36, -1, 52, [1, 3, 3, 1, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0], false);
const got = Array.from(f.subarray(13, 17));
if (got.join() !== '12,16,24,28') throw new Error('conv2d gave ' + got.join());
console.log(JSON.stringify(addon.info()));
`;
const c = spawnSync(process.execPath, ['-e', check], { encoding: 'utf8' });
if (c.status !== 0) {
  console.error(`@road/native prebuild: ${output} does not work: ${c.stderr.trim()}`);
  process.exit(1);
}
console.log(`@road/native: prebuilt ${output} with ${r.compiler} in ${r.seconds.toFixed(1)} s; ${c.stdout.trim()}`);
