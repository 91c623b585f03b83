import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, stopGradient } from './stop-gradient.js';

/** Options of {@link targetGuidedDistillation}. */
export interface TargetGuidedDistillationOptions {
  /**
   * Per-position weights w ≥ 0, [N, H, W] or [N, H, W, 1] at the compared resolution: the loss becomes
   * Σ w·d / Σ w (0 when Σ w = 0). No gradient flows into the mask.
   */
  mask?: tf.Tensor;
  /**
   * When the spatial sizes differ (nets of different strides): bilinearly resize the teacher to the
   * student's H×W ('student') or the student to the teacher's ('teacher'), with half-pixel centres
   * (PyTorch `F.interpolate(..., mode='bilinear', align_corners=False)`). Without it a size mismatch throws.
   */
  resizeTo?: 'student' | 'teacher';
}

/**
 * Target-guided distillation of ROAD-Net (Chen, Li & Van Gool, "ROAD: Reality Oriented Adaptation for
 * Semantic Segmentation of Urban Scenes", CVPR 2018, https://arxiv.org/abs/1711.11556): on *target* images,
 * the features of the segmentation net being adapted (student) are pulled towards those of a frozen
 * ImageNet-pretrained copy (teacher), so the net keeps "real-image" features while it learns from synthetic
 * labels. With f_s, f_t ∈ ℝ^{N×H×W×C}:
 *
 *   L = 1/(N·H·W) · Σ_{n,i,j} ‖f_s[n,i,j,:] − f_t[n,i,j,:]‖²₂
 *
 * i.e. the squared L2 distance over channels at each position, averaged over positions and batch. With a
 * mask w: L = Σ_{n,i,j} w[n,i,j]·‖f_s − f_t‖² / Σ w. The teacher gets no gradient (stop-gradient).
 * The paper's scale factor is absorbed into the loss weight chosen by the caller.
 *
 * @param studentFeatures [N, H, W, C]
 * @param teacherFeatures [N, H', W', C]; H' = H and W' = W unless `resizeTo` is given.
 * @returns scalar loss (caller owns it).
 */
export function targetGuidedDistillation(
  studentFeatures: tf.Tensor,
  teacherFeatures: tf.Tensor,
  options: TargetGuidedDistillationOptions = {},
): tf.Scalar {
  checkTensor(studentFeatures, 'targetGuidedDistillation studentFeatures', 4);
  checkTensor(teacherFeatures, 'targetGuidedDistillation teacherFeatures', 4);
  const { mask, resizeTo } = options;
  const [ns, hs, ws, cs] = studentFeatures.shape;
  const [nt, ht, wt, ct] = teacherFeatures.shape;
  const shapes = `student [${studentFeatures.shape}] vs teacher [${teacherFeatures.shape}]`;
  if (ns !== nt || cs !== ct) {
    throw new Error(`@road/distill: targetGuidedDistillation needs the same batch size and channels: ${shapes}`);
  }
  if ((hs !== ht || ws !== wt) && resizeTo !== 'student' && resizeTo !== 'teacher') {
    throw new Error(
      `@road/distill: targetGuidedDistillation feature maps differ in size: ${shapes}; pass resizeTo: 'student' | 'teacher' to resize one of them`,
    );
  }
  const [h, w] = resizeTo === 'teacher' ? [ht, wt] : [hs, ws];
  if (mask !== undefined) {
    checkTensor(mask, 'targetGuidedDistillation mask');
    const ok =
      (mask.rank === 3 || (mask.rank === 4 && mask.shape[3] === 1)) &&
      mask.shape[0] === ns &&
      mask.shape[1] === h &&
      mask.shape[2] === w;
    if (!ok) {
      throw new Error(
        `@road/distill: targetGuidedDistillation mask must be [${ns}, ${h}, ${w}] or [${ns}, ${h}, ${w}, 1], got [${mask.shape}]`,
      );
    }
  }
  return tf.tidy(() => {
    let s = studentFeatures as tf.Tensor4D;
    let t = stopGradient(teacherFeatures) as tf.Tensor4D;
    if (hs !== ht || ws !== wt) {
      if (resizeTo === 'student') t = tf.image.resizeBilinear(t, [hs, ws], false, true);
      else s = tf.image.resizeBilinear(s, [ht, wt], false, true);
    }
    const d = tf.sum(tf.squaredDifference(s, t), -1); // [N, H, W]
    if (mask === undefined) return tf.mean(d) as tf.Scalar;
    const m = stopGradient(tf.reshape(mask, [ns, h, w]));
    return tf.divNoNan(tf.sum(tf.mul(d, m)), tf.sum(m)) as tf.Scalar;
  });
}
