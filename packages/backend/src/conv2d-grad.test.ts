import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DILATED_CONV2D_GRADIENT, dilatedConv2dGradConfig } from './conv2d-grad.js';
import { initBackend } from './init-backend.js';
import { randomValues, relativeError } from './testing.js';
import { registerTrainingGradients, unregisterTrainingGradients } from './training-gradients.js';
import { atrousConv2dSpaceToBatch } from './training-kernels.js';

/** Whether the registered Conv2D gradient carries our dilation marker (what @road/backbone's atrousConv2d reads). */
const hasDilatedConv2dGradient = () =>
  (tf.getGradient(tf.Conv2D) as { [DILATED_CONV2D_GRADIENT]?: boolean } | undefined)?.[DILATED_CONV2D_GRADIENT] ===
  true;

type T4 = tf.Tensor4D;
type Pad = 'same' | 'valid' | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  h: number;
  w: number;
  k: [number, number];
  d: [number, number];
  pad: Pad;
}

const N = 2;
const CI = 3;
const CO = 5;
const cases: Case[] = [];
for (const [h, w] of [
  [7, 9],
  [11, 10],
]) {
  for (const r of [2, 3]) {
    for (const pad of ['same', 'valid'] as const) cases.push({ h, w, k: [3, 3], d: [r, r], pad });
  }
}
cases.push(
  { h: 9, w: 7, k: [2, 3], d: [3, 2], pad: 'same' },
  { h: 9, w: 13, k: [3, 5], d: [2, 3], pad: 'valid' },
  { h: 8, w: 9, k: [1, 1], d: [2, 2], pad: 'same' },
  {
    h: 7,
    w: 9,
    k: [3, 3],
    d: [2, 2],
    pad: [
      [0, 0],
      [1, 3],
      [2, 0],
      [0, 0],
    ],
  },
  // pads larger than the dilated kernel reaches (rows of output see only padding)
  {
    h: 5,
    w: 6,
    k: [3, 3],
    d: [2, 2],
    pad: [
      [0, 0],
      [6, 1],
      [0, 5],
      [0, 0],
    ],
  },
);
const label = (c: Case) =>
  `x ${N}×${c.h}×${c.w}×${CI}, filter ${c.k.join('×')} ${CI}→${CO}, dilation ${c.d}, pad ${JSON.stringify(c.pad)}`;

function inputs(c: Case) {
  const x = tf.tensor4d(randomValues(N * c.h * c.w * CI, 1), [N, c.h, c.w, CI]);
  const w = tf.tensor4d(randomValues(c.k[0] * c.k[1] * CI * CO, 2), [c.k[0], c.k[1], CI, CO]);
  return { x, w };
}

/** The dilated filter written out: zeros between the taps, W[(a·dh), (b·dw)] = W[a, b] — an ordinary conv. */
function zeroInsertedFilter(w: T4, [dh, dw]: [number, number]): T4 {
  const [kh, kw, ci, co] = w.shape;
  const w6 = tf.reshape(w, [kh, 1, kw, 1, ci, co]);
  const padded = tf.pad(w6, [
    [0, 0],
    [0, dh - 1],
    [0, 0],
    [0, dw - 1],
    [0, 0],
    [0, 0],
  ]);
  const full = tf.reshape(padded, [kh * dh, kw * dw, ci, co]);
  return tf.slice(full, [0, 0, 0, 0], [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]) as T4;
}

/** Loss Σ y·R of the dilated conv (R fixed), and its gradients for x and w. */
function lossAndGrads(c: Case, conv: (x: T4, w: T4) => T4) {
  return tf.tidy(() => {
    const { x, w } = inputs(c);
    const f = (a: tf.Tensor, b: tf.Tensor) => {
      const y = conv(a as T4, b as T4);
      return tf.sum(tf.mul(y, tf.tensor(randomValues(y.size, 3), y.shape)));
    };
    const { value, grads } = tf.valueAndGrads(f)([x, w]);
    return {
      y: value.dataSync()[0],
      dx: grads[0].dataSync(),
      dw: grads[1].dataSync(),
      dxShape: grads[0].shape,
      dwShape: grads[1].shape,
    };
  });
}

