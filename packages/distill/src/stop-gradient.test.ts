import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { checkTensor, stopGradient } from './stop-gradient.js';

describe('stopGradient', () => {
  it('is identity forward and blocks the gradient', () => {
    const x = tf.tensor1d([1, 2]);
    expect(Array.from(stopGradient(x).dataSync())).toEqual([1, 2]);
    // d/dx [x·x + stop(x)·x] = x + ... only the un-stopped factor: d/dx Σ stop(x)·x = stop(x) = [1, 2]
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x);
    expect(Array.from(g.dataSync())).toEqual([1, 2]);
    tf.dispose([x, g]);
  });

  it('does not leak tensors', () => {
    const x = tf.tensor1d([1, 2]);
    const before = tf.memory().numTensors;
    stopGradient(x).dispose();
    tf.grad((v: tf.Tensor) => tf.sum(tf.mul(stopGradient(v), v)))(x).dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('checkTensor names the value and shape', () => {
    const x = tf.tensor1d([1], 'int32');
    expect(() => checkTensor(x, 'myArg')).toThrow(/myArg must be float32, got int32 \(shape \[1\]\)/);
    const y = tf.zeros([2, 2]);
    expect(() => checkTensor(y, 'feat', 4)).toThrow(/feat must have rank 4 \[N, H, W, C\], got shape \[2,2\]/);
    expect(() => checkTensor([1], 'arr')).toThrow(/arr must be a tf.Tensor/);
    tf.dispose([x, y]);
  });
});
