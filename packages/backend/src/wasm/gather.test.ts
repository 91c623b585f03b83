import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, runKernelOn } from '../testing.js';
import { shippedKernel } from './register-kernels.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
/** Deterministic indices in [0, dim) with repeats. */
const indexList = (n: number, dim: number) => Array.from({ length: n }, (_, i) => (i * 7 + 3) % dim);

describe('GatherV2 on wasm (block copies) equals the cpu backend bit for bit', () => {
  const cases: [number[], number[], number, 'float32' | 'int32'][] = [
    [[1024, 64], [1024], 0, 'float32'], // the spatial-aware loss's row gather
    [[5, 9, 4], [6], 1, 'float32'],
    [[5, 9, 4], [2, 3], 2, 'int32'],
    [[7], [10], 0, 'int32'],
    [[3, 4, 5], [4], -1, 'float32'],
    [[4, 6], [0], 0, 'float32'], // empty index list
  ];
  it.each(
    cases.map(([x, i, axis, dtype]) => [`x [${x}] ${dtype}, indices [${i}], axis ${axis}`, x, i, axis, dtype] as const),
  )('%s', async (_n, xShape, iShape, axis, dtype) => {
    const dim = xShape[axis < 0 ? axis + xShape.length : axis];
    const inputs = {
      x: {
        shape: xShape,
        values:
          dtype === 'int32'
            ? Array.from({ length: size(xShape) }, (_, k) => k * 3 - 11)
            : randomValues(size(xShape), 4),
        dtype,
      },
      indices: { shape: iShape, values: indexList(size(iShape), dim), dtype: 'int32' as const },
    };
    const wasm = await runKernelOn('wasm', 'GatherV2', inputs, { axis, batchDims: 0 });
    const cpu = await runKernelOn('cpu', 'GatherV2', inputs, { axis, batchDims: 0 });
    expect(wasm.shape).toEqual(cpu.shape);
    expect(Array.from(wasm.values)).toEqual(Array.from(cpu.values));
  });

  it('hand example: rows 2, 0, 2 of a 3×2 matrix', async () => {
    await tf.setBackend('wasm');
    const y = tf.gather(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), tf.tensor1d([2, 0, 2], 'int32'));
    expect(Array.from(y.dataSync())).toEqual([5, 6, 1, 2, 5, 6]);
  });

  it('names an out-of-range index', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([4, 3]);
    const i = tf.tensor1d([1, 4], 'int32');
    expect(() => tf.engine().runKernel('GatherV2', { x, indices: i }, { axis: 0, batchDims: 0 })).toThrow(
      /index 4 \(position 1\) is outside \[0, 4\) for axis 0/,
    );
    tf.dispose([x, i]);
  });

  it('is registered over the shipped kernel, and leaks nothing (gather and its gradient)', async () => {
    expect(shippedKernel('GatherV2')).toBeDefined();
    expect(tf.getKernel('GatherV2', 'wasm')).not.toBe(shippedKernel('GatherV2'));
    await tf.setBackend('wasm');
    const x = tf.ones([6, 4]);
    const i = tf.tensor1d([5, 1, 1], 'int32');
    const before = tf.memory().numTensors;
    const g = tf.grad((q: tf.Tensor) => tf.sum(tf.gather(q, i)))(x);
    expect(Array.from(g.dataSync())).toEqual([0, 0, 0, 0, 2, 2, 2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, i]);
  });
});
