import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, relativeError, runKernelOn } from '../testing.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('UnsortedSegmentSum on wasm', () => {
  it('adds rows that share a segment id (hand-computed)', async () => {
    // rows: [1,2], [3,4], [5,6], [7,8]; ids 2, 0, 2, 0 → seg0 = [3+7, 4+8], seg1 = 0, seg2 = [1+5, 2+6]
    const out = await runKernelOn(
      'wasm',
      'UnsortedSegmentSum',
      {
        x: { shape: [4, 2], values: [1, 2, 3, 4, 5, 6, 7, 8] },
        segmentIds: { shape: [4], values: [2, 0, 2, 0], dtype: 'int32' },
      },
      { numSegments: 3 },
    );
    expect(out.shape).toEqual([3, 2]);
    expect(Array.from(out.values)).toEqual([10, 12, 0, 0, 6, 8]);
  });

  it('drops ids outside [0, numSegments) like the cpu backend', async () => {
    const inputs = {
      x: { shape: [6, 2, 3], values: randomValues(36, 21) },
      segmentIds: { shape: [6], values: [4, -1, 1, 5, 1, 0], dtype: 'int32' as const },
    };
    const cpu = await runKernelOn('cpu', 'UnsortedSegmentSum', inputs, { numSegments: 5 });
    const wasm = await runKernelOn('wasm', 'UnsortedSegmentSum', inputs, { numSegments: 5 });
    expect(wasm.shape).toEqual([5, 2, 3]);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-6);
  });

  it('sums int32 values', async () => {
    const inputs = {
      x: { shape: [5], values: [1, 2, 3, 4, 5], dtype: 'int32' as const },
      segmentIds: { shape: [5], values: [1, 1, 0, 1, 3], dtype: 'int32' as const },
    };
    const wasm = await runKernelOn('wasm', 'UnsortedSegmentSum', inputs, { numSegments: 4 });
    expect(Array.from(wasm.values)).toEqual([3, 7, 0, 5]);
  });

  it('gives the gradient of gather (repeated indices, axis 0 and 1) equal to the cpu backend', async () => {
    const params = randomValues(7 * 4, 22);
    const weights = randomValues(9 * 4 + 7 * 5, 23);
    const run = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const p = tf.tensor2d(params, [7, 4]);
        const r0 = tf.tensor2d(weights.slice(0, 36), [9, 4]);
        const r1 = tf.tensor2d(weights.slice(36), [7, 5]);
        const i0 = tf.tensor1d([6, 0, 0, 3, 6, 6, 1, 2, 0], 'int32');
        const i1 = tf.tensor1d([3, 3, 0, 1, 3], 'int32');
        const g = tf.grad((q: tf.Tensor) =>
          tf.add(tf.sum(tf.mul(tf.gather(q, i0), r0)), tf.sum(tf.mul(tf.gather(q, i1, 1), r1))),
        );
        return g(p).dataSync();
      });
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-5);
  });
});
