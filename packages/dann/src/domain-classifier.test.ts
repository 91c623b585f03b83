import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { domainAdversarialLoss } from './domain-adversarial-loss.js';
import { convDomainClassifier, mlpDomainClassifier } from './domain-classifier.js';
import { gradientReversal } from './gradient-reversal.js';

describe('DomainClassifier', () => {
  it('the default MLP head is C-1024-1024-1 with dropout', () => {
    const clf = mlpDomainClassifier({ inputDim: 4, seed: 1 });
    expect(clf.trainableWeights.map((w) => w.shape)).toEqual([[4, 1024], [1024], [1024, 1024], [1024], [1024, 1], [1]]);
    expect(clf.model.layers.map((l) => l.getClassName())).toEqual(['Dense', 'Dropout', 'Dense', 'Dropout', 'Dense']);
    expect(clf.trainableWeights.every((w) => w instanceof tf.Variable && w.trainable)).toBe(true);
    clf.dispose();
  });

  it('a linear head computes x·w + b (hand arithmetic), for [P, C] and [N, H, W, C]', () => {
    const clf = mlpDomainClassifier({ inputDim: 2, hidden: [] });
    clf.model.setWeights([tf.tensor2d([[1], [2]]), tf.tensor1d([0.5])]);
    const x = tf.tensor2d([
      [1, 1],
      [-1, 0.25],
    ]);
    // [1, 1]·[1, 2] + 0.5 = 3.5 ;  [-1, 0.25]·[1, 2] + 0.5 = -0.5 + 0.5 = 0
    const y = clf.apply(x);
    expect(y.shape).toEqual([2, 1]);
    expect(Array.from(y.dataSync())).toEqual([3.5, 0]);
    const x4 = tf.reshape(x, [1, 1, 2, 2]);
    const y4 = clf.apply(x4);
    expect(y4.shape).toEqual([1, 1, 2, 1]);
    expect(Array.from(y4.dataSync())).toEqual([3.5, 0]);
    expect(() => clf.apply(tf.zeros([2, 3]))).toThrow(/expects 2 features on the last axis, got shape \[2,3\]/);
    tf.dispose([x, y, x4, y4]);
    clf.dispose();
  });

  it('dropout is active only with training: true', () => {
    const clf = mlpDomainClassifier({ inputDim: 8, hidden: [256], dropout: 0.5, seed: 3 });
    const x = tf.ones([4, 8]);
    const a = clf.apply(x).dataSync();
    const b = clf.apply(x, { training: false }).dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
    const c = clf.apply(x, { training: true }).dataSync();
    expect(Array.from(c)).not.toEqual(Array.from(a));
    x.dispose();
    clf.dispose();
  });

  it('conv head: per-position logits; 1×1 head accepts [P, C] and agrees with the map', () => {
    const clf = convDomainClassifier({ inChannels: 3, hidden: [5, 4], seed: 7 });
    expect(clf.trainableWeights.map((w) => w.shape)).toEqual([[1, 1, 3, 5], [5], [1, 1, 5, 4], [4], [1, 1, 4, 1], [1]]);
    const x = tf.randomNormal([2, 3, 4, 3], 0, 1, 'float32', 11);
    const y = clf.apply(x);
    expect(y.shape).toEqual([2, 3, 4, 1]);
    const rows = clf.apply(tf.reshape(x, [24, 3]));
    expect(rows.shape).toEqual([24, 1]);
    const yv = y.dataSync();
    const rv = rows.dataSync();
    for (let i = 0; i < 24; i++) expect(rv[i]).toBeCloseTo(yv[i], 5);
    const clf3 = convDomainClassifier({ inChannels: 3, hidden: [2], kernelSize: 3, seed: 1 });
    expect(clf3.apply(x).shape).toEqual([2, 3, 4, 1]);
    expect(() => clf3.apply(tf.zeros([4, 3]))).toThrow(/kernel 3\) expects \[N, H, W, 3\], got shape \[4,3\]/);
    expect(() => convDomainClassifier({ inChannels: 0 })).toThrow(/inChannels must be a positive integer, got 0/);
    tf.dispose([x, y, rows]);
    clf.dispose();
    clf3.dispose();
  });

  it('trains inside optimizer.minimize: a few steps separate two shifted domains', () => {
    const clf = mlpDomainClassifier({ inputDim: 2, hidden: [8], dropout: 0, seed: 5 });
    const src = tf.randomNormal([32, 2], -1, 0.5, 'float32', 1);
    const tgt = tf.randomNormal([32, 2], 1, 0.5, 'float32', 2);
    const opt = tf.train.adam(0.05);
    const lossOf = () =>
      domainAdversarialLoss(clf.apply(src, { training: true }), clf.apply(tgt, { training: true })).loss;
    const first = tf.tidy(() => lossOf().dataSync()[0]);
    for (let i = 0; i < 20; i++) opt.minimize(lossOf, true, clf.trainableWeights)?.dispose();
    const last = tf.tidy(() => lossOf().dataSync()[0]);
    expect(last).toBeLessThan(first * 0.5);
    tf.dispose([src, tgt]);
    opt.dispose();
    clf.dispose();
  });

  it('is callable inside a tape after gradient reversal: features get −λ × the plain gradient', () => {
    const clf = convDomainClassifier({ inChannels: 2, hidden: [3], seed: 2 });
    const f = tf.randomNormal([1, 2, 2, 2], 0, 1, 'float32', 9);
    const grad = (lambda: number) =>
      tf.grad((x: tf.Tensor) => domainAdversarialLoss(clf.apply(gradientReversal(x, lambda)), tf.zeros([0])).loss)(f);
    const plain = grad(-1).dataSync();
    const reversed = grad(0.3).dataSync();
    for (let i = 0; i < plain.length; i++) expect(reversed[i]).toBeCloseTo(-0.3 * plain[i], 6);
    expect(plain.some((v) => Math.abs(v) > 1e-4)).toBe(true);
    f.dispose();
    clf.dispose();
  });

  it('does not leak tensors (apply, and dispose frees the variables)', () => {
    const x = tf.ones([1, 2, 2, 2]);
    const rows = tf.ones([4, 2]);
    const base = tf.memory().numTensors;
    const clf = convDomainClassifier({ inChannels: 2, hidden: [3], seed: 2 });
    const mlp = mlpDomainClassifier({ inputDim: 2, hidden: [3], seed: 2 });
    expect(tf.memory().numTensors).toBe(base + 8); // 2 × (kernel, bias, kernel, bias)
    const before = tf.memory().numTensors;
    clf.apply(x, { training: true }).dispose();
    clf.apply(rows).dispose();
    mlp.apply(x, { training: true }).dispose();
    mlp.apply(rows).dispose();
    expect(tf.memory().numTensors).toBe(before);
    clf.dispose();
    mlp.dispose();
    expect(tf.memory().numTensors).toBe(base);
    tf.dispose([x, rows]);
  });
});
