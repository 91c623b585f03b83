import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { domainAdversarialLoss } from './domain-adversarial-loss.js';
import { convDomainClassifier, type DomainClassifier, mlpDomainClassifier } from './domain-classifier.js';
import { type Crop, regionAssignment } from './region-grid.js';
import { SpatialAwareAdaptation } from './spatial-aware-adaptation.js';

interface SaFixture {
  grid: [number, number];
  lambda: number;
  sourceShape: number[];
  targetShape: number[];
  source: number[];
  target: number[];
  sourceCrops: Crop[];
  weights: number[];
  biases: number[];
  sourceAssignment: number[];
  targetAssignment: number[];
  loss: number;
  perRegion: { sourceCount: number; targetCount: number; loss?: number }[];
  gradSource: number[];
  gradTarget: number[];
  gradWeights: number[];
  gradBiases: number[];
}
const fx = JSON.parse(readFileSync(new URL('../fixtures/spatial_aware.json', import.meta.url), 'utf8')) as SaFixture;

/** A linear per-region classifier logit = f·w + b with given weights. */
function linear(w: number[], b: number): DomainClassifier {
  const clf = mlpDomainClassifier({ inputDim: w.length, hidden: [] });
  clf.model.setWeights([tf.tensor2d(w, [w.length, 1]), tf.tensor1d([b])]);
  return clf;
}

describe('regionAssignment', () => {
  it('assigns a cropped feature map by the centres of its positions in the full image (hand-worked)', () => {
    // Full image 8 × 12, grid 2 × 3: region rows split at y = 4, columns at x = 4 and 8.
    // Crop top 2, left 3, 4 × 6 pixels, feature map 2 × 3 (each position covers 2 × 2 pixels).
    // Row centres:    y = 2 + (i + 0.5)·4/2 → i=0: 3, i=1: 5 → region row ⌊y·2/8⌋ = ⌊0.75⌋ = 0, ⌊1.25⌋ = 1
    // Column centres: x = 3 + (j + 0.5)·6/3 → 4, 6, 8    → region col ⌊x·3/12⌋ = ⌊1⌋ = 1, ⌊1.5⌋ = 1, ⌊2⌋ = 2
    // Index row·3 + col: [0·3+1, 0·3+1, 0·3+2, 1·3+1, 1·3+1, 1·3+2] = [1, 1, 2, 4, 4, 5]
    const crop: Crop = { top: 2, left: 3, height: 4, width: 6, fullHeight: 8, fullWidth: 12 };
    expect(Array.from(regionAssignment(2, 3, crop, [2, 3]))).toEqual([1, 1, 2, 4, 4, 5]);
    // The same crop mirrored left-right after cutting: column j shows x = 3 + 6 − (j + 0.5)·2 → 8, 6, 4
    // → cols ⌊8·3/12⌋ = 2, ⌊6·3/12⌋ = 1, ⌊4·3/12⌋ = 1: [2, 1, 1, 5, 4, 4]
    expect(Array.from(regionAssignment(2, 3, { ...crop, flipped: true }, [2, 3]))).toEqual([2, 1, 1, 5, 4, 4]);
  });

  it('without a crop covers the full image; crops past the border are clamped', () => {
    // 4 × 6 map, grid 2 × 3: rows ⌊(i+0.5)·2/4⌋ = 0,0,1,1; cols ⌊(j+0.5)·3/6⌋ = 0,0,1,1,2,2
    expect(Array.from(regionAssignment(4, 6, undefined, [2, 3]))).toEqual([
      0, 0, 1, 1, 2, 2, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 3, 3, 4, 4, 5, 5,
    ]);
    // crop 10 × 10 at (−5, 5) of a 10 × 10 image, 2 × 2 map, grid 2 × 2:
    // y centres −2.5, 2.5 → ⌊−0.5⌋ = −1 → clamped 0, ⌊0.5⌋ = 0; x centres 7.5, 12.5 → ⌊1.5⌋ = 1, ⌊2.5⌋ = 2 → 1
    const crop: Crop = { top: -5, left: 5, height: 10, width: 10, fullHeight: 10, fullWidth: 10 };
    expect(Array.from(regionAssignment(2, 2, crop, [2, 2]))).toEqual([1, 1, 1, 1]);
  });

  it('rejects bad grids and crops with the value', () => {
    expect(() => regionAssignment(2, 2, undefined, [0, 2])).toThrow(/grid must be \[rows, cols\].*\[0,2\]/);
    const bad = { top: 0, left: 0, height: 4, width: 4, fullHeight: 0, fullWidth: 4 };
    expect(() => regionAssignment(2, 2, bad, [1, 1])).toThrow(/crop.fullHeight must be > 0/);
    expect(() => regionAssignment(0, 2, undefined, [1, 1])).toThrow(/featureH must be a positive integer/);
  });

  it('agrees with the independent Python assignment of the fixture', () => {
    const [, h, w] = fx.sourceShape;
    const got = fx.sourceCrops.flatMap((c) => Array.from(regionAssignment(h, w, c, fx.grid)));
    expect(got).toEqual(fx.sourceAssignment);
    expect(Array.from(regionAssignment(fx.targetShape[1], fx.targetShape[2], undefined, fx.grid))).toEqual(
      fx.targetAssignment,
    );
  });
});

