import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { l2NormalizeChannels } from './feature-norm.js';

describe('l2NormalizeChannels', () => {
  it('divides each position by its channel L2 norm (hand values)', async () => {
    // [1, 1, 3, 2]: positions (3, 4) → (0.6, 0.8); (0, 0) stays 0; (-1, 0) → (-1, 0).
    const x = tf.tensor4d([3, 4, 0, 0, -1, 0], [1, 1, 3, 2]);
    const y = l2NormalizeChannels(x);
    expect(y.shape).toEqual([1, 1, 3, 2]);
    const v = Array.from(await y.data());
    const want = [0.6, 0.8, 0, 0, -1, 0];
    for (let i = 0; i < want.length; i++) expect(v[i]).toBeCloseTo(want[i], 6);
    tf.dispose([x, y]);
  });

  it('has a gradient orthogonal to x (the loss cannot change the norm): hand values at x = (3, 4)', async () => {
    // L = y_0 with y = x/‖x‖: dL/dx = (e0 − y_0·y)/‖x‖ = ((1 − 0.36), −0.48)/5 = (0.128, −0.096); x·grad = 0.
    const x = tf.tensor4d([3, 4], [1, 1, 1, 2]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(l2NormalizeChannels(t as tf.Tensor4D), tf.tensor1d([1, 0]))))(x);
    const v = Array.from(await g.data());
    expect(v[0]).toBeCloseTo(0.128, 6);
    expect(v[1]).toBeCloseTo(-0.096, 6);
    expect(3 * v[0] + 4 * v[1]).toBeCloseTo(0, 6);
    tf.dispose([x, g]);
  });

  it('rejects a tensor that is not 4-D', () => {
    const x = tf.tensor2d([1, 2], [1, 2]);
    expect(() => l2NormalizeChannels(x as unknown as tf.Tensor4D)).toThrow(/\[N, H, W, C\].*rank 2/);
    x.dispose();
  });

  it('leaks no tensors', () => {
    const x = tf.randomNormal([2, 3, 3, 4]) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const y = l2NormalizeChannels(x);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([x, y]);
  });
});
