import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { nativeFallbackKernel } from '../native/register-native.js';
import { randomValues, relativeError, runKernelOn } from '../testing.js';
import { collapseReverse, collapseSlice, collapseTranspose } from './layout.js';
import { shippedKernel } from './register-kernels.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const floats = (shape: number[], seed: number) => ({ shape, values: randomValues(size(shape), seed) });
const ints = (shape: number[]) => ({
  shape,
  values: Array.from({ length: size(shape) }, (_, i) => i - 7),
  dtype: 'int32' as const,
});

describe('axis collapsing', () => {
  it('reverse: drops size-1 axes, merges neighbours with the same flag', () => {
    // [3,3,64,64] flipped on both spatial axes = one axis of 9 reversed, a block of 4096 kept
    expect(collapseReverse([3, 3, 64, 64], [0, 1])).toEqual({ dims: [9, 4096], rev: [true, false] });
    expect(collapseReverse([2, 1, 5, 4], [0, 2])).toEqual({ dims: [10, 4], rev: [true, false] });
    expect(collapseReverse([4, 8, 16, 3], [2])).toEqual({ dims: [32, 16, 3], rev: [false, true, false] });
  });
  it('transpose: merges input axes that stay neighbours', () => {
    // [t,s,u,s,ci,co] → [t,u,co,s,s,ci]: (s_h)(u)... the last two input axes s, ci... stay apart; ci,co do not
    expect(collapseTranspose([2, 2, 2, 2, 32, 64], [0, 2, 5, 1, 3, 4])).toEqual({
      shape: [2, 2, 2, 64, 64],
      perm: [0, 2, 4, 1, 3],
    });
    expect(collapseTranspose([8, 4, 6, 64], [0, 2, 1, 3])).toEqual({ shape: [8, 4, 6, 64], perm: [0, 2, 1, 3] });
    expect(collapseTranspose([5, 1, 3, 7], [3, 1, 0, 2])).toEqual({ shape: [15, 7], perm: [1, 0] });
    expect(collapseTranspose([1, 1], [1, 0])).toEqual({ shape: [], perm: [] });
  });
});

describe('Slice on wasm (whole trailing axes merged) equals the cpu backend', () => {
  it('merges whole axes into the one before', () => {
    expect(collapseSlice([2, 320, 640, 64], [0, 80, 0, 0], [2, 90, 640, 64])).toEqual({
      shape: [2, 320 * 640 * 64],
      begin: [0, 80 * 640 * 64],
      size: [2, 90 * 640 * 64],
    });
    expect(collapseSlice([4, 5, 6], [1, 0, 2], [2, 5, 3])).toEqual({ shape: [20, 6], begin: [5, 2], size: [10, 3] });
  });
  const cases: [number[], number[], number[]][] = [
    [
      [2, 9, 7, 3],
      [0, 2, 0, 0],
      [2, 5, 7, 3],
    ],
    [
      [2, 9, 7, 3],
      [1, 2, 0, 0],
      [1, 5, 7, 3],
    ],
    [
      [2, 9, 7, 3],
      [0, 2, 1, 0],
      [2, 5, 4, 3],
    ],
    [
      [2, 9, 7, 3],
      [0, 0, 0, 1],
      [2, 9, 7, 2],
    ],
    [
      [3, 4, 5, 6, 2],
      [1, 1, 0, 0, 0],
      [2, 2, 5, 6, 2],
    ],
    [
      [6, 5],
      [2, 0],
      [3, 5],
    ],
    [
      [6, 5],
      [0, 1],
      [-1, 3],
    ],
  ];
  it.each(cases.map(([s, b, z]) => [`[${s}] begin [${b}] size [${z}]`, s, b, z] as const))(
    '%s',
    async (_n, shape, begin, sz) => {
      const inputs = { x: floats(shape, 3) };
      const wasm = await runKernelOn('wasm', 'Slice', inputs, { begin, size: sz });
      const cpu = await runKernelOn('cpu', 'Slice', inputs, { begin, size: sz });
      expect(wasm.shape).toEqual(cpu.shape);
      expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    },
  );
});

describe('Reverse on wasm (block copies) equals the cpu backend', () => {
  const cases: [number[], number[]][] = [
    [
      [3, 3, 64, 64],
      [0, 1],
    ],
    [[4, 8, 16, 3], [2]],
    [[4, 8, 16, 64], [2]],
    [[2, 3, 5, 7], [3]],
    [
      [2, 3, 5, 7],
      [0, 3],
    ],
    [
      [2, 3, 5, 7],
      [1, 2],
    ],
    [
      [2, 3, 5, 7],
      [-1, -4],
    ],
    [
      [2, 1, 2, 2, 32, 64],
      [0, 2],
    ],
    [[7], [0]],
    [[6, 1, 1], [1]],
    [[3, 5, 20], []],
  ];
  it.each(cases.map(([s, d]) => [`[${s}] dims [${d}]`, s, d] as const))('%s', async (_n, shape, dims) => {
    const inputs = { x: floats(shape, 1) };
    const wasm = await runKernelOn('wasm', 'Reverse', inputs, { dims });
    const cpu = await runKernelOn('cpu', 'Reverse', inputs, { dims });
    expect(wasm.shape).toEqual(shape);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });
  it('int32 and bool', async () => {
    const wasm = await runKernelOn('wasm', 'Reverse', { x: ints([3, 4, 5]) }, { dims: [0, 2] });
    const cpu = await runKernelOn('cpu', 'Reverse', { x: ints([3, 4, 5]) }, { dims: [0, 2] });
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
    await tf.setBackend('wasm');
    const b = tf.tidy(() =>
      Array.from(
        tf
          .reverse(
            tf.tensor2d([
              [true, false, false],
              [false, true, true],
            ]),
            1,
          )
          .dataSync(),
      ),
    );
    expect(b).toEqual([0, 0, 1, 1, 1, 0]);
  });
});

