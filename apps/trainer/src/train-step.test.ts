import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { NonFiniteLossError } from './errors.js';
import { l2NormalizeChannels } from './feature-norm.js';
import { disposeBatch, tinyBatch, tinyStepParts } from './step-fixture.js';
import { learningRateAt, progressOf } from './train-step.js';

function setup(preset: string, sets: string[] = []) {
  const config = loadConfig(preset, ['steps=10', 'backend=cpu', ...sets]);
  return { config, ...tinyStepParts(config), batch: tinyBatch, disposeBatch };
}

const snapshot = (vars: tf.Variable[]) => vars.map((v) => Array.from(v.dataSync()));

describe('createTrainStep', () => {
  it('road: returns finite per-term losses; updates net and region classifiers, never the teacher', async () => {
    const s = setup('road');
    const teacherBefore = snapshot(s.teacherNet.model.weights.map((w) => w.read() as tf.Variable));
    const netBefore = snapshot(s.net.trainableVariables());
    const saaBefore = snapshot(s.spatial.trainableWeights);
    const b = s.batch();
    const r = await s.step(b, 1);
    expect(s.step.uses).toEqual({ dst: true, spt: true });
    for (const k of ['seg', 'dst', 'spt', 'total'] as const) expect(Number.isFinite(r[k])).toBe(true);
    expect(r.seg).toBeGreaterThan(0);
    expect(r.dst).toBeGreaterThan(0);
    // total = seg + λ_dst·dst + λ_spt·spt (float32 sums)
    expect(r.total).toBeCloseTo(r.seg + s.config.lambda.dst * r.dst + s.config.lambda.spt * r.spt, 4);
    expect(r.lambdaGrl).toBe(0); // DANN ramp at p = 0
    expect(r.domainAccuracy).toBeGreaterThanOrEqual(0);
    expect(r.domainAccuracy).toBeLessThanOrEqual(1);
    expect(snapshot(s.teacherNet.model.weights.map((w) => w.read() as tf.Variable))).toEqual(teacherBefore);
    expect(snapshot(s.net.trainableVariables())).not.toEqual(netBefore);
    expect(snapshot(s.spatial.trainableWeights)).not.toEqual(saaBefore);
    s.disposeBatch(b);
    s.dispose();
  });

  it('sptFeatures l2 (the default): the region classifiers see the L2-normalised features; raw: the features as they are', async () => {
    for (const [preset, norm] of [
      ['spt', true],
      ['road', true],
      ['road', false],
    ] as const) {
      const s = setup(preset, norm ? [] : ['sptFeatures=raw']);
      expect(s.config.sptFeatures).toBe(norm ? 'l2' : 'raw');
      const b = s.batch();
      const tgt = b.target;
      if (!tgt) throw new Error('tiny batch has a target');
      // The spt term computed by hand before the step, on the same weights (frozen BN: same features either way).
      const want = tf.tidy(() => {
        const f = (x: tf.Tensor4D) => {
          const y = s.net.features(x, false);
          return norm ? l2NormalizeChannels(y) : y;
        };
        return s.spatial.loss(f(b.source.images), f(tgt.images), {
          lambda: 0,
          sourceCrop: b.source.crops,
          targetCrop: tgt.crops,
        }).loss;
      });
      const expected = (await want.data())[0];
      want.dispose();
      const r = await s.step(b, 1);
      expect(r.spt).toBeCloseTo(expected, 4);
      s.disposeBatch(b);
      s.dispose();
    }
  });

  it('source-only computes only the segmentation term and needs no target batch', async () => {
    const s = setup('source-only');
    const b = s.batch();
    const r = await s.step({ source: b.source }, 1);
    expect(s.step.uses).toEqual({ dst: false, spt: false });
    expect(r.dst).toBe(0);
    expect(r.spt).toBe(0);
    expect(r.total).toBeCloseTo(r.seg, 6);
    expect(Number.isNaN(r.domainAccuracy)).toBe(true);
    s.disposeBatch(b);
    s.dispose();
  });

  it('lowers the source loss when repeated on one batch', async () => {
    const s = setup('road');
    const b = s.batch();
    const first = (await s.step(b, 1)).seg;
    let last = first;
    for (let i = 2; i <= 8; i++) last = (await s.step(b, i)).seg;
    expect(last).toBeLessThan(first);
    s.disposeBatch(b);
    s.dispose();
  });

  it('stops on a NaN term, naming it, before changing any weight', async () => {
    const s = setup('road', ['debug.nonFiniteAt={"term":"dst","step":2}']);
    const b = s.batch();
    await s.step(b, 1);
    const before = snapshot(s.net.trainableVariables());
    let err: unknown;
    try {
      await s.step(b, 2);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).term).toBe('dst');
    expect((err as NonFiniteLossError).message).toMatch(/loss term "dst" is NaN at step 2/);
    expect(snapshot(s.net.trainableVariables())).toEqual(before);
    s.disposeBatch(b);
    s.dispose();
  });

  it('does not leak tensors across steps', async () => {
    const s = setup('road');
    const b = s.batch();
    await s.step(b, 1); // optimizer slots are created on the first step
    const before = tf.memory().numTensors;
    for (let i = 2; i <= 4; i++) await s.step(b, i);
    expect(tf.memory().numTensors).toBe(before);
    s.disposeBatch(b);
    s.dispose();
  });

  it('ramps the reversal coefficient and schedules the learning rate', () => {
    expect(progressOf(1, 10)).toBe(0);
    expect(progressOf(6, 10)).toBe(0.5);
    const c = loadConfig('road', ['optimizer.lr=0.01', 'optimizer.lrSchedule=dann']);
    // DANN: μ0 / (1 + 10 p)^0.75 at p = 0.5 → 0.01 / 6^0.75
    expect(learningRateAt(c, 0.5)).toBeCloseTo(0.01 / 6 ** 0.75, 10);
    const poly = loadConfig('road', ['optimizer.lr=0.01', 'optimizer.lrSchedule=poly']);
    expect(learningRateAt(poly, 0.5)).toBeCloseTo(0.01 * 0.5 ** 0.9, 10);
  });
});
