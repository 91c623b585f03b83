import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { lwfLoss } from './lwf-loss.js';

interface LwfCase {
  shape: number[];
  temperature: number;
  newLogits: number[];
  recordedLogits: number[];
  loss: number;
  grad: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/distill.json', import.meta.url), 'utf8')) as {
  lwf: LwfCase[];
};

describe('lwfLoss', () => {
  it('matches the explicit y^(1/T) formula computed in PyTorch (fixtures/distill.json)', () => {
    expect(fixture.lwf.length).toBe(2);
    for (const c of fixture.lwf) {
      const n = tf.tensor(c.newLogits, c.shape);
      const r = tf.tensor(c.recordedLogits, c.shape);
      const loss = lwfLoss(n, r, { temperature: c.temperature }).dataSync()[0];
      expect(Math.abs(loss - c.loss)).toBeLessThan(1e-5);
      const g = tf
        .grad((x: tf.Tensor) => lwfLoss(x, r, { temperature: c.temperature }))(n)
        .dataSync();
      c.grad.forEach((e, i) => {
        expect(Math.abs(g[i] - e)).toBeLessThan(1e-6);
      });
      tf.dispose([n, r]);
    }
  });

  it('by hand: T = 2, recorded probabilities [0.2, 0.8] → y′ = [√.2, √.8]/(√.2 + √.8) = [1/3, 2/3]', () => {
    // √0.2 : √0.8 = 1 : 2, so y′ = [1/3, 2/3]; new head logits [0, 0] → ŷ′ = [½, ½]
    // L = −(1/3 ln ½ + 2/3 ln ½) = ln 2 ; recorded logits = ln of the probabilities
    const rec = tf.tensor2d([[Math.log(0.2), Math.log(0.8)]]);
    const cur = tf.tensor2d([[0, 0]]);
    expect(lwfLoss(cur, rec).dataSync()[0]).toBeCloseTo(Math.LN2, 6);
    // new head logits [0, ln 4] → ŷ ∝ [1, 4], ŷ′ ∝ [1, 2] = [1/3, 2/3]: L = H(y′) = −(1/3 ln 1/3 + 2/3 ln 2/3) = 0.6365141682948128
    const cur2 = tf.tensor2d([[0, Math.log(4)]]);
    expect(lwfLoss(cur2, rec).dataSync()[0]).toBeCloseTo(0.6365141682948128, 6);
    tf.dispose([rec, cur, cur2]);
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([2, 3, 4]);
    const t = tf.randomNormal([2, 3, 4]);
    const before = tf.memory().numTensors;
    lwfLoss(s, t, { temperature: 3 }).dispose();
    tf.dispose(tf.grads((a: tf.Tensor, b: tf.Tensor) => lwfLoss(a, b))([s, t]));
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t]);
  });
});
