import * as tf from '@tensorflow/tfjs-core';

/**
 * Divides each position's channel vector of an [N, H, W, C] map by its L2 norm: y = x / sqrt(Σ_c x_c² + eps).
 * Its gradient is orthogonal to x (for eps → 0), so a loss on y cannot change ‖x‖ to first order.
 */
export function l2NormalizeChannels(x: tf.Tensor4D, eps = 1e-12): tf.Tensor4D {
  if (!(x instanceof tf.Tensor) || x.rank !== 4)
    throw new Error(`l2NormalizeChannels: expected an [N, H, W, C] tensor, got rank ${x?.rank}`);
  return tf.tidy(() => tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), 3, true), eps))) as tf.Tensor4D);
}
