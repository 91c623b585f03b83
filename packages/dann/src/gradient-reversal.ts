import * as tf from '@tensorflow/tfjs-core';

/** A reversal coefficient: a fixed number, or a function read each time the op is called (e.g. a schedule). */
export type LambdaSource = number | (() => number);

/**
 * Resolves a {@link LambdaSource} to a finite number.
 * @throws Error naming `what` when the value is not a finite number.
 */
export function resolveLambda(lambda: LambdaSource, what = 'lambda'): number {
  const value = typeof lambda === 'function' ? lambda() : lambda;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`@road/dann: ${what} must be a finite number, got ${String(value)}`);
  }
  return value;
}

/**
 * Gradient reversal layer (GRL) of Ganin & Lempitsky, "Unsupervised Domain Adaptation by Backpropagation",
 * ICML 2015 (https://arxiv.org/abs/1409.7495), as an op:
 *
 *   forward:  R_λ(x) = x
 *   backward: dR_λ/dx = −λ·I,  i.e. the upstream gradient dy becomes −λ·dy.
 *
 * Built on `tf.customGrad`. λ is not a tensor argument: it is resolved (a number, or the function called)
 * once, when `gradientReversal` is called, and that value is used by the backward pass of this call.
 * Pass a function such as `() => dannLambda(step / total)` to follow a schedule.
 *
 * @param x any float tensor.
 * @param lambda the reversal coefficient λ (default 1).
 * @returns a new tensor equal to `x` (the caller owns it).
 *
 * @example
 * const g = tf.grad((x) => gradientReversal(x, 0.5).sum());
 * g(tf.tensor1d([1, 2])).print(); // [-0.5, -0.5]
 */
export function gradientReversal<T extends tf.Tensor>(x: T, lambda: LambdaSource = 1): T {
  if (!(x instanceof tf.Tensor)) {
    throw new Error('@road/dann: gradientReversal(x, lambda) expects x to be a tf.Tensor');
  }
  const l = resolveLambda(lambda, 'gradientReversal lambda');
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.scalar(-l, dy.dtype)),
  }));
  return op(x) as T;
}
