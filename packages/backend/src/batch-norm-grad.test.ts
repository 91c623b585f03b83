import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { randomValues, relativeError } from './testing.js';
import { registerTrainingGradients, trainingGradientNames, unregisterTrainingGradients } from './training-gradients.js';

// Without γ or β tfjs 4.22 cannot differentiate tf.batchNorm at all (its engine saves / walks the undefined input),
// whichever gradient is registered; those cases are left out.
interface Case {
  name: string;
  x: number[];
  /** Shape of μ, σ², γ, β (per channel: [C]). */
  stat: number[];
}

const cases: Case[] = [
  { name: 'NHWC [2,5,7,3], per-channel', x: [2, 5, 7, 3], stat: [3] },
  { name: 'NHWC [3,4,5,6]', x: [3, 4, 5, 6], stat: [6] },
  { name: 'rank 2 [6,4]', x: [6, 4], stat: [4] },
  { name: 'rank 3 [5,3,2]', x: [5, 3, 2], stat: [2] },
];
const broadcastCase: Case = { name: 'NHWC [2,5,3,4], stats [1,1,1,4]', x: [2, 5, 3, 4], stat: [1, 1, 1, 4] };
const EPS = 1e-3;

/** Inputs: x, μ, σ² (> 0), γ, β, and the read-out weights R. */
function make(c: Case) {
  const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const t = (s: number[], seed: number) => tf.tensor(randomValues(size(s), seed), s);
  return {
    x: tf.mul(t(c.x, 1), 3),
    mean: t(c.stat, 2),
    variance: tf.add(tf.abs(t(c.stat, 3)), 0.2),
    scale: t(c.stat, 4),
    offset: t(c.stat, 5),
    r: t(c.x, 6),
  };
}

type Norm = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => tf.Tensor;
const kernel: Norm = (x, m, v, s, o) => tf.batchNorm(x, m, v, o, s, EPS);
/** Reference: batch norm written with broadcasting ops, differentiated by their own tfjs gradients. */
const decomposed: Norm = (x, m, v, s, o) => tf.add(tf.mul(tf.mul(tf.sub(x, m), tf.rsqrt(tf.add(v, EPS))), s), o);

/** Gradients of Σ BN(x)·R for x, μ, σ², γ, β — the inputs as independent tensors. */
function gradsOf(c: Case, norm: Norm): Float32Array[] {
  return tf.tidy(() => {
    const t = make(c);
    const f = (x: tf.Tensor, m: tf.Tensor, v: tf.Tensor, s: tf.Tensor, o: tf.Tensor) =>
      tf.sum(tf.mul(norm(x, m, v, s, o), t.r));
    return tf
      .grads(f)([t.x, t.mean, t.variance, t.scale, t.offset])
      .map((g) => g.dataSync() as Float32Array);
  });
}

/** The training path of tfjs-layers' BatchNormalization: batch moments, then tf.batchNorm; grads for x, γ, β. */
function trainingGrads(c: Case): Float32Array[] {
  return tf.tidy(() => {
    const t = make(c);
    const axes = c.x.slice(0, -1).map((_, i) => i);
    const f = (x: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const { mean, variance } = tf.moments(x, axes);
      return tf.sum(tf.mul(tf.batchNorm(x, mean, variance, o, s, EPS), t.r));
    };
    return tf
      .grads(f)([t.x, t.scale, t.offset])
      .map((g) => g.dataSync() as Float32Array);
  });
}

function expectClose(ours: Float32Array[], ref: Float32Array[]) {
  expect(ours.length).toBe(ref.length);
  for (let i = 0; i < ref.length; i++) expect(relativeError(ours[i], ref[i]), `input ${i}`).toBeLessThan(1e-4);
}

/** Runs `fn` with tfjs's own FusedBatchNorm gradient registered. */
function withTfjsGradient<T>(fn: () => T): T {
  unregisterTrainingGradients();
  try {
    return fn();
  } finally {
    registerTrainingGradients();
  }
}

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingGradients();
});
afterAll(async () => {
  unregisterTrainingGradients();
  await tf.setBackend('cpu');
});

describe('FusedBatchNorm gradient (broadcasting) on cpu', () => {
  it('is registered', () => {
    expect(trainingGradientNames()).toContain('FusedBatchNorm');
  });

  it.each(cases.map((c) => [c.name, c] as const))('%s: equals tfjs gradient and the decomposed ops', async (_n, c) => {
    await tf.setBackend('cpu');
    const ours = gradsOf(c, kernel);
    expectClose(
      ours,
      withTfjsGradient(() => gradsOf(c, kernel)),
    );
    expectClose(ours, gradsOf(c, decomposed));
  });

  it(`${broadcastCase.name} (tfjs's own gradient cannot: it reshapes a full-size sum): equals the decomposed ops`, async () => {
    await tf.setBackend('cpu');
    expectClose(gradsOf(broadcastCase, kernel), gradsOf(broadcastCase, decomposed));
  });

  it('training path (moments → batchNorm, as tfjs-layers): equals tfjs gradient', async () => {
    await tf.setBackend('cpu');
    for (const c of cases) {
      expectClose(
        trainingGrads(c),
        withTfjsGradient(() => trainingGrads(c)),
      );
    }
  });

  it('without γ (gradFunc called directly: tfjs never gets here) uses γ = 1', async () => {
    await tf.setBackend('cpu');
    const c = cases[0];
    tf.tidy(() => {
      const t = make(c);
      const grads = tf.getGradient('FusedBatchNorm')!.gradFunc(t.r, [t.x, t.mean, t.variance, undefined as never], {
        varianceEpsilon: EPS,
      });
      const ones = tf.onesLike(t.mean);
      const ref = tf.grads((x: tf.Tensor, m: tf.Tensor, v: tf.Tensor) =>
        tf.sum(tf.mul(decomposed(x, m, v, ones, tf.zerosLike(m)), t.r)),
      );
      const [dx, dm, dv] = ref([t.x, t.mean, t.variance]);
      expect(relativeError(grads.x().dataSync(), dx.dataSync())).toBeLessThan(1e-4);
      expect(relativeError(grads.mean().dataSync(), dm.dataSync())).toBeLessThan(1e-4);
      expect(relativeError(grads.variance().dataSync(), dv.dataSync())).toBeLessThan(1e-4);
    });
  });

  it('runs no Tile and does not leak', async () => {
    await tf.setBackend('cpu');
    const c = cases[0];
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => {
      trainingGrads(c);
    });
    expect(info.kernels.map((k) => k.name)).not.toContain('Tile');
    expect(info.kernels.map((k) => k.name)).toContain('FusedBatchNorm');
    expect(tf.memory().numTensors).toBe(before);
    const tiled = await tf.profile(() => {
      withTfjsGradient(() => trainingGrads(c));
    });
    expect(tiled.kernels.map((k) => k.name)).toContain('Tile');
  });
});

describe('FusedBatchNorm gradient on wasm equals cpu', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
  });
  it.each([...cases, broadcastCase].map((c) => [c.name, c] as const))('%s', async (_n, c) => {
    await tf.setBackend('cpu');
    const ref = gradsOf(c, decomposed);
    const perChannel = c.stat.length === 1;
    const refTrain = perChannel ? trainingGrads(c) : [];
    await tf.setBackend('wasm');
    expectClose(gradsOf(c, kernel), ref);
    if (perChannel) expectClose(trainingGrads(c), refTrain);
  });
});