describe('Transpose on wasm (collapsed; JS above rank 4) equals the cpu backend', () => {
  const cases: [number[], number[]][] = [
    [
      [2, 2, 2, 2, 32, 64],
      [0, 2, 5, 1, 3, 4],
    ],
    [
      [3, 2, 4, 5, 2],
      [4, 0, 3, 1, 2],
    ],
    [
      [2, 3, 2, 3, 2, 2],
      [5, 4, 3, 2, 1, 0],
    ],
    [
      [8, 6, 2, 10, 2, 16],
      [2, 4, 0, 1, 3, 5],
    ], // spaceToBatchND's 6-D transpose
    [
      [8, 16, 32, 3],
      [3, 1, 2, 0],
    ],
    [
      [5, 1, 3, 7],
      [3, 1, 0, 2],
    ],
    [
      [4, 7],
      [1, 0],
    ],
    [
      [1, 1],
      [1, 0],
    ],
  ];
  it.each(cases.map(([s, p]) => [`[${s}] perm [${p}]`, s, p] as const))('%s', async (_n, shape, perm) => {
    const inputs = { x: floats(shape, 2) };
    const wasm = await runKernelOn('wasm', 'Transpose', inputs, { perm });
    const cpu = await runKernelOn('cpu', 'Transpose', inputs, { perm });
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });
  it('int32, rank 5', async () => {
    const x = ints([2, 3, 2, 2, 3]);
    const wasm = await runKernelOn('wasm', 'Transpose', { x }, { perm: [4, 2, 0, 3, 1] });
    const cpu = await runKernelOn('cpu', 'Transpose', { x }, { perm: [4, 2, 0, 3, 1] });
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });
  it('spaceToBatchND / batchToSpaceND (6-D transposes inside) still equal cpu', async () => {
    const run = () =>
      tf.tidy(() => {
        const x = tf.tensor4d(randomValues(2 * 7 * 9 * 3, 4), [2, 7, 9, 3]);
        const s = tf.spaceToBatchND(
          x,
          [2, 3],
          [
            [1, 2],
            [0, 3],
          ],
        );
        const back = tf.batchToSpaceND(
          s,
          [2, 3],
          [
            [1, 2],
            [0, 3],
          ],
        );
        return [Array.from(s.dataSync()), Array.from(back.dataSync()), Array.from(x.dataSync())];
      });
    await tf.setBackend('cpu');
    const cpu = run();
    await tf.setBackend('wasm');
    const wasm = run();
    expect(wasm[0]).toEqual(cpu[0]);
    expect(wasm[1]).toEqual(wasm[2]);
  });
});

describe('BatchMatMul on wasm (explicit transposes) equals the cpu backend', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[128, 16], [128, 48], true, false],
    [[16, 30], [20, 30], false, true],
    [[3, 12, 5], [3, 7, 12], true, true],
    [[2, 5, 9], [9, 4], false, false],
    [[1, 9, 5], [4, 9, 6], true, false], // broadcast batch
    // ≥ NATIVE_MATMUL_MIN_MACS with batch 1: a 1×1 conv through @road/native's GEMM when it is loaded
    [[128, 16], [128, 4864], true, false],
    [[1, 64, 300], [1, 300, 120], false, false],
    [[200, 64], [180, 64], false, true],
    [[197, 131], [133, 197], true, true],
  ];
  it('routes large batch-1 products through the native Conv2D when @road/native is loaded', () => {
    expect(nativeFallbackKernel('Conv2D'), 'native kernels should be registered by initBackend here').toBeDefined();
  });
  it.each(cases.map(([a, b, ta, tb]) => [`[${a}]${ta ? 'ᵀ' : ''} · [${b}]${tb ? 'ᵀ' : ''}`, a, b, ta, tb] as const))(
    '%s',
    async (_n, a, b, transposeA, transposeB) => {
      const inputs = { a: floats(a, 5), b: floats(b, 6) };
      const attrs = { transposeA, transposeB };
      const wasm = await runKernelOn('wasm', 'BatchMatMul', inputs, attrs);
      const cpu = await runKernelOn('cpu', 'BatchMatMul', inputs, attrs);
      expect(wasm.shape).toEqual(cpu.shape);
      expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
    },
  );
  it('replaces the shipped kernels and leaks nothing', async () => {
    for (const k of ['BatchMatMul', 'Reverse', 'Transpose', 'Slice', 'Identity', 'Cast']) {
      expect(shippedKernel(k), k).toBeDefined();
      expect(tf.getKernel(k, 'wasm'), k).not.toBe(shippedKernel(k));
    }
    await tf.setBackend('wasm');
    const a = tf.ones([4, 6]);
    const before = tf.memory().numTensors;
    const bytes = tf.memory().numBytes;
    tf.tidy(() => {
      tf.matMul(a, a, true, false);
      tf.matMul(a, a, false, true);
      tf.reverse(a, 0);
      tf.transpose(tf.reshape(a, [1, 2, 2, 3, 2]), [4, 3, 2, 1, 0]);
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(tf.memory().numBytes).toBe(bytes);
    a.dispose();
  });
});
