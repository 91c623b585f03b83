#!/usr/bin/env node
// Builds build/road_native.node from src/*.cc with the system C++ compiler (no node-gyp, no downloads) and
// writes build/status.json. Never fails: without a compiler or Node's headers it prints one warning line
// and exits 0, and @road/backend keeps its wasm kernels.
//   env: CXX (compiler, default g++ then c++), ROAD_NATIVE_SKIP_BUILD=1 (skip), ROAD_NATIVE_CXXFLAGS (extra flags)
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const buildDir = join(root, 'build');
const target = join(buildDir, 'road_native.node');
const statusFile = join(buildDir, 'status.json');

function finish(status) {
  mkdirSync(buildDir, { recursive: true });
  // status.json and the addon always agree: a failed build leaves no stale addon behind
  if (!status.built) rmSync(target, { force: true });
  writeFileSync(
    statusFile,
    `${JSON.stringify({ ...status, node: process.version, platform: `${process.platform}-${process.arch}`, date: new Date().toISOString() }, null, 2)}\n`,
  );
  if (!status.built) console.warn(`@road/native: not built (${status.reason}); road uses the wasm kernels instead`);
  else console.log(`@road/native: built ${target} with ${status.compiler} in ${status.seconds.toFixed(1)} s`);
  process.exit(0);
}

function findCompiler() {
  const candidates = process.env.CXX ? [process.env.CXX] : ['g++', 'c++', 'clang++'];
  for (const cxx of candidates) {
    const r = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cxx, version: r.stdout.split('\n')[0] };
  }
  return { cxx: null, tried: candidates };
}

function findHeaders() {
  const dirs = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return dirs.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

try {
  if (process.env.ROAD_NATIVE_SKIP_BUILD === '1') finish({ built: false, reason: 'ROAD_NATIVE_SKIP_BUILD=1' });
  if (process.platform === 'win32') finish({ built: false, reason: 'Windows builds are not supported yet' });
  const compiler = findCompiler();
  if (compiler.cxx == null)
    finish({ built: false, reason: `no C++ compiler found (tried ${compiler.tried.join(', ')}; set CXX)` });
  const headers = findHeaders();
  if (headers == null)
    finish({
      built: false,
      reason: `Node's headers (node_api.h) not found next to ${process.execPath} or in /usr/include/node`,
    });
  const sources = readdirSync(join(root, 'src'))
    .filter((f) => f.endsWith('.cc'))
    .map((f) => join(root, 'src', f));
  mkdirSync(buildDir, { recursive: true });
  const tmp = `${target}.tmp-${process.pid}`;
  const args = [
    '-O3',
    '-std=c++17',
    '-fPIC',
    '-shared',
    '-pthread',
    '-fvisibility=hidden',
    '-DNODE_GYP_MODULE_NAME=road_native',
    '-DNAPI_VERSION=8',
    `-I${headers}`,
    ...(process.platform === 'darwin' ? ['-undefined', 'dynamic_lookup'] : []),
    ...(process.env.ROAD_NATIVE_CXXFLAGS ?? '').split(/\s+/).filter(Boolean),
    ...sources,
    '-o',
    tmp,
  ];
  const t0 = performance.now();
  const r = spawnSync(compiler.cxx, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    const err = (r.error?.message ?? r.stderr ?? '').trim().split('\n').slice(0, 3).join(' | ');
    finish({ built: false, reason: `${compiler.cxx} failed (exit ${r.status}): ${err}` });
  }
  rmSync(target, { force: true });
  // rename over the old file so that a running process keeps its mapped copy
  const { renameSync } = await import('node:fs');
  renameSync(tmp, target);
  finish({
    built: true,
    reason: 'built',
    compiler: `${compiler.cxx} (${compiler.version})`,
    headers,
    seconds: (performance.now() - t0) / 1000,
  });
} catch (e) {
  finish({ built: false, reason: `build script error: ${e instanceof Error ? e.message : String(e)}` });
}
