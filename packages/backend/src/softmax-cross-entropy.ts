import * as tf from '@tensorflow/tfjs-core';

/**
 * Mean softmax cross-entropy over the pixels whose label is not `ignoreLabel`:
 *
 *   L = −(1/|V|) Σ_{p ∈ V} log softmax(z_p)[y_p],  V = { p : y_p ≠ ignoreLabel },
 *
 * (L = 0 when every pixel is ignored). `logits` [N, H, W, C], `labels` int32 [N, H, W]. Built from
 * logSoftmax, oneHot, notEqual, where and sums, so every kernel it needs exists on every backend.
 */
export function softmaxCrossEntropyIgnore(logits: tf.Tensor4D, labels: tf.Tensor3D, ignoreLabel = 255): tf.Scalar {
  if (labels.dtype !== 'int32') throw new Error(`softmaxCrossEntropyIgnore: labels must be int32, got ${labels.dtype}`);
  const [n, h, w, c] = logits.shape;
  if (labels.shape[0] !== n || labels.shape[1] !== h || labels.shape[2] !== w) {
    throw new Error(`softmaxCrossEntropyIgnore: labels [${labels.shape}] do not match logits [${logits.shape}]`);
  }
  return tf.tidy(() => {
    const valid = tf.notEqual(labels, tf.scalar(ignoreLabel, 'int32'));
    const safe = tf.where(valid, labels, tf.zerosLike(labels));
    const target = tf.oneHot(tf.reshape(safe, [-1]), c);
    const logp = tf.reshape(tf.logSoftmax(logits), [-1, c]);
    const nll = tf.neg(tf.sum(tf.mul(logp, target), -1));
    const mask = tf.cast(tf.reshape(valid, [-1]), 'float32');
    return tf.div(tf.sum(tf.mul(nll, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}
