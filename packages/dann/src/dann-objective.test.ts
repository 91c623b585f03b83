import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { dannClassificationObjective, type FeatureClassifierNet } from './dann-objective.js';
import type { DomainClassifierLike } from './domain-classifier.js';

/**
 * A net small enough for hand arithmetic: features = w · x (x is 1×1×2 per sample, w a scalar variable), logits =
 * the two feature values. The domain classifier is d = v · f (v a 2-vector variable).
 */
function tinyParts(w0 = 1) {
  const w = tf.variable(tf.scalar(w0));
  const v = tf.variable(tf.tensor2d([[1], [1]]));
  const net: FeatureClassifierNet = {
    features: (x) => tf.mul(x, w) as tf.Tensor4D,
    logitsFromFeatures: (f) => tf.reshape(f, [f.shape[0], 2]),
  };
  const domain: DomainClassifierLike = {
    apply: (z) => tf.matMul(z as tf.Tensor2D, v),
    trainableWeights: [v],
  };
  return { w, v, net, domain };
}

describe('dannClassificationObjective', () => {
  // tfjs's IS_TEST kernel check counts the data id that softmaxCrossEntropy's custom gradient keeps as a leak; the
  // tensor count below is the real check.
  beforeAll(() => {
    tf.env().set('IS_TEST', false);
  });

  it('label loss + reversed domain loss, with gradients by hand', () => {
    const { w, v, net, domain } = tinyParts();
    const source = tf.tensor4d([1, 0], [1, 1, 1, 2]);
    const target = tf.tensor4d([0, 1], [1, 1, 1, 2]);
    const labels = tf.tensor2d([[0, 1]]);
    // Source logits [w, 0] = [1, 0], label 1: CE = log(e + 1) = 1.313262.
    // Domain logits: d_s = v·(w, 0) = 1, d_t = v·(0, w) = 1; BCE = (softplus(1) + softplus(−1)) / 2
    //   = (1.313262 + 0.313262) / 2 = 0.813262. Accuracy: d_s > 0 is wrong, d_t > 0 right → 0.5.
    const t = tf.tidy(() => {
      const r = dannClassificationObjective({
        net,
        source,
        labels,
        target,
        domainClassifier: domain,
        lambda: 0.5,
        accuracy: true,
      });
      return [r.loss, r.labelLoss, r.domainLoss as tf.Scalar, r.domainAccuracy as tf.Scalar];
    });
    const [loss, label, dom, acc] = t.map((x) => x.dataSync()[0]);
    expect(label).toBeCloseTo(1.313262, 5);
    expect(dom).toBeCloseTo(0.813262, 5);
    expect(loss).toBeCloseTo(2.126524, 5);
    expect(acc).toBe(0.5);
    // dL/dw: label part σ(1) = 0.731059; domain part (σ(d_s)·1 + (σ(d_t) − 1)·1) / 2 = 0.231059, reversed by
    // −λ = −0.5 → −0.115530; total 0.615529. dL/dv (not reversed): (σ(1)·(1, 0) + (σ(1) − 1)·(0, 1)) / 2
    //   = (0.365529, −0.134471).
    const { grads } = tf.variableGrads(
      () => dannClassificationObjective({ net, source, labels, target, domainClassifier: domain, lambda: 0.5 }).loss,
      [w, v],
    );
    expect(grads[w.name].dataSync()[0]).toBeCloseTo(0.615529, 5);
    const gv = grads[v.name].dataSync();
    expect(gv[0]).toBeCloseTo(0.365529, 5);
    expect(gv[1]).toBeCloseTo(-0.134471, 5);
    tf.dispose([...t, source, target, labels, w, v, ...Object.values(grads)]);
  });

  it('without a target batch or a domain classifier it is the label loss alone', () => {
    const { w, v, net, domain } = tinyParts(2);
    const source = tf.tensor4d([1, 0, 0, 3], [2, 1, 1, 2]);
    const labels = tf.tensor2d([
      [1, 0],
      [0, 1],
    ]);
    const target = tf.tensor4d([5, 5], [1, 1, 1, 2]);
    // Logits [2, 0] label 0: log(1 + e^−2) = 0.126928; [0, 6] label 1: log(1 + e^−6) = 0.002476; mean 0.064702.
    for (const [t, d] of [
      [null, domain],
      [target, null],
    ] as const) {
      const r = tf.tidy(() => {
        const o = dannClassificationObjective({ net, source, labels, target: t, domainClassifier: d, accuracy: true });
        expect(o.domainLoss).toBeNull();
        expect(o.domainAccuracy).toBeNull();
        expect(o.loss).toBe(o.labelLoss);
        return o.loss;
      });
      expect(r.dataSync()[0]).toBeCloseTo(0.064702, 5);
      r.dispose();
    }
    // Class ids instead of one-hot rows: the same loss.
    const ids = tf.tidy(() => dannClassificationObjective({ net, source, labels: Int32Array.from([0, 1]) }).loss);
    expect(ids.dataSync()[0]).toBeCloseTo(0.064702, 5);
    ids.dispose();
    tf.dispose([source, labels, target, w, v]);
  });

  it('refuses labels that do not match the source batch, and leaks no tensor', () => {
    const { w, v, net, domain } = tinyParts();
    const source = tf.tensor4d([1, 0, 0, 1], [2, 1, 1, 2]);
    const target = tf.tensor4d([0, 1], [1, 1, 1, 2]);
    const labels = tf.tensor2d([[0, 1]]);
    expect(() => dannClassificationObjective({ net, source, labels })).toThrow(/2 source images but 1 labels/);
    const good = tf.tensor2d([
      [0, 1],
      [1, 0],
    ]);
    const before = tf.memory().numTensors;
    tf.tidy(() => {
      dannClassificationObjective({
        net,
        source,
        labels: good,
        target,
        domainClassifier: domain,
        lambda: 1,
        accuracy: true,
      });
    });
    const { value, grads } = tf.variableGrads(
      () => dannClassificationObjective({ net, source, labels: good, target, domainClassifier: domain }).loss,
      [w, v],
    );
    tf.dispose([value, ...Object.values(grads)]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([source, target, labels, good, w, v]);
  });
});
