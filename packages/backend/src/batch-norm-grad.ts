import * as tf from '@tensorflow/tfjs-core';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Sum of `t` over the axes along which `shape` was broadcast to `t.shape`, reshaped to `shape`. */
function reduceTo(t: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, t.shape);
  const summed = axes.length > 0 ? tf.sum(t, axes) : t;
  return tf.reshape(summed, shape);
}

/**
 * Gradient config for the `FusedBatchNorm` kernel (`tf.batchNorm`, which tfjs-layers' BatchNormalization calls
 * with the batch `moments` in training) that broadcasts the per-channel factors instead of tiling them to the
 * full tensor (tfjs 4.22's gradient runs `Tile` on the full shape — slow on wasm — and makes several full-size
 * temporaries per input).
 *
 * With y = (x − μ)·r·γ + β, r = 1/√(σ² + ε), sums Σ over the broadcast (batch and spatial) axes:
 *
 *   ∂L/∂x  = dy · (γ·r)                       (one broadcasting multiply)
 *   ∂L/∂β  = Σ dy
 *   ∂L/∂μ  = −γ·r · Σ dy
 *   ∂L/∂γ  = r · Σ dy·(x − μ)
 *   ∂L/∂σ² = −½·γ·r³ · Σ dy·(x − μ)
 *
 * The two full-size sums are computed once per backward node and shared (as μ-sized tensors). Used when μ, σ² (and γ, when given) have the same shape;
 * other shapes go to `original` (tfjs's gradient), which must then be given.
 */
export function batchNormGradConfig(original?: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: tf.FusedBatchNorm,
    inputsToSave: ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs) => {
      const [x, mean, variance, scale] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor | undefined];
      const { varianceEpsilon } = attrs as unknown as tf.FusedBatchNormAttrs;
      const shape = mean.shape;
      const fits = sameShape(variance.shape, shape) && (scale == null || sameShape(scale.shape, shape));
      if (!fits) {
        if (original == null) {
          throw new Error(
            `@road/backend FusedBatchNorm gradient: mean [${mean.shape}], variance [${variance.shape}] and scale ` +
              `[${scale?.shape}] differ in shape`,
          );
        }
        return original.gradFunc(dy, saved, attrs);
      }
      const g = dy as tf.Tensor;
      // The per-channel pieces are shared by several inputs' gradients. tfjs calls each input's gradient in its
      // own tidy, so they are made here (small: the size of μ), once; the full-size temporaries die in this tidy.
      const [gammaR, rCubeGamma, sumDy, sumDyXm, r] = tf.tidy(() => {
        const rs = tf.rsqrt(tf.add(variance, tf.scalar(varianceEpsilon)));
        const gr = scale == null ? tf.clone(rs) : tf.mul(scale, rs);
        const r3g = tf.mul(tf.mul(tf.square(rs), gr), tf.scalar(-0.5));
        return [gr, r3g, reduceTo(g, shape), reduceTo(tf.mul(g, tf.sub(x, mean)), shape), rs];
      });
      return {
        x: () => tf.mul(g, gammaR),
        mean: () => tf.neg(tf.mul(gammaR, sumDy)),
        variance: () => tf.mul(rCubeGamma, sumDyXm),
        scale: () => tf.mul(r, sumDyXm),
        offset: () => tf.clone(sumDy),
      };
    },
  };
}
