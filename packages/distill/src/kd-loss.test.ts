import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { kdLoss } from './kd-loss.js';
import { lwfLoss } from './lwf-loss.js';

interface KdCase {
  shape: number[];
  temperature: number;
  student: number[];
  teacher: number[];
  kl: number;
  ce: number;
  gradKl: number[];
  gradCe: number[];
  klUnscaled: number;
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/distill.json', import.meta.url), 'utf8')) as {
  kd: KdCase[];
};

const entropy = (logits: number[], T: number) => {
  const z = logits.map((v) => v / T);
  const m = Math.max(...z);
  const e = z.map((v) => Math.exp(v - m));
  const sum = e.reduce((a, b) => a + b, 0);
  return -e.reduce((acc, v) => acc + (v / sum) * Math.log(v / sum), 0);
};

describe('kdLoss', () => {
  it('matches hand arithmetic on a two-class example', () => {
    // student logits [0, 0] → p_s = [½, ½]; teacher logits [0, ln 3] → p_t = [¼, ¾]
    // CE = −(¼ ln ½ + ¾ ln ½) = ln 2 = 0.6931471805599453
    // KL = ¼ ln(¼/½) + ¾ ln(¾/½) = ¼ ln ½ + ¾ ln 1.5 = −0.17328679513998632 + 0.30409883108112323 = 0.1308120359411369
    const s = tf.tensor2d([[0, 0]]);
    const t = tf.tensor2d([[0, Math.log(3)]]);
    expect(kdLoss(s, t, { form: 'ce' }).dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    expect(kdLoss(s, t).dataSync()[0]).toBeCloseTo(0.25 * Math.log(0.5) + 0.75 * Math.log(1.5), 6);
    // T = 2, no T² scaling: teacher logits / 2 = [0, ln √3] → p_t = [1/(1+√3), √3/(1+√3)], p_s = [½, ½]: CE = ln 2
    expect(kdLoss(s, t, { form: 'ce', temperature: 2, scaleByTemperatureSquared: false }).dataSync()[0]).toBeCloseTo(
      Math.LN2,
      6,
    );
    // with T² scaling: 4 ln 2
    expect(kdLoss(s, t, { form: 'ce', temperature: 2 }).dataSync()[0]).toBeCloseTo(4 * Math.LN2, 5);
    // gradient of CE (T = 1) w.r.t. student logits, mean over 1 row: p_s − p_t = [½ − ¼, ½ − ¾] = [0.25, −0.25]
    const g = tf
      .grad((x: tf.Tensor) => kdLoss(x, t, { form: 'ce' }))(s)
      .dataSync();
    expect(g[0]).toBeCloseTo(0.25, 6);
    expect(g[1]).toBeCloseTo(-0.25, 6);
    tf.dispose([s, t]);
  });

  it('KL = CE − T²·H(p_t) and both forms have the same gradient w.r.t. the student', () => {
    for (const c of fixture.kd) {
      const s = tf.tensor(c.student, c.shape);
      const t = tf.tensor(c.teacher, c.shape);
      const T = c.temperature;
      const kl = kdLoss(s, t, { temperature: T, form: 'kl' }).dataSync()[0];
      const ce = kdLoss(s, t, { temperature: T, form: 'ce' }).dataSync()[0];
      // teacher entropy averaged over rows, computed in plain JS
      const K = c.shape[c.shape.length - 1];
      const rows = c.teacher.length / K;
      let h = 0;
      for (let r = 0; r < rows; r++) h += entropy(c.teacher.slice(r * K, r * K + K), T);
      h /= rows;
      expect(Math.abs(ce - kl - T * T * h)).toBeLessThan(1e-4 * Math.max(1, ce));
      expect(ce - kl).toBeGreaterThan(0);
      const gkl = tf
        .grad((x: tf.Tensor) => kdLoss(x, t, { temperature: T, form: 'kl' }))(s)
        .dataSync();
      const gce = tf
        .grad((x: tf.Tensor) => kdLoss(x, t, { temperature: T, form: 'ce' }))(s)
        .dataSync();
      for (let i = 0; i < gkl.length; i++) expect(Math.abs(gkl[i] - gce[i])).toBeLessThan(1e-6);
      tf.dispose([s, t]);
    }
  });

  it('matches PyTorch F.kl_div / soft cross-entropy values and gradients (fixtures/distill.json)', () => {
    expect(fixture.kd.length).toBe(3);
    for (const c of fixture.kd) {
      const s = tf.tensor(c.student, c.shape);
      const t = tf.tensor(c.teacher, c.shape);
      const T = c.temperature;
      const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
      expect(rel(kdLoss(s, t, { temperature: T }).dataSync()[0], c.kl)).toBeLessThan(1e-5);
      expect(rel(kdLoss(s, t, { temperature: T, form: 'ce' }).dataSync()[0], c.ce)).toBeLessThan(1e-5);
      expect(
        rel(kdLoss(s, t, { temperature: T, scaleByTemperatureSquared: false }).dataSync()[0], c.klUnscaled),
      ).toBeLessThan(1e-5);
      const gkl = tf
        .grad((x: tf.Tensor) => kdLoss(x, t, { temperature: T }))(s)
        .dataSync();
      const gce = tf
        .grad((x: tf.Tensor) => kdLoss(x, t, { temperature: T, form: 'ce' }))(s)
        .dataSync();
      c.gradKl.forEach((e, i) => {
        expect(Math.abs(gkl[i] - e)).toBeLessThan(1e-5);
      });
      c.gradCe.forEach((e, i) => {
        expect(Math.abs(gce[i] - e)).toBeLessThan(1e-5);
      });
      tf.dispose([s, t]);
    }
  });

  it('gives the teacher no gradient and rejects bad input', () => {
    const s = tf.tensor2d([[1, 2, 3]]);
    const t = tf.tensor2d([[3, 1, 0]]);
    const gt = tf.grad((x: tf.Tensor) => kdLoss(s, x))(t);
    expect(Array.from(gt.dataSync())).toEqual([0, 0, 0]);
    expect(() => kdLoss(s, tf.zeros([1, 4]))).toThrow(
      /same shape \[..., classes\]: student \[1,3\] vs teacher \[1,4\]/,
    );
    expect(() => kdLoss(s, t, { temperature: 0 })).toThrow(/temperature must be a finite number > 0, got 0/);
    expect(() => kdLoss(s, t, { form: 'js' as 'kl' })).toThrow(/form must be 'kl' or 'ce', got js/);
    tf.dispose([s, t, gt]);
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([2, 3, 3, 5]);
    const t = tf.randomNormal([2, 3, 3, 5]);
    const before = tf.memory().numTensors;
    kdLoss(s, t).dispose();
    kdLoss(s, t, { form: 'ce', temperature: 3 }).dispose();
    lwfLoss(s, t).dispose();
    tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => kdLoss(a, b, { temperature: 2 }))([s, t]));
    tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => lwfLoss(a, b))([s, t]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t]);
  });
});
