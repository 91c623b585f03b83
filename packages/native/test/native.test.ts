import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ConvGeometry, RoadNativeAddon } from '../index.js';

const require = createRequire(import.meta.url);
const pkgDir = join(__dirname, '..');
const { loadNative, buildStatus, addonPath } = require('../index.js') as typeof import('../index.js');
const status = buildStatus();
const { addon, reason } = loadNative();

/** Deterministic uniform(−1, 1) values. */
function fill(a: Float32Array, seed: number): void {
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < a.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 4294967296) * 2 - 1;
  }
}

/**
 * The convolution written out in float64: y[b,i,j,o] = Σ_{a,c,ci} x[b, i·sh + a·dh − top, j·sw + c·dw − left, ci]·W[a,c,ci,o]
 * (zero outside x), and its two gradients for the upstream gradient dy: dx and dW accumulate the same products.
 */
function reference(g: ConvGeometry, x: Float32Array, w: Float32Array, dy: Float32Array) {
  const [n, h, wd, ci, oh, ow, co, kh, kw, sh, sw, dh, dw, top, left] = g;
  const y = new Float64Array(n * oh * ow * co);
  const dx = new Float64Array(n * h * wd * ci);
  const dW = new Float64Array(kh * kw * ci * co);
  for (let b = 0; b < n; b++)
    for (let i = 0; i < oh; i++)
      for (let j = 0; j < ow; j++)
        for (let a = 0; a < kh; a++)
          for (let c = 0; c < kw; c++) {
            const r = i * sh + a * dh - top;
            const s = j * sw + c * dw - left;
            if (r < 0 || r >= h || s < 0 || s >= wd) continue;
            for (let k = 0; k < ci; k++) {
              const xi = ((b * h + r) * wd + s) * ci + k;
              for (let o = 0; o < co; o++) {
                const wi = ((a * kw + c) * ci + k) * co + o;
                const yi = ((b * oh + i) * ow + j) * co + o;
                y[yi] += x[xi] * w[wi];
                dx[xi] += dy[yi] * w[wi];
                dW[wi] += dy[yi] * x[xi];
              }
            }
          }
  return { y, dx, dW };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return m === 0 ? d : d / m;
}