const direct = (c: Case) => (x: T4, w: T4) => tf.conv2d(x, w, 1, c.pad, 'NHWC', c.d);
/** Reference: the same conv with the zero-inserted filter and dilation 1 (tfjs's own gradient). */
const reference = (c: Case) => (x: T4, w: T4) => tf.conv2d(x, zeroInsertedFilter(w, c.d), 1, c.pad, 'NHWC', 1);

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerTrainingGradients();
});

afterAll(async () => {
  unregisterTrainingGradients();
  await tf.setBackend('cpu');
});

describe('Conv2D gradient with dilations (cpu) equals the zero-inserted-filter conv differentiated by tfjs', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    await tf.setBackend('cpu');
    const ours = lossAndGrads(c, direct(c));
    const ref = lossAndGrads(c, reference(c));
    expect(ours.dxShape).toEqual([N, c.h, c.w, CI]);
    expect(ours.dwShape).toEqual([c.k[0], c.k[1], CI, CO]);
    expect(Math.abs(ours.y - ref.y) / Math.abs(ref.y)).toBeLessThan(1e-4);
    expect(relativeError(ours.dx, ref.dx)).toBeLessThan(1e-4);
    expect(relativeError(ours.dw, ref.dw)).toBeLessThan(1e-4);
  });
});

describe('Conv2D gradient with dilations on wasm equals the cpu reference', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'wasm' });
  });
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    await tf.setBackend('cpu');
    const ref = lossAndGrads(c, reference(c));
    await tf.setBackend('wasm');
    const ours = lossAndGrads(c, direct(c));
    expect(relativeError(ours.dx, ref.dx)).toBeLessThan(1e-4);
    expect(relativeError(ours.dw, ref.dw)).toBeLessThan(1e-4);
  });
});

describe('Conv2D gradient with dilations on wasm + native kernels', () => {
  it('computes dW in one native Conv2DBackpropFilter call (no transposes), equal to the cpu reference', async () => {
    const report = await initBackend({ prefer: 'wasm' });
    expect(report.native?.loaded, `native kernels not loaded: ${report.native?.reason}`).toBe(true);
    const c = cases.find((k) => k.d[0] > 1 && k.d[1] > 1) as Case;
    await tf.setBackend('cpu');
    const ref = lossAndGrads(c, reference(c));
    await tf.setBackend('wasm');
    let ours: ReturnType<typeof lossAndGrads> | undefined;
    const info = await tf.profile(() => {
      ours = lossAndGrads(c, direct(c));
    });
    const names = info.kernels.map((k) => k.name);
    expect(names.filter((n) => n === 'Conv2DBackpropFilter')).toHaveLength(1);
    // The only transpose left is dX's flipped filter; none of x or dy (the old dW formulation transposed both).
    const transposed = info.kernels.filter((k) => k.name === 'Transpose').map((k) => k.inputShapes[0]);
    expect(transposed).toEqual([[c.k[0], c.k[1], CI, CO]]);
    expect(relativeError((ours as NonNullable<typeof ours>).dw, ref.dw)).toBeLessThan(1e-4);
  });
});

