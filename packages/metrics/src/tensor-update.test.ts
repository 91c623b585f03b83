import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfusionMatrix } from './confusion-matrix.js';
import { updateFromLogits, updateFromPredictions } from './tensor-update.js';

function randomLogits(n: number, h: number, w: number, c: number, seed: number): Float32Array {
  let s = seed;
  const out = new Float32Array(n * h * w * c);
  for (let i = 0; i < out.length; i++) {
    s = (s * 1664525 + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** Arg-max over the last axis done by hand in JS (independent of tf.argMax). */
function argmaxLast(values: Float32Array, c: number): Uint8Array {
  const out = new Uint8Array(values.length / c);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    for (let k = 1; k < c; k++) if (values[i * c + k] > values[i * c + best]) best = k;
    out[i] = best;
  }
  return out;
}

describe('tensor path', () => {
  const [N, H, W, C] = [2, 5, 7, 4];
  const logitValues = randomLogits(N, H, W, C, 7);
  const labels = new Uint8Array(N * H * W);
  for (let i = 0; i < labels.length; i++) labels[i] = i % 9 === 0 ? 255 : (i * 7) % C;

  it('updateFromLogits equals the array path on a hand arg-max', async () => {
    const expected = new ConfusionMatrix(C).update(argmaxLast(logitValues, C), labels);
    const logits = tf.tensor4d(logitValues, [N, H, W, C]);
    for (const lab of [
      tf.tensor3d(Int32Array.from(labels), [N, H, W], 'int32'),
      tf.tensor4d(Float32Array.from(labels), [N, H, W, 1]),
    ]) {
      const cm = new ConfusionMatrix(C);
      await updateFromLogits(cm, logits, lab);
      expect(Array.from(cm.counts)).toEqual(Array.from(expected.counts));
      lab.dispose();
    }
    const cm = new ConfusionMatrix(C);
    await updateFromLogits(cm, logits, labels);
    expect(Array.from(cm.counts)).toEqual(Array.from(expected.counts));
    expect(cm.total).toBe(labels.filter((v) => v !== 255).length);
    logits.dispose();
  });

  it('updateFromPredictions takes int32 or float class maps', async () => {
    const pred = argmaxLast(logitValues, C);
    const expected = new ConfusionMatrix(C).update(pred, labels);
    for (const dtype of ['int32', 'float32'] as const) {
      const p = tf.tensor3d(Array.from(pred), [N, H, W], dtype);
      const cm = new ConfusionMatrix(C);
      await updateFromPredictions(cm, p, labels);
      expect(Array.from(cm.counts)).toEqual(Array.from(expected.counts));
      p.dispose();
    }
  });

  it('does not leak tensors, also when it throws', async () => {
    const logits = tf.tensor4d(logitValues, [N, H, W, C]);
    const lab = tf.tensor3d(Float32Array.from(labels), [N, H, W]);
    const before = tf.memory().numTensors;
    await updateFromLogits(new ConfusionMatrix(C), logits, lab);
    const badLabels = Float32Array.from(labels);
    badLabels[5] = 17;
    const bad = tf.tensor3d(badLabels, [N, H, W]);
    await expect(updateFromLogits(new ConfusionMatrix(C), logits, bad)).rejects.toThrow('label value 17 at index 5');
    bad.dispose();
    expect(tf.memory().numTensors).toBe(before);
    logits.dispose();
    lab.dispose();
  });

  it('rejects mismatched shapes', async () => {
    const logits = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    await expect(updateFromLogits(new ConfusionMatrix(4), logits, new Uint8Array(4))).rejects.toThrow(
      'logits have 3 channels but the matrix has 4 classes',
    );
    await expect(updateFromLogits(new ConfusionMatrix(3), logits, new Uint8Array(5))).rejects.toThrow(
      'labels has 5 values',
    );
    const lab = tf.zeros([1, 2, 3]);
    await expect(updateFromLogits(new ConfusionMatrix(3), logits, lab)).rejects.toThrow('labels shape [1,2,3]');
    lab.dispose();
    logits.dispose();
  });
});
