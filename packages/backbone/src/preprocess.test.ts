import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { expectNoLeak } from '../test/helpers';
import { kerasCaffePreprocess } from './preprocess';

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
