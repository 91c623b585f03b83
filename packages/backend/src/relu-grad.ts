import * as tf from '@tensorflow/tfjs-core';

/**
 * Gradient config for the `Relu` kernel that keeps the ReLU's *output* y for the backward pass instead of its input
 * x (tfjs 4.22 saves x): relu′(x) = 1 where x > 0, and x > 0 exactly where y = max(x, 0) > 0 (NaN stays NaN), so
 *
 *   ∂L/∂x = dy · step(y).
 *
 * The output is kept anyway by whatever consumes it (the next conv saves its input), while the input — a
 * conv + bias or batch-norm output that nothing else saves — can now be freed after the forward pass: one
 * activation-sized buffer less per conv → bias → ReLU block for the whole backward pass. (A float32 mask from
 * `step` needs no cast.)
 */
export function reluGradConfig(): tf.GradConfig {
  return {
    kernelName: tf.Relu,
    outputsToSave: [true],
    gradFunc: (dy, saved) => {
      const [y] = saved;
      return { x: () => tf.mul(dy as tf.Tensor, tf.step(y)) };
    },
  };
}
