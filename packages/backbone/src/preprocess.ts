import * as tf from '@tensorflow/tfjs-core';

/** Per-channel BGR means Keras' `caffe` preprocessing subtracts (VGG16, ResNet50 ImageNet weights). */
export const CAFFE_BGR_MEAN: readonly [number, number, number] = [103.939, 116.779, 123.68];

/**
 * The input transform Keras VGG16/ResNet50 ImageNet weights expect (`preprocess_input`, mode `caffe`):
 * RGB in [0, 255] → BGR, minus the ImageNet BGR mean: `y[..., c] = x[..., 2 − c] − mean_bgr[c]`.
 * Use it in front of a net whose backbone holds imported Keras weights.
 */
export function kerasCaffePreprocess(rgb255: tf.Tensor4D): tf.Tensor4D {
  if (rgb255.rank !== 4 || rgb255.shape[3] !== 3) {
    throw new Error(`kerasCaffePreprocess: expected an NHWC RGB batch [N, H, W, 3], got [${rgb255.shape}]`);
  }
  return tf.tidy(() => tf.sub(tf.reverse(rgb255, -1), tf.tensor1d([...CAFFE_BGR_MEAN])));
}
