// Compiles src/*.cc into one N-API addon with the system C++ compiler (no node-gyp, nothing downloaded).
// Shared by scripts/build.mjs (build/road_native.node, the from-source fallback) and scripts/prebuild.mjs
// (prebuilds/<platform>-<arch>/road_native.node, shipped inside the npm package).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const packageRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The first C++ compiler that answers `--version`: $CXX, else g++, c++, clang++. */
export function findCompiler() {
  const candidates = process.env.CXX ? [process.env.CXX] : ['g++', 'c++', 'clang++'];
  for (const cxx of candidates) {
    const r = spawnSync(cxx, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) return { cxx, version: r.stdout.split('\n')[0] };
  }
  return { cxx: null, tried: candidates };
}

/** The directory holding Node's node_api.h (next to the running node, or the system's), or null. */
export function findHeaders() {
  const dirs = [
    join(dirname(process.execPath), '..', 'include', 'node'),
    '/usr/include/node',
    '/usr/local/include/node',
  ];
  return dirs.find((d) => existsSync(join(d, 'node_api.h'))) ?? null;
}

/**
 * Compiles the addon to `output` (written atomically: a running process keeps its mapped copy).
 * Returns { built: true, compiler, headers, seconds } or { built: false, reason }; never throws.
 * `extraFlags` go before the sources (e.g. -static-libstdc++ for a portable prebuilt binary).
 */
export function compileAddon({ output, extraFlags = [] }) {
  try {
    if (process.platform === 'win32') return { built: false, reason: 'Windows builds are not supported yet' };
    const compiler = findCompiler();
    if (compiler.cxx == null)
      return { built: false, reason: `no C++ compiler found (tried ${compiler.tried.join(', ')}; set CXX)` };
    const headers = findHeaders();
    if (headers == null)
      return {
        built: false,
        reason: `Node's headers (node_api.h) not found next to ${process.execPath} or in /usr/include/node`,
      };
    const sources = readdirSync(join(packageRoot, 'src'))
      .filter((f) => f.endsWith('.cc'))
      .map((f) => join(packageRoot, 'src', f));
    mkdirSync(dirname(output), { recursive: true });
    const tmp = `${output}.tmp-${process.pid}`;
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
      ...extraFlags,
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
      return { built: false, reason: `${compiler.cxx} failed (exit ${r.status}): ${err}` };
    }
    rmSync(output, { force: true });
    renameSync(tmp, output);
    return {
      built: true,
      reason: 'built',
      compiler: `${compiler.cxx} (${compiler.version})`,
      headers,
      seconds: (performance.now() - t0) / 1000,
    };
  } catch (e) {
    return { built: false, reason: `build script error: ${e instanceof Error ? e.message : String(e)}` };
  }
}
