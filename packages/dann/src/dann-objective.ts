/**
 * The DANN objective for classification (Ganin & Lempitsky, ICML 2015; Ganin et al., JMLR 2016, §4): one forward
 * pass over the source batch and (optionally) the target batch, the label loss on the source half, and the domain
 * classifier on every sample's flattened features behind gradient reversal.
 */
import * as tf from '@tensorflow/tfjs-core';
import { domainAdversarialLoss } from './domain-adversarial-loss.js';
import type { DomainClassifierLike } from './domain-classifier.js';
import { gradientReversal } from './gradient-reversal.js';

/** What the objective needs of a classification net split into a feature extractor and a label predictor. */
export interface FeatureClassifierNet {
  /** Features of a batch, [N, …]. */
  features(x: tf.Tensor4D, training: boolean): tf.Tensor4D;
  /** Class logits from features; any shape whose size is N × classes. */
  logitsFromFeatures(features: tf.Tensor4D, training: boolean): tf.Tensor;
}

/** Inputs of {@link dannClassificationObjective}. */
export interface DannClassificationInputs {
  net: FeatureClassifierNet;
  /** Source images [N, H, W, C]. */
  source: tf.Tensor4D;
  /** Source labels: one-hot [N, classes], or the N class ids (the number of classes is then the logits' size / N). */
  labels: tf.Tensor2D | Int32Array;
  /** Target images [M, H, W, C]; with `null` (or no domain classifier) the objective is the label loss alone. */
  target?: tf.Tensor4D | null;
  /** Domain classifier on the flattened features (e.g. `mlpDomainClassifier`); `null` for source-only training. */
  domainClassifier?: DomainClassifierLike | null;
  /** Gradient-reversal coefficient λ (e.g. `dannLambda(p)`). */
  lambda?: number;
  /** Also return the domain classifier's accuracy (source logit ≤ 0, target logit > 0) as a tensor. */
  accuracy?: boolean;
}

/** The objective's terms (tensors; call inside `optimizer.minimize` and `tf.keep` the ones read afterwards). */
export interface DannClassificationTerms {
  /** Label loss + domain loss: what the optimizer minimises. */
  loss: tf.Scalar;
  /** Softmax cross-entropy of the source labels. */
  labelLoss: tf.Scalar;
  /** Domain BCE (mean over source and target samples); `null` without a target batch. */
  domainLoss: tf.Scalar | null;
  /** Fraction of samples the domain classifier gets right; `null` unless asked for and a target batch is given. */
  domainAccuracy: tf.Scalar | null;
}

/**
 * L = CE(y_s, G_y(G_f(x_s))) + BCE_domain(G_d(R_λ(G_f([x_s; x_t])))), where R_λ is the identity forward and
 * multiplies the gradient by −λ. Source and target go through the net in one batch (one set of batch statistics, as
 * in the paper's implementation); the domain loss counts every sample once (source label 0, target 1).
 */
export function dannClassificationObjective(inputs: DannClassificationInputs): DannClassificationTerms {
  const { net, source, labels } = inputs;
  const n = source.shape[0];
  const count = labels instanceof Int32Array ? labels.length : labels.shape[0];
  if (count !== n)
    throw new Error(`@road/dann: dannClassificationObjective got ${n} source images but ${count} labels`);
  const target = inputs.domainClassifier ? (inputs.target ?? null) : null;
  const x = target ? (tf.concat([source, target], 0) as tf.Tensor4D) : source;
  const f = net.features(x, true);
  const fs = target ? (tf.slice(f, [0, 0, 0, 0], [n, -1, -1, -1]) as tf.Tensor4D) : f;
  const raw = net.logitsFromFeatures(fs, true);
  const classes = labels instanceof Int32Array ? raw.size / n : labels.shape[1];
  const logits = tf.reshape(raw, [n, classes]);
  const oneHot = labels instanceof Int32Array ? tf.oneHot(tf.tensor1d(labels, 'int32'), classes) : labels;
  const labelLoss = tf.losses.softmaxCrossEntropy(oneHot, logits) as tf.Scalar;
  if (!target || !inputs.domainClassifier)
    return { loss: labelLoss, labelLoss, domainLoss: null, domainAccuracy: null };
  const flat = tf.reshape(f, [f.shape[0], -1]);
  const d = inputs.domainClassifier.apply(gradientReversal(flat, inputs.lambda ?? 1), { training: true });
  const ds = tf.slice(d, [0, 0], [n, -1]);
  const dt = tf.slice(d, [n, 0], [-1, -1]);
  const domainLoss = domainAdversarialLoss(ds, dt, { readAccuracy: false }).loss;
  const domainAccuracy = inputs.accuracy
    ? tf.div<tf.Scalar>(
        tf.add(tf.sum(tf.cast(tf.lessEqual(ds, 0), 'float32')), tf.sum(tf.cast(tf.greater(dt, 0), 'float32'))),
        d.shape[0],
      )
    : null;
  return { loss: tf.add(labelLoss, domainLoss) as tf.Scalar, labelLoss, domainLoss, domainAccuracy };
}
