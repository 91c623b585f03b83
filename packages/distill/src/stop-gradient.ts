import * as tf from '@tensorflow/tfjs-core';

/**
 * Identity forward, zero gradient backward (like PyTorch's `.detach()` / TF's `stop_gradient`), built on
 * `tf.customGrad`. Backpropagation does not continue into whatever produced `x`.
 */
export function stopGradient<T extends tf.Tensor>(x: T): T {
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => ({
    value: (args[0] as tf.Tensor).clone(),
    gradFunc: (dy: tf.Tensor) => tf.zerosLike(dy),
  }));
  return op(x) as T;
}

/** @internal Throws a clear error unless `x` is a float32 tensor of the given rank. */
export function checkTensor(x: unknown, what: string, rank?: number): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new Error(`@road/distill: ${what} must be a tf.Tensor, got ${typeof x}`);
  if (x.dtype !== 'float32')
    throw new Error(`@road/distill: ${what} must be float32, got ${x.dtype} (shape [${x.shape}])`);
  if (rank !== undefined && x.rank !== rank) {
    throw new Error(
      `@road/distill: ${what} must have rank ${rank}${rank === 4 ? ' [N, H, W, C]' : ''}, got shape [${x.shape}]`,
    );
  }
}
