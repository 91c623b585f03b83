import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { softmaxCrossEntropyIgnore } from './softmax-cross-entropy.js';

let isTest = true;
beforeAll(() => {
  isTest = tf.env().getBool('IS_TEST'); // see training-kernels.test.ts: tfjs's IS_TEST leak check misfires on logSoftmax
  tf.env().set('IS_TEST', false);
});
afterAll(() => {
  tf.env().set('IS_TEST', isTest);
});

describe('softmaxCrossEntropyIgnore (hand arithmetic)', () => {
  it('one valid pixel with logits [0, ln 3] and label 1: −ln(3/4); the 255 pixel is ignored', async () => {
    await tf.setBackend('cpu');
    const logits = tf.tensor4d([0, Math.log(3), 5, -5], [1, 1, 2, 2]);
    const labels = tf.tensor3d([1, 255], [1, 1, 2], 'int32');
    expect(softmaxCrossEntropyIgnore(logits, labels).dataSync()[0]).toBeCloseTo(Math.log(4 / 3), 6);
    tf.dispose([logits, labels]);
  });

  it('two valid pixels average: (ln(4/3) + ln 2) / 2; all ignored gives 0; no leak', async () => {
    await tf.setBackend('cpu');
    const logits = tf.tensor4d([0, Math.log(3), 0, 0], [1, 1, 2, 2]);
    const labels = tf.tensor3d([1, 0], [1, 1, 2], 'int32');
    const ignored = tf.tensor3d([255, 255], [1, 1, 2], 'int32');
    const before = tf.memory().numTensors;
    const a = softmaxCrossEntropyIgnore(logits, labels);
    const b = softmaxCrossEntropyIgnore(logits, ignored);
    expect(a.dataSync()[0]).toBeCloseTo((Math.log(4 / 3) + Math.log(2)) / 2, 6);
    expect(b.dataSync()[0]).toBe(0);
    tf.dispose([a, b]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([logits, labels, ignored]);
  });

  it('rejects float labels and mismatched shapes', () => {
    const logits = tf.zeros([1, 2, 2, 3]) as tf.Tensor4D;
    expect(() => softmaxCrossEntropyIgnore(logits, tf.zeros([1, 2, 2]) as tf.Tensor3D)).toThrow(
      'labels must be int32, got float32',
    );
    expect(() => softmaxCrossEntropyIgnore(logits, tf.zeros([1, 2, 3], 'int32') as tf.Tensor3D)).toThrow(
      'labels [1,2,3] do not match logits [1,2,2,3]',
    );
  });
});
