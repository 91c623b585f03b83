import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, stopGradient } from './stop-gradient.js';

/** Options of {@link attentionMap}. */
export interface AttentionMapOptions {
  /** Exponent p of the channel pooling Σ_c |A_c|^p (default 2). */
  p?: number;
}

/**
 * Activation-based spatial attention map (Zagoruyko & Komodakis, "Paying More Attention to Attention",
 * ICLR 2017, https://arxiv.org/abs/1612.03928): F(A) = Σ_c |A_c|^p over channels, flattened per sample and
 * L2-normalised, Q/‖Q‖₂ (with ‖Q‖₂ floored at 1e-12 like `F.normalize`).
 *
 * @param features [N, H, W, C]
 * @returns [N, H·W]
 */
export function attentionMap(features: tf.Tensor, options: AttentionMapOptions = {}): tf.Tensor2D {
  const { p = 2 } = options;
  checkTensor(features, 'attentionMap features', 4);
  if (typeof p !== 'number' || !Number.isFinite(p) || p <= 0)
    throw new Error(`@road/distill: attention p must be > 0, got ${String(p)}`);
  const [n, h, w] = features.shape;
  return tf.tidy(() => {
    const pooled = p === 2 ? tf.sum(tf.square(features), -1) : tf.sum(tf.pow(tf.abs(features), p), -1);
    const q = tf.reshape(pooled, [n, h * w]);
    const norm = tf.maximum(tf.sqrt(tf.sum(tf.square(q), 1, true)), 1e-12);
    return tf.div(q, norm) as tf.Tensor2D;
  });
}

/** Options of {@link attentionTransferLoss}. */
export interface AttentionTransferOptions extends AttentionMapOptions {
  /** Return the mean of the *squared* distances instead (the authors' code uses this, divided by H·W). Default false. */
  squared?: boolean;
}

/**
 * Attention transfer loss (Zagoruyko & Komodakis, ICLR 2017, eq. 2), with Q = {@link attentionMap}:
 *
 *   L_AT = (1/N) Σ_n ‖ Q_s,n/‖Q_s,n‖₂ − Q_t,n/‖Q_t,n‖₂ ‖₂      (`squared: true`: ‖·‖₂² instead)
 *
 * The paper multiplies by β/2 (β = 1000 / (H·W·N) in their experiments); pass that as your loss weight.
 * Student and teacher must share N, H, W; channel counts may differ (no regressor needed). The teacher
 * gets no gradient.
 */
export function attentionTransferLoss(
  studentFeatures: tf.Tensor,
  teacherFeatures: tf.Tensor,
  options: AttentionTransferOptions = {},
): tf.Scalar {
  checkTensor(studentFeatures, 'attentionTransferLoss studentFeatures', 4);
  checkTensor(teacherFeatures, 'attentionTransferLoss teacherFeatures', 4);
  const [ns, hs, ws] = studentFeatures.shape;
  const [nt, ht, wt] = teacherFeatures.shape;
  if (ns !== nt || hs !== ht || ws !== wt) {
    throw new Error(
      `@road/distill: attentionTransferLoss needs the same N, H, W: student [${studentFeatures.shape}] vs teacher [${teacherFeatures.shape}]`,
    );
  }
  return tf.tidy(() => {
    const qs = attentionMap(studentFeatures, options);
    const qt = attentionMap(stopGradient(teacherFeatures), options);
    const sq = tf.sum(tf.squaredDifference(qs, qt), 1); // [N]
    // the floor keeps the gradient finite when the maps coincide (d‖x‖/dx is undefined at 0)
    const per = options.squared ? sq : tf.sqrt(tf.maximum(sq, 1e-24));
    return tf.mean(per) as tf.Scalar;
  });
}
