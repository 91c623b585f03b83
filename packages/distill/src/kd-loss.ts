import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, stopGradient } from './stop-gradient.js';

/** Options of {@link kdLoss}. */
export interface KdLossOptions {
  /** Softmax temperature T > 0 (default 1). */
  temperature?: number;
  /** 'kl' (default): Σ p_t (log p_t − log p_s); 'ce': −Σ p_t log p_s. */
  form?: 'kl' | 'ce';
  /** Multiply by T² so gradient magnitudes do not shrink as 1/T² (Hinton et al. §2; default true). */
  scaleByTemperatureSquared?: boolean;
}

function checkTemperature(t: number, fn: string): void {
  if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0) {
    throw new Error(`@road/distill: ${fn} temperature must be a finite number > 0, got ${String(t)}`);
  }
}

/**
 * Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015,
 * https://arxiv.org/abs/1503.02531): soft-target loss between student logits z_s and teacher logits z_t
 * over the last axis (classes), with p_t = softmax(z_t/T), log p_s = log_softmax(z_s/T):
 *
 *   'kl':  T² · Σ_k p_t,k (log p_t,k − log p_s,k)      = T² · KL(p_t ‖ p_s)
 *   'ce':  T² · (−Σ_k p_t,k log p_s,k)                  = T² · H(p_t, p_s)
 *
 * averaged over every other axis (samples, or N·H·W pixels for segmentation logits [N, H, W, K]).
 * The two forms differ by T²·H(p_t), the teacher's entropy, which does not depend on the student: same
 * gradient w.r.t. z_s. The teacher gets no gradient. PyTorch equivalent of 'kl':
 * `F.kl_div(F.log_softmax(s/T,-1), F.softmax(t/T,-1), reduction='none').sum(-1).mean() * T**2`
 * (= `reduction='batchmean'` for 2-D logits; `reduction='mean'` would also divide by K).
 */
export function kdLoss(studentLogits: tf.Tensor, teacherLogits: tf.Tensor, options: KdLossOptions = {}): tf.Scalar {
  const { temperature = 1, form = 'kl', scaleByTemperatureSquared = true } = options;
  checkTensor(studentLogits, 'kdLoss studentLogits');
  checkTensor(teacherLogits, 'kdLoss teacherLogits');
  checkTemperature(temperature, 'kdLoss');
  if (form !== 'kl' && form !== 'ce')
    throw new Error(`@road/distill: kdLoss form must be 'kl' or 'ce', got ${String(form)}`);
  if (!tf.util.arraysEqual(studentLogits.shape, teacherLogits.shape) || studentLogits.rank < 1) {
    throw new Error(
      `@road/distill: kdLoss needs logits of the same shape [..., classes]: student [${studentLogits.shape}] vs teacher [${teacherLogits.shape}]`,
    );
  }
  return tf.tidy(() => {
    const T = temperature;
    const logPs = tf.logSoftmax(tf.div(studentLogits, T));
    const logPt = tf.logSoftmax(tf.div(stopGradient(teacherLogits), T));
    const pt = tf.exp(logPt);
    const perItem =
      form === 'kl' ? tf.sum(tf.mul(pt, tf.sub(logPt, logPs)), -1) : tf.neg(tf.sum(tf.mul(pt, logPs), -1));
    const loss = tf.mean(perItem);
    return (scaleByTemperatureSquared ? tf.mul(loss, T * T) : loss) as tf.Scalar;
  });
}
