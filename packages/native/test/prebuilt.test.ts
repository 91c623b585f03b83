import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The binary shipped in the npm package (prebuilds/<platform>-<arch>/road_native.node) and the install script that
// uses it instead of compiling. Each case runs on a copy of the package laid out as npm unpacks it, in a fresh Node.
const pkgDir = join(__dirname, '..');
const platform = `${process.platform}-${process.arch}`;
const prebuilt = join(pkgDir, 'prebuilds', platform, 'road_native.node');
const hasCompiler = ['g++', 'c++', 'clang++'].some((c) => spawnSync(c, ['--version']).status === 0);

const dirs: string[] = [];
/** A copy of the published files (index.js, scripts, src, and the prebuilt binary when `withPrebuilt`). */
function packageCopy(withPrebuilt: boolean): string {
  const dir = mkdtempSync(join(tmpdir(), 'road-native-pkg-'));
  dirs.push(dir);
  for (const f of ['index.js', 'package.json', 'scripts', 'src'])
    cpSync(join(pkgDir, f), join(dir, f), { recursive: true });
  if (withPrebuilt) {
    mkdirSync(join(dir, 'prebuilds', platform), { recursive: true });
    cpSync(prebuilt, join(dir, 'prebuilds', platform, 'road_native.node'));
  }
  return dir;
}

/** loadNative() in a fresh Node, then one 2×2-ones 'valid' conv of the image 1..9 (the README example). */
function loadIn(dir: string, env: NodeJS.ProcessEnv = {}) {
  const script = `
    const { loadNative } = require(${JSON.stringify(join(dir, 'index.js'))});
    const r = loadNative();
    let y = null;
    if (r.addon) {
      const heap = new ArrayBuffer(4 * 17);
      const f = new Float32Array(heap);
      f.set([1, 2, 3, 4, 5, 6, 7, 8, 9], 0);
      f.set([1, 1, 1, 1], 9);
      r.addon.conv2d(heap, 0, 36, -1, 52, [1, 3, 3, 1, 2, 2, 1, 2, 2, 1, 1, 1, 1, 0, 0], false);
      y = Array.from(f.subarray(13, 17));
    }
    console.log(JSON.stringify({ loaded: r.addon != null, reason: r.reason, path: r.path ?? null, y }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', env: { ...process.env, ...env } });
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as { loaded: boolean; reason: string; path: string | null; y: number[] | null };
}

/** The install script with no compiler reachable: PATH holds only an empty directory (node runs by its full path). */
function installWithoutCompiler(dir: string) {
  const empty = join(dir, 'empty-bin');
  mkdirSync(empty, { recursive: true });
  return spawnSync(process.execPath, [join(dir, 'scripts', 'install.mjs')], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, PATH: empty, CXX: '' },
  });
}

beforeAll(() => {
  // Built here when missing (pnpm --filter @road/native build:prebuilt; `pnpm pack` runs it as prepack).
  if (!existsSync(prebuilt) && hasCompiler) {
    const r = spawnSync(process.execPath, [join(pkgDir, 'scripts', 'prebuild.mjs')], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
  }
}, 120_000);
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe.runIf(hasCompiler || existsSync(prebuilt))('prebuilt binary', () => {
  it('a package without build/ loads prebuilds/<platform>-<arch>/road_native.node and computes the conv', () => {
    const dir = packageCopy(true);
    const r = loadIn(dir);
    expect(r).toEqual({
      loaded: true,
      reason: 'loaded',
      path: join(dir, 'prebuilds', platform, 'road_native.node'),
      y: [12, 16, 24, 28], // 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9
    });
  });

  it('the install script compiles nothing when the prebuilt binary loads (no compiler on PATH)', () => {
    const dir = packageCopy(true);
    const r = installWithoutCompiler(dir);
    expect(r.status, r.stderr).toBe(0);
    expect(`${r.stdout}${r.stderr}`).toBe('');
    expect(existsSync(join(dir, 'build'))).toBe(false);
    expect(loadIn(dir).path).toBe(join(dir, 'prebuilds', platform, 'road_native.node'));
  });

  it('a broken build/road_native.node falls back to the prebuilt binary', () => {
    const dir = packageCopy(true);
    mkdirSync(join(dir, 'build'));
    writeFileSync(join(dir, 'build', 'road_native.node'), 'not a shared object');
    const r = loadIn(dir);
    expect(r.loaded).toBe(true);
    expect(r.path).toBe(join(dir, 'prebuilds', platform, 'road_native.node'));
  });

  it('ROAD_NATIVE=0 still disables it', () => {
    expect(loadIn(packageCopy(true), { ROAD_NATIVE: '0' })).toEqual({
      loaded: false,
      reason: 'disabled by ROAD_NATIVE=0',
      path: null,
      y: null,
    });
  });
});

describe('no prebuilt binary for the platform', () => {
  it('without a compiler: the install warns once, exits 0, and the loader names both missing files', () => {
    const dir = packageCopy(false);
    const r = installWithoutCompiler(dir);
    expect(r.status).toBe(0);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^@road\/native: not built \(no C\+\+ compiler found .*\); road uses the wasm kernels instead$/,
      ),
    ]);
    expect(JSON.parse(readFileSync(join(dir, 'build', 'status.json'), 'utf8'))).toMatchObject({ built: false });
    const l = loadIn(dir);
    expect(l.loaded).toBe(false);
    expect(l.reason).toContain('no C++ compiler found');
    expect(l.reason).toContain(`no prebuilt binary for ${platform}`);
  });

  it.runIf(hasCompiler)(
    'with a compiler: the install compiles from source (the fallback)',
    () => {
      const dir = packageCopy(false);
      const r = spawnSync(process.execPath, [join(dir, 'scripts', 'install.mjs')], { cwd: dir, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/@road\/native: built .*road_native\.node/);
      const l = loadIn(dir);
      expect(l.path).toBe(join(dir, 'build', 'road_native.node'));
      expect(l.y).toEqual([12, 16, 24, 28]);
    },
    120_000,
  );
});
