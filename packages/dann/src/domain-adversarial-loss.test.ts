import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { domainAdversarialLoss } from './domain-adversarial-loss.js';

interface BceCase {
  sourceShape: number[];
  targetShape: number[];
  source: number[];
  target: number[];
  loss: number;
  accuracy: number;
  gradSource: number[];
  gradTarget: number[];
}
const fixture = JSON.parse(readFileSync(new URL('../fixtures/bce.json', import.meta.url), 'utf8')) as {
  cases: BceCase[];
};

describe('domainAdversarialLoss', () => {
  it('matches hand arithmetic on logits [0, ln 3] (source) and [ln 3, -ln 3] (target)', () => {
    const ln3 = Math.log(3);
    const s = tf.tensor2d([[0], [ln3]]);
    const t = tf.tensor2d([[ln3], [-ln3]]);
    // source (label 0): softplus(0) = ln 2, softplus(ln 3) = ln(1 + 3) = ln 4
    // target (label 1): softplus(-ln 3) = ln(1 + 1/3) = ln(4/3), softplus(ln 3) = ln 4
    // mean over the 4 logits: (ln 2 + ln 4 + ln(4/3) + ln 4) / 4 = ln(128/3) / 4 = 0.9383544938128768
    const { loss, accuracy, sourceCount, targetCount } = domainAdversarialLoss(s, t);
    expect(loss.shape).toEqual([]);
    expect(loss.dataSync()[0]).toBeCloseTo((Math.log(2) + Math.log(4) + Math.log(4 / 3) + Math.log(4)) / 4, 6);
    expect(loss.dataSync()[0]).toBeCloseTo(0.9383544938128768, 6);
    // accuracy: source 0 → "source" (logit <= 0) right, ln 3 → wrong; target ln 3 right, -ln 3 wrong: 2/4
    expect(accuracy).toBe(0.5);
    expect([sourceCount, targetCount]).toEqual([2, 2]);
    // gradients: d/dz softplus(z)/4 = σ(z)/4 → σ(0)/4 = 0.125, σ(ln 3)/4 = 0.75/4 = 0.1875
    //            d/dz softplus(-z)/4 = -(1 - σ(z))/4 → ln 3: -0.25/4 = -0.0625, -ln 3: -0.75/4 = -0.1875
    const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => domainAdversarialLoss(a, b).loss)([s, t]);
    const gsv = gs.dataSync();
    const gtv = gt.dataSync();
    [0.125, 0.1875].forEach((e, i) => {
      expect(gsv[i]).toBeCloseTo(e, 6);
    });
    [-0.0625, -0.1875].forEach((e, i) => {
      expect(gtv[i]).toBeCloseTo(e, 6);
    });
    tf.dispose([s, t, loss, gs, gt]);
  });

  it('weights every logit equally (mean over the concatenation), one side may be empty', () => {
    // 1 source logit 0 (ln 2) and 3 target logits 0 (ln 2 each): mean = ln 2 whatever the split
    const s = tf.zeros([1, 1]);
    const t = tf.zeros([3, 1]);
    const r = domainAdversarialLoss(s, t);
    expect(r.loss.dataSync()[0]).toBeCloseTo(Math.log(2), 6);
    // only target logits [2]: softplus(-2) = ln(1 + e^-2) = 0.12692801104297252
    const empty = tf.zeros([0, 1]);
    const t2 = tf.tensor2d([[2]]);
    const r2 = domainAdversarialLoss(empty, t2);
    expect(r2.loss.dataSync()[0]).toBeCloseTo(0.12692801104297252, 6);
    expect(r2.accuracy).toBe(1);
    expect(() => domainAdversarialLoss(empty, empty)).toThrow(/no logits/);
    const ints = tf.tensor1d([1], 'int32');
    expect(() => domainAdversarialLoss(ints, t2)).toThrow(/sourceLogits must be float32, got int32/);
    tf.dispose([s, t, r.loss, empty, t2, r2.loss, ints]);
  });

  it('matches PyTorch F.binary_cross_entropy_with_logits (values and gradients, fixtures/bce.json)', () => {
    expect(fixture.cases.length).toBe(4);
    for (const c of fixture.cases) {
      const s = tf.tensor(c.source, c.sourceShape);
      const t = tf.tensor(c.target, c.targetShape);
      const { loss, accuracy } = domainAdversarialLoss(s, t);
      const rel = Math.abs(loss.dataSync()[0] - c.loss) / Math.max(1, Math.abs(c.loss));
      expect(rel).toBeLessThan(1e-5);
      expect(accuracy).toBeCloseTo(c.accuracy, 10);
      const [gs, gt] = tf.grads((a: tf.Tensor, b: tf.Tensor) => domainAdversarialLoss(a, b).loss)([s, t]);
      const gsv = gs.dataSync();
      const gtv = gt.dataSync();
      c.gradSource.forEach((e, i) => {
        expect(Math.abs(gsv[i] - e)).toBeLessThan(1e-6);
      });
      c.gradTarget.forEach((e, i) => {
        expect(Math.abs(gtv[i] - e)).toBeLessThan(1e-6);
      });
      tf.dispose([s, t, loss, gs, gt]);
    }
  });

  it('skips the accuracy read when asked', () => {
    const s = tf.zeros([2, 1]);
    const r = domainAdversarialLoss(s, s, { readAccuracy: false });
    expect(Number.isNaN(r.accuracy)).toBe(true);
    tf.dispose([s, r.loss]);
  });

  it('does not leak tensors', () => {
    const s = tf.randomNormal([4, 1]);
    const t = tf.randomNormal([2, 3, 3, 1]);
    const before = tf.memory().numTensors;
    const { loss } = domainAdversarialLoss(s, t);
    loss.dispose();
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => domainAdversarialLoss(a, b).loss)([s, t]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([s, t]);
  });
});
