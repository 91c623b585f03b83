import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { attentionMap, attentionTransferLoss } from './attention-transfer.js';

interface AtCase {
  studentShape: number[];
  teacherShape: number[];
  p: number;
  student: number[];
  teacher: number[];
  loss: number;
  grad: number[];
  squared: number;
  gradSquared: number[];
}
const cases = JSON.parse(readFileSync(new URL('../fixtures/distill.json', import.meta.url), 'utf8')).at as AtCase[];

describe('attention transfer', () => {
  it('attentionMap: channel pooling Σ|A|^p, L2-normalised per sample (hand arithmetic)', () => {
    // one sample, 1 × 2 map, 2 channels: positions [3, 0] and [0, 4]
    // p = 2: Q = [9, 16], ‖Q‖ = √(81 + 256) = √337 → [9/√337, 16/√337]
    const a = tf.tensor4d([
      [
        [
          [3, 0],
          [0, -4],
        ],
      ],
    ]);
    const q = attentionMap(a).dataSync();
    expect(q[0]).toBeCloseTo(9 / Math.sqrt(337), 6);
    expect(q[1]).toBeCloseTo(16 / Math.sqrt(337), 6);
    // p = 1: Q = [3, 4] → [0.6, 0.8]
    const q1 = attentionMap(a, { p: 1 }).dataSync();
    expect(q1[0]).toBeCloseTo(0.6, 6);
    expect(q1[1]).toBeCloseTo(0.8, 6);
    a.dispose();
  });

  it('loss = mean over samples of ‖q_s − q_t‖₂ (hand arithmetic)', () => {
    // student p=1 map [0.6, 0.8]; teacher [[[1],[0]]] → [1, 0]: ‖[−0.4, 0.8]‖ = √0.8 = 0.894427190999916
    const s = tf.tensor4d([
      [
        [
          [3, 0],
          [0, -4],
        ],
      ],
    ]);
    const t = tf.tensor4d([[[[1], [0]]]]);
    expect(attentionTransferLoss(s, t, { p: 1 }).dataSync()[0]).toBeCloseTo(Math.sqrt(0.8), 6);
    expect(attentionTransferLoss(s, t, { p: 1, squared: true }).dataSync()[0]).toBeCloseTo(0.8, 6);
    // identical maps: 0, with a finite gradient
    const g = tf
      .grad((x: tf.Tensor) => attentionTransferLoss(x, s))(s)
      .dataSync();
    expect(Array.from(g).every(Number.isFinite)).toBe(true);
    expect(() => attentionTransferLoss(s, tf.zeros([1, 2, 1, 2]))).toThrow(
      /same N, H, W: student \[1,1,2,2\] vs teacher \[1,2,1,2\]/,
    );
    tf.dispose([s, t]);
  });

  it('matches PyTorch values and gradients (fixtures/distill.json), channels may differ', () => {
    expect(cases.length).toBe(2);
    for (const c of cases) {
      const s = tf.tensor(c.student, c.studentShape);
      const t = tf.tensor(c.teacher, c.teacherShape);
      expect(Math.abs(attentionTransferLoss(s, t, { p: c.p }).dataSync()[0] - c.loss)).toBeLessThan(1e-5);
      expect(Math.abs(attentionTransferLoss(s, t, { p: c.p, squared: true }).dataSync()[0] - c.squared)).toBeLessThan(
        1e-5,
      );
      const g = tf
        .grad((x: tf.Tensor) => attentionTransferLoss(x, t, { p: c.p }))(s)
        .dataSync();
      c.grad.forEach((e, i) => {
        expect(Math.abs(g[i] - e)).toBeLessThan(1e-5);
      });
      const gs = tf
        .grad((x: tf.Tensor) => attentionTransferLoss(x, t, { p: c.p, squared: true }))(s)
        .dataSync();
      c.gradSquared.forEach((e, i) => {
        expect(Math.abs(gs[i] - e)).toBeLessThan(1e-5);
      });
      const gt = tf
        .grad((x: tf.Tensor) => attentionTransferLoss(s, x, { p: c.p }))(t)
        .dataSync();
      expect(Array.from(gt).every((v) => v === 0)).toBe(true);
      tf.dispose([s, t]);
    }
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([2, 3, 3, 4]);
    const t = tf.randomNormal([2, 3, 3, 6]);
    const before = tf.memory().numTensors;
    attentionMap(s, { p: 3 }).dispose();
    attentionTransferLoss(s, t).dispose();
    attentionTransferLoss(s, t, { squared: true, p: 1 }).dispose();
    tf.dispose(tf.grads((a: tf.Tensor) => attentionTransferLoss(a, t))([s]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t]);
  });
});
