import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { targetGuidedDistillation } from './target-guided-distillation.js';

const fx = JSON.parse(readFileSync(new URL('../fixtures/distill.json', import.meta.url), 'utf8')).tgd as {
  shape: number[];
  student: number[];
  teacher: number[];
  loss: number;
  grad: number[];
  teacherSmallShape: number[];
  teacherSmall: number[];
  lossResized: number;
  gradResized: number[];
  mask: number[];
  lossMasked: number;
};

// 1 × 2 × 2 × 3 (N, H, W, C)
const S = [
  [
    [
      [1, 2, 3],
      [0, 0, 0],
    ],
    [
      [2, -1, 0],
      [0.5, 0.5, 0.5],
    ],
  ],
];
const T = [
  [
    [
      [1, 2, 3],
      [1, 1, 1],
    ],
    [
      [0, 1, 0],
      [0, 0, -0.5],
    ],
  ],
];

describe('targetGuidedDistillation', () => {
  it('is the mean over positions of the squared channel distance (2×2×3 by hand)', () => {
    const s = tf.tensor4d(S);
    const t = tf.tensor4d(T);
    // (0,0): [1,2,3]−[1,2,3] = 0                               → 0
    // (0,1): [0,0,0]−[1,1,1] = [−1,−1,−1]                      → 1 + 1 + 1 = 3
    // (1,0): [2,−1,0]−[0,1,0] = [2,−2,0]                       → 4 + 4 + 0 = 8
    // (1,1): [0.5,0.5,0.5]−[0,0,−0.5] = [0.5,0.5,1]            → 0.25 + 0.25 + 1 = 1.5
    // L = (0 + 3 + 8 + 1.5) / (N·H·W = 4) = 12.5 / 4 = 3.125
    const loss = targetGuidedDistillation(s, t);
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo(3.125, 6);
    // dL/ds = 2(s − t)/4 = (s − t)/2 ; the teacher gets no gradient
    const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => targetGuidedDistillation(a, b))([s, t]);
    const expected = [0, 0, 0, -0.5, -0.5, -0.5, 1, -1, 0, 0.25, 0.25, 0.5];
    expect(Array.from(gs.dataSync())).toEqual(expected);
    expect(Array.from(gt.dataSync()).every((v) => v === 0)).toBe(true);
    tf.dispose([s, t, loss, gs, gt]);
  });

  it('with a mask averages over the masked positions only', () => {
    const s = tf.tensor4d(S);
    const t = tf.tensor4d(T);
    // mask [[1, 0], [1, 1]]: (0 + 8 + 1.5) / 3 = 9.5 / 3
    const mask = tf.tensor3d([
      [
        [1, 0],
        [1, 1],
      ],
    ]);
    expect(targetGuidedDistillation(s, t, { mask }).dataSync()[0]).toBeCloseTo(9.5 / 3, 6);
    // weights [[0, 2], [0, 1]] in [N, H, W, 1]: (2·3 + 1·1.5) / 3 = 7.5 / 3 = 2.5
    const w = tf.tensor4d([
      [
        [[0], [2]],
        [[0], [1]],
      ],
    ]);
    expect(targetGuidedDistillation(s, t, { mask: w }).dataSync()[0]).toBeCloseTo(2.5, 6);
    // an all-zero mask gives 0, not NaN
    const z = tf.zeros([1, 2, 2]);
    expect(targetGuidedDistillation(s, t, { mask: z }).dataSync()[0]).toBe(0);
    expect(() => targetGuidedDistillation(s, t, { mask: tf.ones([1, 3, 2]) })).toThrow(
      /mask must be \[1, 2, 2\] or \[1, 2, 2, 1\], got \[1,3,2\]/,
    );
    tf.dispose([s, t, mask, w, z]);
  });

  it('matches PyTorch (plain, masked, and teacher resized bilinearly to the student)', () => {
    const s = tf.tensor(fx.student, fx.shape);
    const t = tf.tensor(fx.teacher, fx.shape);
    expect(Math.abs(targetGuidedDistillation(s, t).dataSync()[0] - fx.loss)).toBeLessThan(1e-4);
    const g = tf
      .grad((a: tf.Tensor) => targetGuidedDistillation(a, t))(s)
      .dataSync();
    fx.grad.forEach((e, i) => {
      expect(Math.abs(g[i] - e)).toBeLessThan(1e-6);
    });
    const mask = tf.tensor(fx.mask, fx.shape.slice(0, 3));
    expect(Math.abs(targetGuidedDistillation(s, t, { mask }).dataSync()[0] - fx.lossMasked)).toBeLessThan(1e-4);
    const small = tf.tensor(fx.teacherSmall, fx.teacherSmallShape);
    expect(() => targetGuidedDistillation(s, small)).toThrow(
      /feature maps differ in size: student \[2,3,4,5\] vs teacher \[2,2,2,5\]; pass resizeTo/,
    );
    const lr = targetGuidedDistillation(s, small, { resizeTo: 'student' }).dataSync()[0];
    expect(Math.abs(lr - fx.lossResized)).toBeLessThan(1e-4);
    const gr = tf
      .grad((a: tf.Tensor) => targetGuidedDistillation(a, small, { resizeTo: 'student' }))(s)
      .dataSync();
    fx.gradResized.forEach((e, i) => {
      expect(Math.abs(gr[i] - e)).toBeLessThan(1e-5);
    });
    // resizeTo 'teacher' shrinks the student instead: result has the teacher's 2 × 2 positions
    const lt = targetGuidedDistillation(s, small, { resizeTo: 'teacher' }).dataSync()[0];
    expect(Number.isFinite(lt)).toBe(true);
    expect(lt).not.toBeCloseTo(lr, 3);
    tf.dispose([s, t, mask, small]);
  });

  it('rejects channel / batch mismatches naming both shapes', () => {
    const a = tf.zeros([1, 2, 2, 3]);
    const b = tf.zeros([1, 2, 2, 4]);
    expect(() => targetGuidedDistillation(a, b, { resizeTo: 'student' })).toThrow(
      /student \[1,2,2,3\] vs teacher \[1,2,2,4\]/,
    );
    expect(() => targetGuidedDistillation(tf.zeros([2, 3]), a)).toThrow(/studentFeatures must have rank 4/);
    tf.dispose([a, b]);
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([1, 3, 4, 2]);
    const t = tf.randomNormal([1, 2, 2, 2]);
    const m = tf.ones([1, 3, 4, 1]);
    const before = tf.memory().numTensors;
    targetGuidedDistillation(s, t, { resizeTo: 'student', mask: m }).dispose();
    targetGuidedDistillation(s, t, { resizeTo: 'teacher' }).dispose();
    tf.dispose(
      tf.grads((a: tf.Tensor, b: tf.Tensor) => targetGuidedDistillation(a, b, { resizeTo: 'student' }))([s, t]),
    );
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t, m]);
  });
});
