import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { segmentationCrossEntropy } from './seg-loss.js';

describe('segmentationCrossEntropy', () => {
  it('averages −log p[y] over non-ignored pixels (hand arithmetic)', () => {
    // pixel a: logits [0, ln 3], y = 1 → p = 3/4; pixel b: logits [ln 2, 0], y = 0 → p = 2/3; pixel c: y = 255 (ignored).
    const logits = tf.tensor4d([0, Math.log(3), Math.log(2), 0, 5, -5], [1, 1, 3, 2]);
    const labels = tf.tensor3d([1, 0, 255], [1, 1, 3], 'int32');
    const loss = segmentationCrossEntropy(logits, labels);
    expect(loss.dataSync()[0]).toBeCloseTo((-Math.log(3 / 4) - Math.log(2 / 3)) / 2, 6);
    tf.dispose([logits, labels, loss]);
  });

  it('is 0 (not NaN) when every pixel is ignored', () => {
    const logits = tf.tensor4d([1, 2, 3, 4], [1, 1, 2, 2]);
    const labels = tf.tensor3d([255, 255], [1, 1, 2], 'int32');
    const loss = segmentationCrossEntropy(logits, labels);
    expect(Math.abs(loss.dataSync()[0])).toBe(0);
    tf.dispose([logits, labels, loss]);
  });

  it('upsamples coarse logits to the label size', () => {
    // 1×1 logits [0, ln 3] upsampled to 2×2 are constant; labels 1,1,0,255 → (−ln ¾ −ln ¾ −ln ¼)/3
    const logits = tf.tensor4d([0, Math.log(3)], [1, 1, 1, 2]);
    const labels = tf.tensor3d([1, 1, 0, 255], [1, 2, 2], 'int32');
    const loss = segmentationCrossEntropy(logits, labels);
    expect(loss.dataSync()[0]).toBeCloseTo((-2 * Math.log(0.75) - Math.log(0.25)) / 3, 6);
    tf.dispose([logits, labels, loss]);
  });

  it('has the softmax-minus-onehot gradient on valid pixels and zero on ignored ones', () => {
    const logits = tf.tensor4d([0, Math.log(3), 1, 2], [1, 1, 2, 2]);
    const labels = tf.tensor3d([0, 255], [1, 1, 2], 'int32');
    const g = tf.grad((z: tf.Tensor) => segmentationCrossEntropy(z as tf.Tensor4D, labels))(logits);
    // valid pixel: softmax = [1/4, 3/4], onehot = [1, 0] → [−3/4, 3/4] / |V| (=1); ignored pixel → 0
    const v = Array.from(g.dataSync());
    expect(v[0]).toBeCloseTo(-0.75, 6);
    expect(v[1]).toBeCloseTo(0.75, 6);
    expect(Math.abs(v[2])).toBe(0);
    expect(Math.abs(v[3])).toBe(0);
    tf.dispose([logits, labels, g]);
  });

  it('does not leak tensors', () => {
    const logits = tf.randomNormal([2, 3, 3, 4]) as tf.Tensor4D;
    const labels = tf.tensor3d(
      Array.from({ length: 18 }, (_, i) => (i % 5 === 4 ? 255 : i % 4)),
      [2, 3, 3],
      'int32',
    );
    const before = tf.memory().numTensors;
    segmentationCrossEntropy(logits, labels).dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels]);
  });
});

describe('segmentationCrossEntropy upsampling', () => {
  it('upsamples non-square coarse logits with exact gradients (shape and zero class-sum per pixel)', () => {
    const logits = tf.randomNormal([2, 2, 4, 3], 0, 1, 'float32', 7) as tf.Tensor4D;
    const labels = tf.tensor3d(
      Array.from({ length: 2 * 16 * 32 }, (_, i) => (i % 11 === 0 ? 255 : i % 3)),
      [2, 16, 32],
      'int32',
    );
    const g = tf.grad((z: tf.Tensor) => segmentationCrossEntropy(z as tf.Tensor4D, labels))(logits);
    expect(g.shape).toEqual([2, 2, 4, 3]);
    // softmax − onehot sums to 0 over classes at every pixel; upsampling is linear per class, so the sum stays 0
    const sums = tf.sum(g, -1).dataSync();
    for (const v of sums) expect(Math.abs(v)).toBeLessThan(1e-6);
    tf.dispose([logits, labels, g]);
  });
});