describe('Conv2D gradient registration', () => {
  it('rate 2, valid, 2×2 ones filter on the 4×4 ramp 1..16: dX all ones, dW = [14, 22, 46, 54] (hand sums)', async () => {
    await tf.setBackend('cpu');
    // y[oi, oj] = Σ_{u,v} x[oi + 2u, oj + 2v] for oi, oj ∈ {0, 1}; L = Σ y. Each x pixel feeds exactly one output, so
    // dL/dx = 1; dL/dw[u, v] = Σ_{oi, oj} x[oi + 2u, oj + 2v]: (1+2+5+6, 3+4+7+8, 9+10+13+14, 11+12+15+16).
    const x = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => i + 1),
      [1, 4, 4, 1],
    );
    const w = tf.ones([2, 2, 1, 1]) as T4;
    const [dx, dw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.conv2d(a as T4, b as T4, 1, 'valid', 'NHWC', 2)),
    )([x, w]);
    expect(Array.from(dx.dataSync())).toEqual(new Array(16).fill(1));
    expect(Array.from(dw.dataSync())).toEqual([14, 22, 46, 54]);
    tf.dispose([x, w, dx, dw]);
  });

  it('equals the spaceToBatchND / batchToSpaceND formulation (rate 2 and 3, same)', async () => {
    await tf.setBackend('cpu');
    for (const r of [2, 3]) {
      const c: Case = { h: 6 * r, w: 4 * r, k: [3, 3], d: [r, r], pad: 'same' };
      const ours = lossAndGrads(c, direct(c));
      const s2b = lossAndGrads(c, (x, w) => atrousConv2dSpaceToBatch(x, w, r));
      expect(relativeError(ours.dx, s2b.dx)).toBeLessThan(1e-4);
      expect(relativeError(ours.dw, s2b.dw)).toBeLessThan(1e-4);
    }
  });

  it('keeps tfjs gradient for dilation 1 (bit-identical, strides 1 and 2) and is idempotent', async () => {
    await tf.setBackend('cpu');
    const plain = [1, 2].map((s) => ({
      h: 7,
      w: 9,
      k: [3, 3] as [number, number],
      d: [1, 1] as [number, number],
      pad: 'same' as const,
      s,
    }));
    const run = () => plain.map((c) => lossAndGrads(c, (x, w) => tf.conv2d(x, w, c.s, c.pad)));
    const withOurs = run();
    unregisterTrainingGradients();
    expect(hasDilatedConv2dGradient()).toBe(false);
    const withTfjs = run();
    expect(registerTrainingGradients()).toEqual(['Conv2D', 'FusedBatchNorm', 'Relu']);
    expect(registerTrainingGradients()).toEqual([]);
    expect(hasDilatedConv2dGradient()).toBe(true);
    for (let i = 0; i < plain.length; i++) {
      expect(Array.from(withOurs[i].dx)).toEqual(Array.from(withTfjs[i].dx));
      expect(Array.from(withOurs[i].dw)).toEqual(Array.from(withTfjs[i].dw));
    }
  });

  it('tfjs alone refuses the dilated gradient (why this exists)', async () => {
    await tf.setBackend('cpu');
    unregisterTrainingGradients();
    try {
      const c = cases[0];
      expect(() => lossAndGrads(c, direct(c))).toThrow(/dilation rates greater than 1/);
    } finally {
      registerTrainingGradients();
    }
  });

  it('without tfjs gradient (no original) still differentiates dilation 1, stride 1 and 2', async () => {
    await tf.setBackend('cpu');
    const bare = dilatedConv2dGradConfig(undefined);
    for (const s of [1, 2]) {
      const c = { h: 7, w: 9, k: [3, 3] as [number, number], d: [1, 1] as [number, number], pad: 'same' as const };
      const ref = lossAndGrads(c, (x, w) => tf.conv2d(x, w, s, 'same'));
      tf.registerGradient(bare);
      try {
        const ours = lossAndGrads(c, (x, w) => tf.conv2d(x, w, s, 'same'));
        expect(relativeError(ours.dx, ref.dx)).toBeLessThan(1e-5);
        expect(relativeError(ours.dw, ref.dw)).toBeLessThan(1e-5);
      } finally {
        unregisterTrainingGradients();
        registerTrainingGradients();
      }
    }
  });

  it('says what it cannot do: NCHW with dilation', async () => {
    await tf.setBackend('cpu');
    const gradFunc = tf.getGradient('Conv2D')!.gradFunc;
    const x = tf.zeros([1, 5, 5, 2]);
    const w = tf.zeros([3, 3, 2, 2]);
    const dy = tf.zeros([1, 5, 5, 2]);
    expect(() => gradFunc(dy, [x, w], { strides: 1, pad: 'same', dataFormat: 'NCHW', dilations: 2 } as never)).toThrow(
      /dataFormat 'NCHW'.*use 'NHWC'/,
    );
    tf.dispose([x, w, dy]);
  });

  it('does not leak', async () => {
    await tf.setBackend('cpu');
    const c = cases[3];
    const { x, w } = inputs(c);
    const before = tf.memory().numTensors;
    const g = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(direct(c)(a as T4, b as T4)))([x, w]);
    tf.dispose(g);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w]);
  });
});
