import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectNoLeak } from '../test/helpers.js';
import { kerasCaffePreprocess, normalizeInput } from './preprocess.js';

describe('kerasCaffePreprocess', () => {
  it('swaps RGB to BGR and subtracts the ImageNet BGR mean (hand values)', () => {
    const x = tf.tensor4d([10, 20, 30, 255, 0, 128], [1, 1, 2, 3]);
    const y = kerasCaffePreprocess(x);
    const want = [30 - 103.939, 20 - 116.779, 10 - 123.68, 128 - 103.939, 0 - 116.779, 255 - 123.68];
    for (const [i, v] of Array.from(y.dataSync()).entries()) expect(v).toBeCloseTo(want[i], 4);
    expectNoLeak(() => kerasCaffePreprocess(x).dispose());
    expect(() => kerasCaffePreprocess(tf.zeros([1, 2, 2, 1]) as tf.Tensor4D)).toThrow(/\[1,2,2,1\]/);
    tf.dispose([x, y]);
  });
});

describe('normalizeInput (hand arithmetic)', () => {
  it('caffe, torch and tf modes on one RGB pixel (255, 0, 51); no leak', () => {
    const x = tf.tensor4d([255, 0, 51], [1, 1, 1, 3]);
    const before = tf.memory().numTensors;
    const caffe = normalizeInput(x, 'caffe');
    const torch = normalizeInput(x, 'torch');
    const tfm = normalizeInput(x, 'tf');
    expect(tf.memory().numTensors).toBe(before + 3);
    // BGR: (51 − 103.939, 0 − 116.779, 255 − 123.68)
    expectClose(caffe.dataSync(), [51 - 103.939, -116.779, 255 - 123.68]);
    expectClose(torch.dataSync(), [(1 - 0.485) / 0.229, (0 - 0.456) / 0.224, (0.2 - 0.406) / 0.225]);
    expectClose(tfm.dataSync(), [1, -1, 51 / 127.5 - 1]);
    expect(() => normalizeInput(x, 'bgr' as 'tf')).toThrow(/mode must be one of caffe, torch, tf, got 'bgr'/);
    tf.dispose([x, caffe, torch, tfm]);
  });
});

function expectClose(a: ArrayLike<number>, b: number[]): void {
  for (const [i, v] of b.entries()) expect(a[i]).toBeCloseTo(v, 4);
}
