import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { gradientReversal } from './gradient-reversal.js';

const close = (actual: ArrayLike<number>, expected: number[], tol = 1e-6) => {
  expect(actual.length).toBe(expected.length);
  expected.forEach((e, i) => {
    expect(actual[i]).toBeCloseTo(e, -Math.log10(tol));
  });
};

describe('gradientReversal', () => {
  it('is the identity forward (a new tensor)', () => {
    const x = tf.tensor2d([
      [1, -2],
      [3.5, 0],
    ]);
    const y = gradientReversal(x, 0.3);
    expect(y).not.toBe(x);
    expect(y.shape).toEqual([2, 2]);
    expect(Array.from(y.dataSync())).toEqual([1, -2, 3.5, 0]);
    tf.dispose([x, y]);
  });

  it('multiplies the upstream gradient by -lambda', () => {
    // L = sum(R(x) * u), u = [1, 2, 3]  =>  dL/dR = u,  dL/dx = -λ·u = -0.5·[1, 2, 3] = [-0.5, -1, -1.5]
    const u = tf.tensor1d([1, 2, 3]);
    const g = tf.grad((x: tf.Tensor) => tf.sum(tf.mul(gradientReversal(x, 0.5), u)));
    const dx = g(tf.tensor1d([4, 5, 6]));
    close(dx.dataSync(), [-0.5, -1, -1.5]);
    // λ = 2 with upstream gradient of x² at x = [1, -3]: d(x²)/dx = 2x = [2, -6], reversed: -2·[2, -6] = [-4, 12]
    const g2 = tf.grad((x: tf.Tensor) => tf.sum(tf.square(gradientReversal(x, 2))));
    close(g2(tf.tensor1d([1, -3])).dataSync(), [-4, 12]);
    // λ = -1 undoes the reversal: plain gradient [2, -6]
    const g3 = tf.grad((x: tf.Tensor) => tf.sum(tf.square(gradientReversal(x, -1))));
    close(g3(tf.tensor1d([1, -3])).dataSync(), [2, -6]);
    // λ = 0 blocks the gradient
    const g4 = tf.grad((x: tf.Tensor) => tf.sum(tf.square(gradientReversal(x, 0))));
    close(g4(tf.tensor1d([1, -3])).dataSync(), [0, 0]);
    tf.dispose([u, dx]);
  });

  it('reads a lambda function at call time', () => {
    let current = 0.25;
    const lambda = () => current;
    const g = tf.grad((x: tf.Tensor) => tf.sum(gradientReversal(x, lambda)));
    const x = tf.tensor1d([7, 8]);
    close(g(x).dataSync(), [-0.25, -0.25]);
    current = 3;
    close(g(x).dataSync(), [-3, -3]);
    x.dispose();
  });

  it('defaults to lambda = 1 and rejects bad lambdas', () => {
    const x = tf.tensor1d([1]);
    close(
      tf
        .grad((v: tf.Tensor) => tf.sum(gradientReversal(v)))(x)
        .dataSync(),
      [-1],
    );
    expect(() => gradientReversal(x, Number.NaN)).toThrow(/lambda must be a finite number, got NaN/);
    expect(() => gradientReversal(x, () => Number.POSITIVE_INFINITY)).toThrow(/finite number/);
    expect(() => gradientReversal([1, 2] as unknown as tf.Tensor, 1)).toThrow(/tf.Tensor/);
    x.dispose();
  });

  it('does not leak tensors (forward and backward)', () => {
    const x = tf.tensor2d([
      [1, 2],
      [3, 4],
    ]);
    const v = tf.variable(x.clone());
    const before = tf.memory().numTensors;
    const y = gradientReversal(x, 0.5);
    y.dispose();
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.square(gradientReversal(v, () => 0.5))) as tf.Scalar,
      [v],
    );
    // d/dv Σ v² = 2v, reversed with λ = 0.5: −v = [−1, −2, −3, −4]
    expect(Array.from(grads[v.name].dataSync())).toEqual([-1, -2, -3, -4]);
    tf.dispose([value, grads[v.name]]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, v]);
  });
});
