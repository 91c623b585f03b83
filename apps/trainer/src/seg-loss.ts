import { resizeBilinear } from '@road/backbone';
import { fusedSoftmaxCrossEntropyIgnore } from '@road/backend';
import * as tf from '@tensorflow/tfjs-core';

/**
 * The segmentation loss of a training step: pixel-wise softmax cross-entropy with ignore label 255
 * (@road/backend `fusedSoftmaxCrossEntropyIgnore`: one fused kernel forward and one backward on cpu and wasm, the
 * composite `softmaxCrossEntropyIgnore` on other backends; a label outside [0, C) other than 255 is an error),
 *
 *   L = −(1/|V|) Σ_{p∈V} log softmax(z_p)[y_p],   V = { p : y_p ≠ 255 }   (0 when V is empty),
 *
 * on logits upsampled bilinearly to the label size first when the net predicts at a coarser stride
 * (@road/backbone `resizeBilinear`, half-pixel centres: exact gradients on every backend, unlike the cpu
 * backend's ResizeBilinearGrad in tfjs 4.22).
 *
 * @param logits [N, h, w, C] float32
 * @param labels [N, H, W] int32 train ids (255 = ignore)
 */
export function segmentationCrossEntropy(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => {
    const [n, h, w] = labels.shape;
    if (logits.shape[0] !== n)
      throw new Error(`segmentationCrossEntropy: batch of logits [${logits.shape}] ≠ labels [${labels.shape}]`);
    const z = logits.shape[1] === h && logits.shape[2] === w ? logits : resizeBilinear(logits, [h, w]);
    return fusedSoftmaxCrossEntropyIgnore(
      z,
      labels.dtype === 'int32' ? labels : (tf.cast(labels, 'int32') as tf.Tensor3D),
      255,
    );
  });
}