describe('SpatialAwareAdaptation', () => {
  it('matches an independent PyTorch computation: loss, per-region losses, gradients (fixtures/spatial_aware.json)', () => {
    const C = fx.sourceShape[3];
    const saa = new SpatialAwareAdaptation({
      grid: fx.grid,
      classifier: (r) => linear(fx.weights.slice(r * C, r * C + C), fx.biases[r]),
    });
    expect(saa.numRegions).toBe(6);
    const src = tf.tensor(fx.source, fx.sourceShape);
    const tgt = tf.tensor(fx.target, fx.targetShape);
    const result = saa.loss(src, tgt, { lambda: fx.lambda, sourceCrop: fx.sourceCrops });
    expect(Math.abs(result.loss.dataSync()[0] - fx.loss)).toBeLessThan(1e-5);
    expect(result.activeRegions).toBe(fx.perRegion.filter((r) => r.sourceCount + r.targetCount > 0).length);
    result.perRegion.forEach((s, r) => {
      expect([s.sourceCount, s.targetCount]).toEqual([fx.perRegion[r].sourceCount, fx.perRegion[r].targetCount]);
      expect(Math.abs(s.loss - (fx.perRegion[r].loss as number))).toBeLessThan(1e-5);
    });
    const vars = saa.trainableWeights;
    expect(vars.length).toBe(12);
    const { value, grads } = tf.variableGrads(() => {
      const [gs, gt] = tf.grads(
        (a: tf.Tensor, b: tf.Tensor) =>
          saa.loss(a, b, { lambda: fx.lambda, sourceCrop: fx.sourceCrops, readStats: false }).loss,
      )([src, tgt]);
      const gsv = gs.dataSync();
      const gtv = gt.dataSync();
      fx.gradSource.forEach((e, i) => {
        expect(Math.abs(gsv[i] - e)).toBeLessThan(1e-6);
      });
      fx.gradTarget.forEach((e, i) => {
        expect(Math.abs(gtv[i] - e)).toBeLessThan(1e-6);
      });
      tf.dispose([gs, gt]);
      return saa.loss(src, tgt, { lambda: fx.lambda, sourceCrop: fx.sourceCrops, readStats: false }).loss;
    }, vars);
    for (let r = 0; r < 6; r++) {
      const gw = grads[vars[2 * r].name].dataSync();
      const gb = grads[vars[2 * r + 1].name].dataSync();
      for (let k = 0; k < C; k++) expect(Math.abs(gw[k] - fx.gradWeights[r * C + k])).toBeLessThan(1e-6);
      expect(Math.abs(gb[0] - fx.gradBiases[r])).toBeLessThan(1e-6);
    }
    tf.dispose([src, tgt, result.loss, value, ...Object.values(grads)]);
    saa.dispose();
  });

  it('regions with no positions contribute nothing (no NaN) and their classifier gets no gradient', () => {
    // full image 4 × 8, grid 1 × 2 (left / right halves); both crops cover the left half only
    const crop: Crop = { top: 0, left: 0, height: 4, width: 4, fullHeight: 4, fullWidth: 8 };
    const saa = new SpatialAwareAdaptation({
      grid: [1, 2],
      classifier: (r) => linear(r === 0 ? [0.5, -1] : [2, 2], r === 0 ? 0.1 : -0.3),
    });
    const src = tf.randomNormal([2, 2, 2, 2], 0, 1, 'float32', 4);
    const tgt = tf.randomNormal([1, 2, 2, 2], 0, 1, 'float32', 5);
    const r = saa.loss(src, tgt, { sourceCrop: crop, targetCrop: [crop] });
    const loss = r.loss.dataSync()[0];
    expect(Number.isFinite(loss)).toBe(true);
    expect(r.activeRegions).toBe(1);
    expect([r.perRegion[1].sourceCount, r.perRegion[1].targetCount]).toEqual([0, 0]);
    expect(Number.isNaN(r.perRegion[1].loss)).toBe(true);
    // the loss is region 0's plain domain loss over all 8 + 4 positions
    const direct = tf.tidy(() => {
      const c0 = saa.classifiers[0];
      return domainAdversarialLoss(
        c0.apply(tf.reshape(src, [8, 2])),
        c0.apply(tf.reshape(tgt, [4, 2])),
      ).loss.dataSync()[0];
    });
    expect(loss).toBeCloseTo(direct, 6);
    const vars = saa.trainableWeights;
    const { value, grads } = tf.variableGrads(
      () => saa.loss(src, tgt, { sourceCrop: crop, targetCrop: crop }).loss,
      vars,
    );
    expect(grads[vars[0].name]).toBeDefined();
    const g2 = grads[vars[2].name];
    if (g2) expect(Array.from(g2.dataSync()).every((v) => v === 0)).toBe(true);
    expect(Array.from(grads[vars[0].name].dataSync()).every(Number.isFinite)).toBe(true);
    tf.dispose([src, tgt, r.loss, value, ...Object.values(grads)]);
    saa.dispose();
  });

  it('gradients reach the features with the reversed sign (−λ × the plain gradient)', () => {
    const saa = new SpatialAwareAdaptation({
      grid: [2, 2],
      classifier: (r) => mlpDomainClassifier({ inputDim: 3, hidden: [4], dropout: 0, seed: 10 + r }),
    });
    const src = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 6);
    const tgt = tf.randomNormal([1, 4, 4, 3], 0.5, 1, 'float32', 7);
    const grad = (lambda: number) =>
      tf.grad((x: tf.Tensor) => saa.loss(x, tgt, { lambda, readStats: false }).loss)(src);
    const plain = grad(-1); // −(−1) = +1: the un-reversed gradient
    const rev = grad(0.8);
    const p = plain.dataSync();
    const q = rev.dataSync();
    expect(p.some((v) => Math.abs(v) > 1e-5)).toBe(true);
    for (let i = 0; i < p.length; i++) expect(q[i]).toBeCloseTo(-0.8 * p[i], 6);
    // and it lowers the classifier loss when followed by the classifiers (sanity of the sign):
    // a step along −(plain) on the features lowers the loss
    const l0 = tf.tidy(() => saa.loss(src, tgt, { lambda: 1, readStats: false }).loss.dataSync()[0]);
    const moved = tf.sub(src, tf.mul(plain, 0.5));
    const l1 = tf.tidy(() => saa.loss(moved, tgt, { lambda: 1, readStats: false }).loss.dataSync()[0]);
    expect(l1).toBeLessThan(l0);
    tf.dispose([src, tgt, plain, rev, moved]);
    saa.dispose();
  });

  it("'batched' mode equals 'gather' mode: loss, per-region stats, gradients of features and heads; null for empty regions", () => {
    const make = (mode: 'gather' | 'batched', mlp: boolean) =>
      new SpatialAwareAdaptation({
        grid: [2, 3],
        mode,
        classifier: (r) =>
          mlp
            ? mlpDomainClassifier({ inputDim: 3, hidden: [5], dropout: 0, seed: 40 + r })
            : convDomainClassifier({ inChannels: 3, hidden: [4], seed: 30 + r }),
      });
    // Both crops cover the top-left 30×40 of a 64×64 image: the regions of the bottom row (and the right column) get no position.
    const crop: Crop = { top: 0, left: 0, height: 30, width: 40, fullHeight: 64, fullWidth: 64 };
    const src = tf.randomNormal([2, 3, 4, 3], 0, 1, 'float32', 18);
    const tgt = tf.randomNormal([1, 4, 4, 3], 0.3, 1, 'float32', 19);
    for (const mlp of [false, true]) {
      const a = make('gather', mlp);
      const b = make('batched', mlp);
      expect(b.mode).toBe('batched');
      const ra = a.loss(src, tgt, { sourceCrop: crop, targetCrop: crop, lambda: 0.5 });
      const rb = b.loss(src, tgt, { sourceCrop: crop, targetCrop: crop, lambda: 0.5 });
      expect(rb.loss.dataSync()[0]).toBeCloseTo(ra.loss.dataSync()[0], 6);
      expect(rb.accuracy).toBe(ra.accuracy);
      rb.perRegion.forEach((s, r) => {
        expect(s.sourceCount).toBe(ra.perRegion[r].sourceCount);
        if (Number.isNaN(ra.perRegion[r].loss)) expect(Number.isNaN(s.loss)).toBe(true);
        else expect(s.loss).toBeCloseTo(ra.perRegion[r].loss, 5);
        if (!Number.isNaN(ra.perRegion[r].accuracy)) expect(s.accuracy).toBe(ra.perRegion[r].accuracy);
      });
      const grads = (saa: SpatialAwareAdaptation) => {
        const vars = saa.trainableWeights;
        const { value, grads: g } = tf.variableGrads(() => {
          const sg = tf.mul(src, 1); // the features as an op output, to take their gradient as well
          return saa.loss(sg, tgt, { sourceCrop: crop, targetCrop: crop, lambda: 0.5, readStats: false }).loss;
        }, vars);
        const dx = tf.grad(
          (x: tf.Tensor) =>
            saa.loss(x, tgt, { sourceCrop: crop, targetCrop: crop, lambda: 0.5, readStats: false }).loss,
        )(src);
        const out = {
          vars: vars.map((v) => (g[v.name] ? Array.from(g[v.name].dataSync()) : null)),
          dx: Array.from(dx.dataSync()),
        };
        tf.dispose([value, dx, ...Object.values(g)]);
        return out;
      };
      const ga = grads(a);
      const gb = grads(b);
      expect(gb.vars.map((v) => v === null)).toEqual(ga.vars.map((v) => v === null));
      expect(ga.vars.some((v) => v === null)).toBe(true); // a region without positions: no gradient
      ga.vars.forEach((v, i) => {
        v?.forEach((x, j) => {
          expect(gb.vars[i]![j]).toBeCloseTo(x, 6);
        });
      });
      ga.dx.forEach((x, j) => {
        expect(gb.dx[j]).toBeCloseTo(x, 6);
      });
      tf.dispose([ra.loss, rb.loss]);
      a.dispose();
      b.dispose();
    }
    tf.dispose([src, tgt]);
  });

  it("'auto' (default) picks 'batched' for 1×1 heads, 'gather' for others; 'batched' refuses heads it cannot stack", () => {
    const conv1 = new SpatialAwareAdaptation({
      grid: [1, 2],
      classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [2], seed: r }),
    });
    const conv3 = new SpatialAwareAdaptation({
      grid: [1, 2],
      classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [2], kernelSize: 3, seed: r }),
    });
    expect(conv1.mode).toBe('batched');
    expect(conv3.mode).toBe('gather');
    conv3.dispose();
    expect(
      () =>
        new SpatialAwareAdaptation({
          grid: [1, 2],
          mode: 'batched',
          classifier: (r) => mlpDomainClassifier({ inputDim: 3, hidden: [2], dropout: 0.5, seed: r }),
        }),
    ).toThrow("mode 'batched' needs heads with pointwiseLayers()");
    expect(
      () =>
        new SpatialAwareAdaptation({
          grid: [1, 2],
          mode: 'batched',
          classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [2], kernelSize: 3, seed: r }),
        }),
    ).toThrow("mode 'batched' needs heads with pointwiseLayers()");
    conv1.dispose();
  });

  it("'batched' mode leaks no tensor (with and without stats)", () => {
    const saa = new SpatialAwareAdaptation({
      grid: [2, 2],
      mode: 'batched',
      classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [4], seed: r }),
    });
    const src = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 3);
    const tgt = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    saa.loss(src, tgt).loss.dispose();
    saa.loss(src, tgt, { readStats: false }).loss.dispose();
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([src, tgt]);
    saa.dispose();
  });

  it("'full' mode with 1×1 conv heads equals 'gather' mode; 3×3 heads run in 'full' mode", () => {
    const make = (mode: 'gather' | 'full') =>
      new SpatialAwareAdaptation({
        grid: [2, 2],
        mode,
        classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [4], seed: 20 + r }),
      });
    const a = make('gather');
    const b = make('full');
    const crop: Crop = { top: 10, left: 20, height: 30, width: 40, fullHeight: 64, fullWidth: 64 };
    const src = tf.randomNormal([2, 3, 4, 3], 0, 1, 'float32', 8);
    const tgt = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 9);
    const ra = a.loss(src, tgt, { sourceCrop: crop, lambda: 0.5 });
    const rb = b.loss(src, tgt, { sourceCrop: crop, lambda: 0.5 });
    expect(rb.loss.dataSync()[0]).toBeCloseTo(ra.loss.dataSync()[0], 5);
    expect(rb.accuracy).toBe(ra.accuracy);
    const ga = tf
      .grad((x: tf.Tensor) => a.loss(x, tgt, { sourceCrop: crop, lambda: 0.5 }).loss)(src)
      .dataSync();
    const gb = tf
      .grad((x: tf.Tensor) => b.loss(x, tgt, { sourceCrop: crop, lambda: 0.5 }).loss)(src)
      .dataSync();
    for (let i = 0; i < ga.length; i++) expect(gb[i]).toBeCloseTo(ga[i], 5);
    const c = new SpatialAwareAdaptation({
      grid: [1, 2],
      mode: 'full',
      classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [2], kernelSize: 3, seed: r }),
    });
    const rc = c.loss(src, tgt);
    expect(Number.isFinite(rc.loss.dataSync()[0])).toBe(true);
    tf.dispose([src, tgt, ra.loss, rb.loss, rc.loss]);
    a.dispose();
    b.dispose();
    c.dispose();
  });

  it('accuracyTensor: the domain accuracy as a tensor, read without a synchronous read (hand-worked), every mode, no leak', async () => {
    // Grid 1 × 2 over a 1 × 4 map (C = 1): positions 0, 1 → region 0; 2, 3 → region 1. Linear heads logit = f.
    // Source correct when logit ≤ 0: −1 ✓, 2 ✗ | −3 ✓, 0 ✓; target correct when logit > 0: 1 ✓, −2 ✗ | 3 ✓, 0.5 ✓
    // → region 0: 2/4, region 1: 4/4, all: 6/8 = 0.75.
    const src = tf.tensor4d([-1, 2, -3, 0], [1, 1, 4, 1]);
    const tgt = tf.tensor4d([1, -2, 3, 0.5], [1, 1, 4, 1]);
    for (const mode of ['gather', 'batched'] as const) {
      const saa = new SpatialAwareAdaptation({ grid: [1, 2], mode, classifier: () => linear([1], 0) });
      const before = tf.memory().numTensors;
      const r = saa.loss(src, tgt, { readStats: false, accuracyTensor: true });
      expect(Number.isNaN(r.accuracy)).toBe(true);
      expect(r.accuracyTensor?.shape).toEqual([]);
      expect((await (r.accuracyTensor as tf.Scalar).data())[0]).toBeCloseTo(0.75, 6);
      tf.dispose([r.loss, r.accuracyTensor as tf.Scalar]);
      const withStats = saa.loss(src, tgt, { accuracyTensor: true });
      expect(withStats.accuracy).toBeCloseTo(0.75, 6);
      expect(withStats.perRegion.map((s) => s.accuracy)).toEqual([0.5, 1]);
      tf.dispose([withStats.loss, withStats.accuracyTensor as tf.Scalar]);
      const without = saa.loss(src, tgt);
      expect(without.accuracyTensor).toBeUndefined();
      without.loss.dispose();
      expect(tf.memory().numTensors).toBe(before);
      saa.dispose();
    }
    // 'full' (and 'gather' with conv heads): the tensor equals the number read synchronously.
    for (const mode of ['full', 'gather', 'batched'] as const) {
      const saa = new SpatialAwareAdaptation({
        grid: [2, 2],
        mode,
        classifier: (r) => convDomainClassifier({ inChannels: 3, hidden: [4], seed: 30 + r }),
      });
      const a = tf.randomNormal([2, 3, 4, 3], 0, 1, 'float32', 11);
      const b = tf.randomNormal([1, 4, 4, 3], 0, 1, 'float32', 12);
      const r = saa.loss(a, b, { accuracyTensor: true });
      expect(Number.isFinite(r.accuracy)).toBe(true);
      expect((await (r.accuracyTensor as tf.Scalar).data())[0]).toBeCloseTo(r.accuracy, 6);
      tf.dispose([a, b, r.loss, r.accuracyTensor as tf.Scalar]);
      saa.dispose();
    }
    tf.dispose([src, tgt]);
  });

  it('rejects mismatched inputs with a clear error', () => {
    const saa = new SpatialAwareAdaptation({ grid: [1, 2], classifier: () => linear([1, 1], 0) });
    const a = tf.zeros([2, 2, 2, 2]);
    const b = tf.zeros([1, 2, 2, 3]);
    expect(() => saa.loss(a, b)).toThrow(/channel mismatch: source \[2,2,2,2\] vs target \[1,2,2,3\]/);
    const crop: Crop = { top: 0, left: 0, height: 2, width: 2, fullHeight: 4, fullWidth: 4 };
    expect(() => saa.loss(a, a, { sourceCrop: [crop] })).toThrow(/has 1 crops but the batch has 2 items/);
    expect(() => saa.loss(tf.zeros([2, 2]), a)).toThrow(
      /sourceFeatures must be a \[N, H, W, C\] tensor, got shape \[2,2\]/,
    );
    expect(
      () => new SpatialAwareAdaptation({ grid: [2, 0] as [number, number], classifier: () => linear([1], 0) }),
    ).toThrow(/grid/);
    tf.dispose([a, b]);
    saa.dispose();
  });

  it('exposes the weights of every region classifier and does not leak tensors', () => {
    const base = tf.memory().numTensors;
    const saa = new SpatialAwareAdaptation({
      grid: [2, 3],
      classifier: (r) => mlpDomainClassifier({ inputDim: 2, hidden: [3], dropout: 0.5, seed: r }),
    });
    expect(saa.trainableWeights.length).toBe(6 * 4);
    expect(saa.getWeights().length).toBe(6 * 4);
    expect(new Set(saa.trainableWeights.map((w) => w.name)).size).toBe(24);
    const src = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 1);
    const tgt = tf.randomNormal([2, 3, 3, 2], 0, 1, 'float32', 2);
    const crop: Crop = { top: 4, left: 0, height: 12, width: 9, fullHeight: 24, fullWidth: 27 };
    const opt = tf.train.sgd(0.1); // holds its learning-rate scalar until disposed
    const before = tf.memory().numTensors;
    for (let step = 0; step < 3; step++) {
      const cost = opt.minimize(
        () => saa.loss(src, tgt, { lambda: () => 0.5, sourceCrop: crop, targetCrop: [crop, crop] }).loss,
        true,
        saa.trainableWeights,
      );
      cost?.dispose();
    }
    const r = saa.loss(src, tgt);
    r.loss.dispose();
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => saa.loss(a, b, { sourceCrop: crop }).loss)([src, tgt]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([src, tgt]);
    saa.dispose();
    expect(tf.memory().numTensors).toBe(base);
  });
});
