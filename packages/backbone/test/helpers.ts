// Shared test helpers for @road/backbone (not exported by the package).
import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';
import type { SegmentationNet } from '../src/segmentation-net.js';

/** max |a − e| / max |e|: the relative error used throughout the tests. */
export function relError(actual: ArrayLike<number>, expected: ArrayLike<number>): number {
  expect(actual.length).toBe(expected.length);
  let num = 0;
  let den = 0;
  for (let i = 0; i < expected.length; i++) {
    num = Math.max(num, Math.abs(actual[i] - expected[i]));
    den = Math.max(den, Math.abs(expected[i]));
  }
  return num / den;
}

/** Asserts that `fn` leaves no tensor behind. */
export function expectNoLeak(fn: () => void): void {
  const before = tf.memory().numTensors;
  fn();
  expect(tf.memory().numTensors).toBe(before);
}

/**
 * Mean softmax cross-entropy of logits [N,h,w,K] against integer labels [N,h,w]: −mean(Σ_k onehot·logSoftmax).
 * (tf.losses.softmaxCrossEntropy trips tfjs' IS_TEST kernel leak check, so it is written out here.)
 */
export function segLoss(logits: tf.Tensor4D, labels: tf.Tensor3D): tf.Scalar {
  return tf.tidy(
    () => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, logits.shape[3]), tf.logSoftmax(logits)), -1))) as tf.Scalar,
  );
}

/** Random labels at the net's logit resolution for input x (a fixed seed). */
export function labelsFor(net: SegmentationNet, x: tf.Tensor4D, seed = 7): tf.Tensor3D {
  return tf.tidy(() => {
    const shape = net.logits(x).shape;
    const u = tf.randomUniform([shape[0], shape[1], shape[2]], 0, net.numClasses, 'float32', seed) as tf.Tensor3D;
    return tf.cast(tf.floor(u), 'int32');
  });
}

/** Result of {@link trainRun}. */
export interface TrainRun {
  /** Loss of each step, computed before that step's update. */
  losses: number[];
  /** Training-mode loss after the last update. */
  finalLoss: number;
  /** tf.memory().numTensors after each step. */
  tensorsAfterStep: number[];
}

/** `steps` optimizer steps (Adam by default) in training mode on one batch, through `net.logits(x, true)`. */
export function trainRun(
  net: SegmentationNet,
  x: tf.Tensor4D,
  labels: tf.Tensor3D,
  steps: number,
  optimizer: tf.Optimizer = tf.train.adam(1e-2),
): TrainRun {
  const losses: number[] = [];
  const tensorsAfterStep: number[] = [];
  const vars = net.trainableVariables();
  for (let i = 0; i < steps; i++) {
    const cost = optimizer.minimize(() => segLoss(net.logits(x, true), labels), true, vars)!;
    losses.push(cost.dataSync()[0]);
    cost.dispose();
    tensorsAfterStep.push(tf.memory().numTensors);
  }
  const final = tf.tidy(() => segLoss(net.logits(x, true), labels));
  const finalLoss = final.dataSync()[0];
  final.dispose();
  optimizer.dispose();
  return { losses, finalLoss, tensorsAfterStep };
}

/** A memory IOHandler pair: save into it, then load from it. */
export function memoryStore(): { handler: tf.io.IOHandler; artifacts: () => tf.io.ModelArtifacts } {
  let saved: tf.io.ModelArtifacts | null = null;
  return {
    handler: tf.io.withSaveHandler(async (a) => {
      saved = a;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
    artifacts: () => {
      if (!saved) throw new Error('nothing saved');
      return saved;
    },
  };
}
