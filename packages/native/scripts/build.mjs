#!/usr/bin/env node
// Builds build/road_native.node from src/*.cc with the system C++ compiler and writes build/status.json.
// The from-source path: the package's `build` script, and its `install` script (scripts/install.mjs) when no
// prebuilt binary for this platform loads. Never fails: without a compiler or Node's headers it prints one
// warning line and exits 0, and @road/backend keeps its wasm kernels.
//   env: CXX (compiler, default g++ then c++), ROAD_NATIVE_SKIP_BUILD=1 (skip), ROAD_NATIVE_CXXFLAGS (extra flags)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileAddon, packageRoot } from './compile.mjs';

const buildDir = join(packageRoot, 'build');
const target = join(buildDir, 'road_native.node');
const statusFile = join(buildDir, 'status.json');

const status =
  process.env.ROAD_NATIVE_SKIP_BUILD === '1'
    ? { built: false, reason: 'ROAD_NATIVE_SKIP_BUILD=1' }
    : compileAddon({ output: target });
mkdirSync(buildDir, { recursive: true });
// status.json and the addon always agree: a failed build leaves no stale addon behind
if (!status.built) rmSync(target, { force: true });
writeFileSync(
  statusFile,
  `${JSON.stringify({ ...status, node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString() }, null, 2)}\n`,
);
if (!status.built) console.warn(`@road/native: not built (${status.reason}); road uses the wasm kernels instead`);
else console.log(`@road/native: built ${target} with ${status.compiler} in ${status.seconds.toFixed(1)} s`);
