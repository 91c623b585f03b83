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

/** Input normalisation a set of weights was trained with. */
export type InputNormalization = 'caffe' | 'torch' | 'tf';

/** The input normalisations, for validation and help texts. */
export const INPUT_NORMALIZATIONS: readonly InputNormalization[] = ['caffe', 'torch', 'tf'];

/** torchvision's ImageNet RGB mean and standard deviation (of pixels scaled to [0, 1]). */
export const IMAGENET_RGB_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
export const IMAGENET_RGB_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/**
 * Normalises an NHWC RGB batch in [0, 255] as the weights expect:
 * - `caffe` (Caffe VGG/ResNet, DeepLab-v2, Keras VGG16/ResNet50): RGB → BGR, minus {@link CAFFE_BGR_MEAN}, 0..255 scale;
 * - `torch` (torchvision, timm): x / 255, minus {@link IMAGENET_RGB_MEAN}, divided by {@link IMAGENET_RGB_STD};
 * - `tf` (Keras MobileNet/Inception style): x / 127.5 − 1, in [−1, 1].
 */
export function normalizeInput(rgb255: tf.Tensor4D, mode: InputNormalization): tf.Tensor4D {
  if (rgb255.rank !== 4 || rgb255.shape[3] !== 3) {
    throw new Error(`normalizeInput: expected an NHWC RGB batch [N, H, W, 3], got [${rgb255.shape}]`);
  }
  switch (mode) {
    case 'caffe':
      return kerasCaffePreprocess(rgb255);
    case 'torch':
      return tf.tidy(() =>
        tf.div(tf.sub(tf.div(rgb255, 255), tf.tensor1d([...IMAGENET_RGB_MEAN])), tf.tensor1d([...IMAGENET_RGB_STD])),
      );
    case 'tf':
      return tf.tidy(() => tf.sub(tf.div(rgb255, 127.5), 1));
    default:
      throw new Error(`normalizeInput: mode must be one of ${INPUT_NORMALIZATIONS.join(', ')}, got '${String(mode)}'`);
  }
}