describe('build and loader', () => {
  it('the build wrote build/status.json, and the addon loads exactly when it says built', () => {
    expect(status, 'build/status.json missing: run pnpm --filter @road/native build').not.toBeNull();
    expect(existsSync(addonPath)).toBe(status?.built === true);
    if (status?.built) {
      expect(addon, `built but not loadable: ${reason}`).not.toBeNull();
      expect(reason).toBe('loaded');
    } else {
      expect(addon).toBeNull();
      expect(reason).toContain(status?.reason ?? '');
    }
  });

  it('ROAD_NATIVE=0 disables it (fresh process)', () => {
    const r = spawnSync(
      process.execPath,
      ['-e', `console.log(JSON.stringify(require(${JSON.stringify(join(pkgDir, 'index.js'))}).loadNative()))`],
      {
        env: { ...process.env, ROAD_NATIVE: '0' },
        encoding: 'utf8',
      },
    );
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ addon: null, reason: 'disabled by ROAD_NATIVE=0' });
  });

  it('a missing file and a file that is not an addon give the reason, never a throw', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-native-'));
    try {
      const missing = loadNative({ path: join(dir, 'nothing.node') });
      expect(missing.addon).toBeNull();
      expect(missing.reason).toMatch(/nothing\.node is missing/);
      const bogus = join(dir, 'bogus.node');
      writeFileSync(bogus, 'not a shared object');
      const bad = loadNative({ path: bogus });
      expect(bad.addon).toBeNull();
      expect(bad.reason).toMatch(/^loading .*bogus\.node failed: /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the build script exits 0 with one warning line when there is no compiler, and builds with one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-native-build-'));
    try {
      cpSync(join(pkgDir, 'src'), join(dir, 'src'), { recursive: true });
      cpSync(join(pkgDir, 'scripts'), join(dir, 'scripts'), { recursive: true });
      const none = spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs')], {
        env: { ...process.env, CXX: 'road-no-such-compiler' },
        encoding: 'utf8',
      });
      expect(none.status).toBe(0);
      expect(none.stderr.trim().split('\n')).toHaveLength(1);
      expect(none.stderr).toMatch(/@road\/native: not built \(no C\+\+ compiler found \(tried road-no-such-compiler/);
      const st = JSON.parse(readFileSync(join(dir, 'build', 'status.json'), 'utf8'));
      expect(st.built).toBe(false);
      expect(existsSync(join(dir, 'build', 'road_native.node'))).toBe(false);
      if (status?.built) {
        const ok = spawnSync(process.execPath, [join(dir, 'scripts', 'build.mjs')], { encoding: 'utf8' });
        expect(ok.status).toBe(0);
        expect(JSON.parse(readFileSync(join(dir, 'build', 'status.json'), 'utf8')).built).toBe(true);
        expect(loadNative({ path: join(dir, 'build', 'road_native.node') }).addon).not.toBeNull();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.runIf(status?.built === true)(
  'kernels on an ArrayBuffer vs the float64 reference (relative error < 1e-4)',
  () => {
    const a = addon as RoadNativeAddon;
    afterAll(() => void a.configure({ threads: 0, isa: 'best' }));
    // [n,h,w,ci, oh,ow,co, kh,kw, sh,sw, dh,dw, top,left]
    const geometries: ConvGeometry[] = [
      [2, 7, 9, 3, 7, 9, 5, 3, 3, 1, 1, 1, 1, 1, 1],
      [1, 11, 10, 13, 5, 5, 130, 3, 3, 2, 2, 1, 1, 0, 0],
      [3, 9, 8, 17, 9, 8, 1, 5, 5, 1, 1, 2, 2, 4, 4],
      [2, 12, 12, 20, 4, 4, 19, 7, 7, 3, 3, 1, 1, 3, 3],
      [8, 5, 5, 8, 5, 5, 8, 1, 1, 1, 1, 1, 1, 0, 0],
      [1, 6, 7, 300, 6, 7, 33, 3, 3, 1, 1, 1, 1, 1, 1], // K = 2700 > one k block
    ];
    const isas = a.info().bestIsa === 'avx2-fma' ? (['avx2-fma', 'generic'] as const) : (['generic'] as const);
    for (const isa of isas) {
      for (const threads of [1, 2, 5]) {
        it.each(geometries.map((g) => [g.join(','), g] as const))(`${isa}, ${threads} threads: %s`, (_l, g) => {
          a.configure({ isa, threads });
          const [n, h, wd, ci, oh, ow, co, kh, kw] = g;
          const nx = n * h * wd * ci;
          const nw = kh * kw * ci * co;
          const ny = n * oh * ow * co;
          const heap = new ArrayBuffer(4 * (8 + 2 * nx + 2 * nw + 2 * ny + co));
          let at = 8; // float index; offsets not 16-aligned on purpose
          const take = (len: number) => {
            const v = new Float32Array(heap, 4 * at, len);
            at += len;
            return v;
          };
          const x = take(nx);
          const w = take(nw);
          const bias = take(co);
          const y = take(ny);
          const dy = take(ny);
          const dx = take(nx);
          const dW = take(nw);
          fill(x, 1);
          fill(w, 2);
          fill(dy, 3);
          fill(bias, 4);
          dx.fill(Number.NaN); // outputs are overwritten, not accumulated
          dW.fill(Number.NaN);
          const ref = reference(g, x, w, dy);
          a.conv2d(heap, x.byteOffset, w.byteOffset, -1, y.byteOffset, g, false);
          expect(relErr(y, ref.y)).toBeLessThan(1e-4);
          a.conv2d(heap, x.byteOffset, w.byteOffset, bias.byteOffset, y.byteOffset, g, true);
          const refBiasRelu = ref.y.map((v, i) => Math.max(0, v + bias[i % co]));
          expect(relErr(y, refBiasRelu)).toBeLessThan(1e-4);
          a.conv2dBackpropInput(heap, dy.byteOffset, w.byteOffset, dx.byteOffset, g);
          expect(relErr(dx, ref.dx)).toBeLessThan(1e-4);
          a.conv2dBackpropFilter(heap, x.byteOffset, dy.byteOffset, dW.byteOffset, g);
          expect(relErr(dW, ref.dW)).toBeLessThan(1e-4);
        });
      }
    }

    it('gives bit-identical results on every run for a given thread count (fixed summation order)', () => {
      a.configure({ isa: 'best', threads: 2 });
      const g: ConvGeometry = [4, 16, 12, 24, 16, 12, 20, 3, 3, 1, 1, 1, 1, 1, 1];
      const [n, h, wd, ci, oh, ow, co, kh, kw] = g;
      const nx = n * h * wd * ci;
      const nw = kh * kw * ci * co;
      const ny = n * oh * ow * co;
      const heap = new ArrayBuffer(4 * (nx + ny + nw));
      fill(new Float32Array(heap, 0, nx + ny), 5); // x then dy; dW after them
      const runs = Array.from({ length: 8 }, () => {
        a.conv2dBackpropFilter(heap, 0, 4 * nx, 4 * (nx + ny), g);
        return new Float32Array(heap, 4 * (nx + ny), nw).slice();
      });
      for (const r of runs.slice(1)) expect(r).toEqual(runs[0]);
    });

    it('rejects out-of-bounds offsets, bad geometry and non-ArrayBuffers with one clear error', () => {
      const g: ConvGeometry = [1, 4, 4, 2, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1];
      const heap = new ArrayBuffer(4 * (32 + 18 + 48));
      expect(() => a.conv2d(heap, 0, 128, -1, 4 * 60, g, false)).toThrow(
        /y: 48 floats at byte 240 run past the end of the buffer \(392 bytes\)/,
      );
      expect(() => a.conv2d(heap, 2, 128, -1, 200, g, false)).toThrow(/x: byte offset 2\.0+ is not a multiple of 4/);
      expect(() => a.conv2d(new Float32Array(4) as never, 0, 0, -1, 0, g, false)).toThrow(/must be an ArrayBuffer/);
      expect(() => a.conv2dBackpropFilter(heap, 0, 0, 0, [1, 2, 3] as never)).toThrow(
        /geometry must be an array of 15 integers/,
      );
      expect(() => a.conv2dBackpropInput(heap, 0, 0, 0, [1, 4, 4, 2, 4, 4, 3, 3, 3, 0, 1, 1, 1, 1, 1])).toThrow(
        /stride\/dilation\/filter size < 1/,
      );
      expect(() => a.configure({ threads: -1 })).toThrow(/threads must be an integer in \[0, 256\]/);
      expect(() => a.configure({ isa: 'sse9' as never })).toThrow(/isa must be 'generic', 'avx2-fma' or 'best'/);
    });

    it('reports its thread count and ISA; threads 0 = ROAD_NATIVE_THREADS (fresh process)', () => {
      expect(a.configure({ threads: 3 }).threads).toBe(3);
      const r = spawnSync(
        process.execPath,
        [
          '-e',
          `const {loadNative}=require(${JSON.stringify(join(pkgDir, 'index.js'))}); console.log(JSON.stringify(loadNative().addon.info()))`,
        ],
        { env: { ...process.env, ROAD_NATIVE_THREADS: '3', ROAD_NATIVE_ISA: 'generic' }, encoding: 'utf8' },
      );
      expect(r.status).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ threads: 3, isa: 'generic' });
    });
  },
);
