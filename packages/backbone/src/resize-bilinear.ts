import * as tf from '@tensorflow/tfjs-core';

/** How source coordinates are computed from destination coordinates (see {@link bilinearMatrix}). */
export interface ResizeBilinearOptions {
  /**
   * `true`: corner pixels of input and output are aligned, `src = dst·(in−1)/(out−1)`
   * (PyTorch `align_corners=True`, TF `alignCorners: true`). Default `false`.
   */
  alignCorners?: boolean;
  /**
   * `true` (the default when `alignCorners` is false): pixel centres are aligned,
   * `src = (dst + ½)·in/out − ½`, clamped at 0 (PyTorch `align_corners=False`, TF2 `tf.image.resize`).
   * `false` with `alignCorners: false` gives the legacy TF1 rule `src = dst·in/out`.
   */
  halfPixelCenters?: boolean;
}

/**
 * The `[outSize, inSize]` matrix `A` of 1-D linear interpolation, so that `y = A·x` resizes a signal of length
 * `inSize` to `outSize`. Row `o` has weight `1 − t` at `i0 = ⌊s⌋` and `t = s − i0` at `min(i0 + 1, in − 1)`,
 * where `s` is the source coordinate of output `o` (rule chosen by `options`).
 */
export function bilinearMatrix(inSize: number, outSize: number, options: ResizeBilinearOptions = {}): Float32Array {
  if (!Number.isInteger(inSize) || inSize < 1)
    throw new Error(`bilinearMatrix: inSize must be a positive integer, got ${inSize}`);
  if (!Number.isInteger(outSize) || outSize < 1) {
    throw new Error(`bilinearMatrix: outSize must be a positive integer, got ${outSize}`);
  }
  const alignCorners = options.alignCorners ?? false;
  const halfPixel = options.halfPixelCenters ?? !alignCorners;
  if (alignCorners && halfPixel)
    throw new Error('bilinearMatrix: alignCorners and halfPixelCenters cannot both be true');
  const m = new Float32Array(outSize * inSize);
  for (let o = 0; o < outSize; o++) {
    let s: number;
    if (alignCorners) s = outSize > 1 ? (o * (inSize - 1)) / (outSize - 1) : 0;
    else if (halfPixel) s = Math.max(0, ((o + 0.5) * inSize) / outSize - 0.5);
    else s = (o * inSize) / outSize;
    const i0 = Math.min(Math.floor(s), inSize - 1);
    const i1 = Math.min(i0 + 1, inSize - 1);
    const t = s - i0;
    m[o * inSize + i0] += 1 - t;
    m[o * inSize + i1] += t;
  }
  return m;
}

/**
 * Bilinear resize of an NHWC batch to `[height, width]`, written as two matrix products
 * `Y[n,:,:,c] = A_h · X[n,:,:,c] · A_wᵀ` (see {@link bilinearMatrix}).
 *
 * Why not `tf.image.resizeBilinear`: in tfjs 4.22 the cpu backend's `ResizeBilinearGrad` ignores
 * `halfPixelCenters`, so the gradient of the default PyTorch-style resize is wrong there. Matrix products have
 * exact gradients on every backend. The forward values equal `tf.image.resizeBilinear` with the same options
 * (tested).
 */
export function resizeBilinear(
  x: tf.Tensor4D,
  size: [number, number],
  options: ResizeBilinearOptions = {},
): tf.Tensor4D {
  if (x.rank !== 4) throw new Error(`resizeBilinear: expected an NHWC tensor of rank 4, got shape [${x.shape}]`);
  const [height, width] = size;
  const [n, h, w, c] = x.shape;
  return tf.tidy(() => {
    let y: tf.Tensor4D = x;
    if (height !== h) {
      const ah = tf.tensor2d(bilinearMatrix(h, height, options), [height, h]);
      // [H, N·W·C] → A_h · → [height, N, W, C] → back to NHWC
      const cols = tf.reshape(tf.transpose(y, [1, 0, 2, 3]), [h, n * w * c]);
      y = tf.transpose(tf.reshape(tf.matMul(ah, cols), [height, n, w, c]), [1, 0, 2, 3]);
    }
    if (width !== w) {
      const hh = y.shape[1];
      const aw = tf.tensor2d(bilinearMatrix(w, width, options), [width, w]);
      const cols = tf.reshape(tf.transpose(y, [2, 0, 1, 3]), [w, n * hh * c]);
      y = tf.transpose(tf.reshape(tf.matMul(aw, cols), [width, n, hh, c]), [1, 2, 0, 3]);
    }
    return y === x ? tf.clone(x) : y;
  });
}
