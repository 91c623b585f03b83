import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureGradients, tfjsCoreCopies } from './gradients.js';

afterAll(async () => {
  await tf.setBackend('cpu');
});

describe('ensureGradients', () => {
  it('leaves gradients registered by @tensorflow/tfjs (the test setup) alone and reports one tfjs-core copy', () => {
    const status = ensureGradients();
    expect(status.registeredBefore).toBe(true);
    expect(status.loadedUnion).toBe(false);
    expect(status.coreVersion).toBe(tf.version_core);
    expect(tfjsCoreCopies()).toHaveLength(1);
  });

  it('gives comparisons the zero gradient, so where(greater(a, 0), a, 0.1·a) differentiates like leaky ReLU', async () => {
    ensureGradients();
    for (const k of ['Greater', 'Less', 'LessEqual', 'Equal', 'NotEqual', 'LogicalAnd', 'LogicalOr', 'LogicalNot']) {
      expect(tf.getGradient(k), k).toBeDefined();
    }
    await tf.setBackend('cpu');
    const a = tf.tensor1d([2, -1, 0.5, -3]);
    const before = tf.memory().numTensors;
    const g = tf.grad((x: tf.Tensor) =>
      tf.sum(tf.where(tf.logicalAnd(tf.greater(x, 0), tf.notEqual(x, 7)), x, tf.mul(x, 0.1))),
    )(a);
    // d/dx of x (x > 0) or 0.1·x (x ≤ 0): [1, 0.1, 1, 0.1]
    expect(Array.from(g.dataSync())).toEqual([1, 0.1, 1, 0.1].map((v) => Math.fround(v)));
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    a.dispose();
  });
});
