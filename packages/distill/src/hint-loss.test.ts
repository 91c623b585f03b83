import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { hintLoss, hintRegressor } from './hint-loss.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/distill.json', import.meta.url), 'utf8')).hint as {
  student: number[];
  teacher: number[];
  studentShape: number[];
  teacherShape: number[];
  kernel: number[];
  bias: number[];
  loss: number;
  grad: number[];
};

describe('hintLoss', () => {
  it('is the mean squared error (hand arithmetic) and the teacher gets no gradient', () => {
    // s − t = [1, −2, 0, 3] → squares 1 + 4 + 0 + 9 = 14, mean over 4 elements = 3.5
    const s = tf.tensor4d([[[[1, 0]], [[2, 3]]]]);
    const t = tf.tensor4d([[[[0, 2]], [[2, 0]]]]);
    expect(hintLoss(s, t).dataSync()[0]).toBeCloseTo(3.5, 6);
    const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => hintLoss(a, b))([s, t]);
    // d/ds = 2(s − t)/4 = [0.5, −1, 0, 1.5]
    expect(Array.from(gs.dataSync())).toEqual([0.5, -1, 0, 1.5]);
    expect(Array.from(gt.dataSync())).toEqual([0, 0, 0, 0]);
    tf.dispose([s, t, gs, gt]);
  });

  it('with a 1×1 regressor matches PyTorch F.mse_loss(s @ W + b, t)', () => {
    const reg = hintRegressor(4, 6, { seed: 1 });
    expect(reg.kernel.shape).toEqual([1, 1, 4, 6]);
    reg.kernel.assign(tf.tensor(fx.kernel, [1, 1, 4, 6]));
    reg.bias.assign(tf.tensor1d(fx.bias));
    const s = tf.tensor(fx.student, fx.studentShape);
    const t = tf.tensor(fx.teacher, fx.teacherShape);
    expect(Math.abs(hintLoss(s, t, { regressor: reg }).dataSync()[0] - fx.loss)).toBeLessThan(1e-5);
    const g = tf
      .grad((x: tf.Tensor) => hintLoss(x, t, { regressor: reg }))(s)
      .dataSync();
    fx.grad.forEach((e, i) => {
      expect(Math.abs(g[i] - e)).toBeLessThan(1e-6);
    });
    // a plain function works as regressor too
    const fn = (x: tf.Tensor) => reg.apply(x);
    expect(Math.abs(hintLoss(s, t, { regressor: fn }).dataSync()[0] - fx.loss)).toBeLessThan(1e-5);
    expect(() => hintLoss(s, t)).toThrow(/student \[2,3,3,4\] vs teacher \[2,3,3,6\] \(pass a regressor/);
    tf.dispose([s, t]);
    reg.dispose();
  });

  it('the regressor trains with the student (loss falls)', () => {
    const reg = hintRegressor(3, 2, { seed: 4 });
    const s = tf.randomNormal([2, 2, 2, 3], 0, 1, 'float32', 1);
    const t = tf.tidy(() => tf.conv2d(s as tf.Tensor4D, tf.tensor4d([1, -1, 0.5, 2, 0, 1], [1, 1, 3, 2]), 1, 'same'));
    const opt = tf.train.adam(0.05);
    const f = () => hintLoss(s, t, { regressor: reg });
    const first = tf.tidy(() => f().dataSync()[0]);
    for (let i = 0; i < 30; i++) opt.minimize(f, true, reg.trainableWeights)?.dispose();
    expect(tf.tidy(() => f().dataSync()[0])).toBeLessThan(first * 0.5);
    tf.dispose([s, t]);
    opt.dispose();
    reg.dispose();
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([1, 2, 2, 3]);
    const t = tf.randomNormal([1, 2, 2, 4]);
    const base = tf.memory().numTensors;
    const reg = hintRegressor(3, 4);
    expect(tf.memory().numTensors).toBe(base + 2);
    hintLoss(s, t, { regressor: reg }).dispose();
    tf.dispose(tf.grads((a: tf.Tensor) => hintLoss(a, t, { regressor: reg }))([s]));
    reg.dispose();
    expect(tf.memory().numTensors).toBe(base);
    tf.dispose([s, t]);
  });
});
