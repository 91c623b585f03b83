import * as tf from '@tensorflow/tfjs-core';

/** Options of {@link domainAdversarialLoss}. */
export interface DomainAdversarialLossOptions {
  /**
   * Read the accuracy back as a number (default true). This is a synchronous device read (`dataSync`);
   * pass false on backends that cannot read synchronously (webgpu in Node) — `accuracy` is then NaN.
   */
  readAccuracy?: boolean;
}

/** Result of {@link domainAdversarialLoss}. */
export interface DomainAdversarialLossResult {
  /** Scalar loss (owned by the caller; differentiable w.r.t. both logits). */
  loss: tf.Scalar;
  /** Fraction of samples/positions whose domain the classifier gets right (logit > 0 ⇔ target); NaN if not read. */
  accuracy: number;
  /** Number of source and target logits. */
  sourceCount: number;
  targetCount: number;
}

/**
 * Sum of the per-logit losses and the number of correct predictions (internal; shared with
 * spatial-aware adaptation). Source label 0: ℓ(z) = softplus(z); target label 1: ℓ(z) = softplus(−z).
 */
export function domainLossSums(
  sourceLogits: tf.Tensor,
  targetLogits: tf.Tensor,
): { lossSum: tf.Scalar; correct: tf.Scalar } {
  return tf.tidy(() => {
    const s = tf.reshape(sourceLogits, [-1]);
    const t = tf.reshape(targetLogits, [-1]);
    const lossSum = tf.add(tf.sum(tf.softplus(s)), tf.sum(tf.softplus(tf.neg(t)))) as tf.Scalar;
    const correct = tf.add(
      tf.sum(tf.cast(tf.lessEqual(s, 0), 'float32')),
      tf.sum(tf.cast(tf.greater(t, 0), 'float32')),
    ) as tf.Scalar;
    return { lossSum, correct };
  });
}

function checkLogits(x: unknown, what: string): asserts x is tf.Tensor {
  if (!(x instanceof tf.Tensor)) throw new Error(`@road/dann: domainAdversarialLoss ${what} must be a tf.Tensor`);
  if (x.dtype !== 'float32') {
    throw new Error(`@road/dann: domainAdversarialLoss ${what} must be float32, got ${x.dtype} (shape [${x.shape}])`);
  }
}

/**
 * The domain-adversarial loss of DANN (Ganin et al., JMLR 2016, eq. 9–10, https://arxiv.org/abs/1505.07818):
 * sigmoid binary cross-entropy of the domain classifier, source label d = 0, target label d = 1.
 * For a logit z the per-logit loss is the numerically stable softplus form
 *
 *   ℓ(z, 0) = −log(1 − σ(z)) = softplus(z),      ℓ(z, 1) = −log σ(z) = softplus(−z).
 *
 * **Weighting:** the mean over the concatenation of all source and target logits,
 *
 *   L = ( Σ_{i∈S} softplus(z_i) + Σ_{j∈T} softplus(−z_j) ) / (|S| + |T|),
 *
 * i.e. every sample / pixel counts once, whatever its domain. (TLlib's DomainAdversarialLoss uses
 * ½(mean_S + mean_T); the two agree when |S| = |T|.) One side may be empty; both may not.
 *
 * Logits of any shape ([N, 1] from an MLP head, [N, H, W, 1] from a per-pixel head); the domain classifier
 * should be applied after {@link gradientReversal} so the feature extractor maximises L.
 */
export function domainAdversarialLoss(
  sourceLogits: tf.Tensor,
  targetLogits: tf.Tensor,
  options: DomainAdversarialLossOptions = {},
): DomainAdversarialLossResult {
  checkLogits(sourceLogits, 'sourceLogits');
  checkLogits(targetLogits, 'targetLogits');
  const sourceCount = sourceLogits.size;
  const targetCount = targetLogits.size;
  const total = sourceCount + targetCount;
  if (total === 0)
    throw new Error('@road/dann: domainAdversarialLoss got no logits (both source and target are empty)');
  let accuracy = Number.NaN;
  const loss = tf.tidy(() => {
    const { lossSum, correct } = domainLossSums(sourceLogits, targetLogits);
    if (options.readAccuracy ?? true) accuracy = correct.dataSync()[0] / total;
    return tf.div(lossSum, total) as tf.Scalar;
  });
  return { loss, accuracy, sourceCount, targetCount };
}
