import type * as tf from '@tensorflow/tfjs-core';
import { kdLoss } from './kd-loss.js';

/** Options of {@link lwfLoss}. */
export interface LwfLossOptions {
  /** Temperature T (default 2, as in the paper). */
  temperature?: number;
}

/**
 * The old-task loss of Learning without Forgetting (Li & Hoiem, ECCV 2016 / TPAMI 2017,
 * https://arxiv.org/abs/1606.09282, eq. 2): a modified cross-entropy between the recorded outputs y_o of the
 * original network and the current outputs ŷ_o of the old-task head, both with probabilities raised to 1/T:
 *
 *   L_old = −Σ_i y'_o,i log ŷ'_o,i,    y'_o,i = y_o,i^{1/T} / Σ_j y_o,j^{1/T}  (same for ŷ')
 *
 * averaged over samples (and pixels). Since softmax(z)^{1/T} normalised = softmax(z/T), this is exactly
 * {@link kdLoss} with `form: 'ce'`, `temperature: T` and no T² factor — which is how it is computed.
 * If you recorded probabilities instead of logits, pass their log: softmax(log y / T) = y'.
 *
 * @param newOldHeadLogits current logits of the old-task head [..., K] (gets the gradient).
 * @param recordedOldLogits logits of the original network recorded before training [..., K] (no gradient).
 */
export function lwfLoss(
  newOldHeadLogits: tf.Tensor,
  recordedOldLogits: tf.Tensor,
  options: LwfLossOptions = {},
): tf.Scalar {
  const { temperature = 2 } = options;
  return kdLoss(newOldHeadLogits, recordedOldLogits, { temperature, form: 'ce', scaleByTemperatureSquared: false });
}
