import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, relativeError, runKernelOn } from '../testing.js';
import { shippedKernel } from './register-kernels.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const floats = (shape: number[], seed: number, lo = 0) => ({
  shape,
  values: Array.from(randomValues(size(shape), seed), (v) => v + lo),
});

describe('FusedBatchNorm on wasm (one pass, per-channel) equals the cpu backend', () => {
  const cases: [string, number[], number[], boolean][] = [
    ['[8,32,64,16], params [16]', [8, 32, 64, 16], [16], true],
    ['[2,5,7,3], params [1,1,1,3]', [2, 5, 7, 3], [1, 1, 1, 3], true],
    ['[4,6], params [6], no scale/offset', [4, 6], [6], false],
    ['[3,4,5], scalar params', [3, 4, 5], [1], true],
  ];
  it.each(cases)('%s', async (_n, xShape, pShape, withAffine) => {
    const inputs: Record<string, { shape: number[]; values: ArrayLike<number> }> = {
      x: floats(xShape, 1),
      mean: floats(pShape, 2),
      variance: floats(pShape, 3, 1.5), // positive
      ...(withAffine ? { offset: floats(pShape, 4), scale: floats(pShape, 5) } : {}),
    };
    const attrs = { varianceEpsilon: 1e-3 };
    const wasm = await runKernelOn('wasm', 'FusedBatchNorm', inputs, attrs);
    const cpu = await runKernelOn('cpu', 'FusedBatchNorm', inputs, attrs);
    expect(wasm.shape).toEqual(cpu.shape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
  });

  it('hand example: x = [1, 3] per channel, mean [1, 2], variance [4, 0.25], ε 0, scale [2, 1], offset [0, 1]', async () => {
    await tf.setBackend('wasm');
    const y = tf.batchNorm(tf.tensor2d([1, 3, 5, 1], [2, 2]), [1, 2], [4, 0.25], [0, 1], [2, 1], 0);
    // channel 0: (x − 1)·2/2 → 0, 4 ; channel 1: (x − 2)·1/0.5 + 1 → 3, −1
    expect(Array.from(y.dataSync())).toEqual([0, 3, 4, -1]);
    y.dispose();
  });

  it('other broadcasts go to the shipped kernel; gradients and memory are unchanged', async () => {
    expect(tf.getKernel('FusedBatchNorm', 'wasm')).not.toBe(shippedKernel('FusedBatchNorm'));
    const inputs = { x: floats([2, 3, 4], 6), mean: floats([3, 1], 7), variance: floats([3, 1], 8, 1) };
    const wasm = await runKernelOn('wasm', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
    const cpu = await runKernelOn('cpu', 'FusedBatchNorm', inputs, { varianceEpsilon: 1e-3 });
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-5);
    const grads = async (backend: string) => {
      await tf.setBackend(backend);
      return tf.tidy(() => {
        const x = tf.tensor4d(Array.from(randomValues(2 * 3 * 3 * 4, 9)), [2, 3, 3, 4]);
        const s = tf.tensor1d([1, 2, 0.5, 1.5]);
        const g = tf.grads((a: tf.Tensor, sc: tf.Tensor) => {
          const { mean, variance } = tf.moments(a, [0, 1, 2]);
          return tf.sum(tf.square(tf.batchNorm(a, mean, variance, tf.zeros([4]), sc, 1e-3)));
        })([x, s]);
        return g.map((t) => t.dataSync().slice());
      });
    };
    const before = tf.memory().numTensors;
    const [gw, gc] = [await grads('wasm'), await grads('cpu')];
    expect(relativeError(gw[0], gc[0])).toBeLessThan(1e-4);
    expect(relativeError(gw[1], gc[1])).toBeLessThan(1e-4);
    await tf.setBackend('wasm');
    expect(tf.memory().numTensors).toBe(before);
  });
});
