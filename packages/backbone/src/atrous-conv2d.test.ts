import * as tf from '@tensorflow/tfjs-core';
import { input, loadLayersModel, model } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
// biome-ignore lint/correctness/useImportExtensions: a JSON file keeps its own extension
import fixture from '../fixtures/atrous.json';
import { expectNoLeak, memoryStore, relError } from '../test/helpers.js';
import { AtrousConv2D, atrousConv2d, hasDilatedConv2dGradient } from './atrous-conv2d.js';

describe('atrousConv2d', () => {
  // tf.conv2d computes dilated convolutions forward on the cpu backend (only its gradient refuses dilation > 1).
  const cases: [number, number, number, number, number, number, 'same' | 'valid'][] = [
    // h, w, ci, co, k, rate, padding
    [7, 9, 3, 4, 3, 2, 'same'],
    [11, 5, 2, 3, 3, 3, 'same'],
    [13, 15, 2, 2, 3, 4, 'same'],
    [5, 5, 2, 2, 3, 6, 'same'], // rate larger than the map: only the centre tap sees data
    [9, 13, 3, 2, 3, 2, 'valid'],
    [15, 11, 2, 3, 3, 3, 'valid'],
    [9, 7, 2, 2, 2, 3, 'same'],
    [6, 8, 1, 1, 1, 5, 'same'],
  ];
  for (const [h, w, ci, co, k, rate, padding] of cases) {
    it(`matches tf.conv2d dilation forward: ${h}×${w}, ${ci}→${co}, k=${k}, r=${rate}, ${padding}`, () => {
      tf.tidy(() => {
        const x = tf.randomNormal([2, h, w, ci], 0, 1, 'float32', 1) as tf.Tensor4D;
        const f = tf.randomNormal([k, k, ci, co], 0, 1, 'float32', 2) as tf.Tensor4D;
        const ours = atrousConv2d(x, f, rate, padding);
        const ref = tf.conv2d(x, f, 1, padding, 'NHWC', rate);
        expect(ours.shape).toEqual(ref.shape);
        expect(relError(ours.dataSync(), ref.dataSync())).toBeLessThan(1e-4);
      });
    });
  }

  for (const c of fixture.cases) {
    it(`forward and gradients match PyTorch: ${c.h}×${c.w}, k=${c.k}, r=${c.rate}, ${c.padding}`, () => {
      tf.tidy(() => {
        const x = tf.tensor4d(c.x, [c.n, c.h, c.w, c.ci]);
        const f = tf.tensor4d(c.filter, [c.k, c.k, c.ci, c.co]);
        const up = tf.tensor4d(c.upstream, c.yShape as [number, number, number, number]);
        const y = atrousConv2d(x, f, c.rate, c.padding as 'same' | 'valid');
        expect(y.shape).toEqual(c.yShape);
        expect(relError(y.dataSync(), c.y)).toBeLessThan(1e-4);
        const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
          tf.sum(tf.mul(atrousConv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.rate, c.padding as 'same' | 'valid'), up)),
        )([x, f]);
        expect(relError(dx.dataSync(), c.dx)).toBeLessThan(1e-4);
        expect(relError(df.dataSync(), c.dfilter)).toBeLessThan(1e-4);
      });
    });
  }

  it('rejects bad rates, channel mismatches and too-small valid inputs', () => {
    tf.tidy(() => {
      const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
      const f = tf.zeros([3, 3, 2, 1]) as tf.Tensor4D;
      expect(() => atrousConv2d(x, f, 0)).toThrow(/rate/);
      expect(() => atrousConv2d(x, tf.zeros([3, 3, 3, 1]) as tf.Tensor4D, 2)).toThrow(/channels/);
      expect(() => atrousConv2d(x, f, 3, 'valid')).toThrow(/smaller than the dilated kernel 7×7/);
    });
  });

  it('does not leak', () => {
    const x = tf.ones([1, 7, 7, 2]) as tf.Tensor4D;
    const f = tf.ones([3, 3, 2, 2]) as tf.Tensor4D;
    expectNoLeak(() => atrousConv2d(x, f, 2).dispose());
    expectNoLeak(() =>
      tf
        .grad((a: tf.Tensor) => tf.sum(atrousConv2d(a as tf.Tensor4D, f, 3)))(x)
        .dispose(),
    );
    tf.dispose([x, f]);
  });
});

/**
 * A dilation-aware Conv2D gradient written independently of both paths: the dilated filter with its zeros written
 * out (W'[u·r, v·r] = W[u, v]) is an ordinary conv, differentiated by tfjs's own (dilation-1) gradient, and
 * ∂L/∂W is read off ∂L/∂W' at the taps. Carries the
 * marker @road/backend's gradient carries, so atrousConv2d's 'auto' picks the direct path while it is registered.
 */
function withDilatedGradient(run: () => void): void {
  const tfjs = tf.getGradient('Conv2D')!;
  const zeroInserted = (f: tf.Tensor4D, [dh, dw]: number[]) => {
    const [kh, kw, ci, co] = f.shape;
    const padded = tf.pad(tf.reshape(f, [kh, 1, kw, 1, ci, co]), [
      [0, 0],
      [0, dh - 1],
      [0, 0],
      [0, dw - 1],
      [0, 0],
      [0, 0],
    ]);
    return tf.slice(tf.reshape(padded, [kh * dh, kw * dw, ci, co]), 0, [(kh - 1) * dh + 1, (kw - 1) * dw + 1, ci, co]);
  };
  const config = {
    kernelName: 'Conv2D',
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs: tf.NamedAttrMap) => {
      const d = attrs.dilations as number | number[];
      const dilations = typeof d === 'number' ? [d, d] : d;
      if (dilations.every((v) => v === 1)) return tfjs.gradFunc(dy, saved, attrs);
      const [x, f] = saved as tf.Tensor4D[];
      const wide = zeroInserted(f, dilations);
      const g = tfjs.gradFunc(dy, [x, wide], { ...attrs, dilations: 1 });
      return {
        x: g.x,
        // ∂L/∂W[u, v] = ∂L/∂W'[u·r, v·r]
        filter: () => tf.stridedSlice(g.filter(), [0, 0, 0, 0], wide.shape, [dilations[0], dilations[1], 1, 1]),
      };
    },
    [Symbol.for('@road/backend:conv2d-gradient-dilations')]: true,
  };
  tf.registerGradient(config as tf.GradConfig);
  try {
    run();
  } finally {
    tf.registerGradient(tfjs);
  }
}

describe('atrousConv2d: direct dilated conv and spaceToBatchND agree', () => {
  const agreeCases: [number, number, number, number, 'same' | 'valid'][] = [
    // h, w, k, rate, padding
    [7, 9, 3, 2, 'same'],
    [11, 10, 3, 3, 'same'],
    [9, 13, 3, 2, 'valid'],
    [15, 11, 3, 3, 'valid'],
    [9, 7, 2, 3, 'same'],
  ];
  it('uses the direct path only while a dilation-aware Conv2D gradient is registered', async () => {
    const x = tf.randomNormal([1, 9, 9, 2], 0, 1, 'float32', 1) as tf.Tensor4D;
    const f = tf.randomNormal([3, 3, 2, 2], 0, 1, 'float32', 2) as tf.Tensor4D;
    const kernelsOf = async () => (await tf.profile(() => atrousConv2d(x, f, 2))).kernels.map((k) => k.name);
    expect(hasDilatedConv2dGradient()).toBe(false);
    expect(await kernelsOf()).toContain('SpaceToBatchND');
    let direct: string[] = [];
    let flag = false;
    withDilatedGradient(() => {
      flag = hasDilatedConv2dGradient();
    });
    const tfjs = tf.getGradient('Conv2D')!;
    tf.registerGradient({ ...tfjs, [Symbol.for('@road/backend:conv2d-gradient-dilations')]: true } as tf.GradConfig);
    try {
      direct = await kernelsOf();
    } finally {
      tf.registerGradient(tfjs);
    }
    expect(flag).toBe(true);
    expect(direct).toEqual(['Conv2D']);
    expect(hasDilatedConv2dGradient()).toBe(false);
    tf.dispose([x, f]);
  });

  for (const [h, w, k, rate, padding] of agreeCases) {
    it(`forward and gradients: ${h}×${w}, k=${k}, r=${rate}, ${padding}`, () => {
      const x = tf.randomNormal([2, h, w, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
      const f = tf.randomNormal([k, k, 3, 4], 0, 1, 'float32', 4) as tf.Tensor4D;
      const run = (method: 'direct' | 'space-to-batch') =>
        tf.tidy(() => {
          const y = atrousConv2d(x, f, rate, padding, method);
          const up = tf.randomNormal(y.shape, 0, 1, 'float32', 5);
          const [dx, df] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
            tf.sum(tf.mul(atrousConv2d(a as tf.Tensor4D, b as tf.Tensor4D, rate, padding, method), up)),
          )([x, f]);
          return { y: y.dataSync(), dx: dx.dataSync(), df: df.dataSync(), shape: y.shape };
        });
      const s2b = run('space-to-batch');
      let direct = s2b;
      withDilatedGradient(() => {
        direct = run('direct');
      });
      expect(direct.shape).toEqual(s2b.shape);
      expect(relError(direct.y, s2b.y)).toBeLessThan(1e-5);
      expect(relError(direct.dx, s2b.dx)).toBeLessThan(1e-4);
      expect(relError(direct.df, s2b.df)).toBeLessThan(1e-4);
      tf.dispose([x, f]);
    });
  }

  it('rejects an unknown method', () => {
    const x = tf.zeros([1, 5, 5, 2]) as tf.Tensor4D;
    const f = tf.zeros([3, 3, 2, 1]) as tf.Tensor4D;
    expect(() => atrousConv2d(x, f, 2, 'same', 'fast' as 'auto')).toThrow(/method/);
    tf.dispose([x, f]);
  });
});

describe('AtrousConv2D layer', () => {
  it('computes bias + relu on top of atrousConv2d and reports its output shape', () => {
    const layer = new AtrousConv2D({
      filters: 3,
      kernelSize: 3,
      dilationRate: 2,
      padding: 'valid',
      activation: 'relu',
      seed: 1,
    });
    const x = tf.randomNormal([1, 9, 8, 2], 0, 1, 'float32', 3) as tf.Tensor4D;
    const y = layer.apply(x) as tf.Tensor4D;
    expect(layer.computeOutputShape([null, 9, 8, 2])).toEqual([null, 5, 4, 3]);
    expect(layer.computeOutputShape([null, null, null, 2])).toEqual([null, null, null, 3]);
    expect(y.shape).toEqual([1, 5, 4, 3]);
    layer.setWeights([tf.randomNormal([3, 3, 2, 3], 0, 1, 'float32', 4), tf.tensor1d([0.5, -0.5, 0])]);
    const [k, b] = layer.getWeights();
    const y2 = layer.apply(x) as tf.Tensor4D;
    const ref = tf.relu(tf.add(tf.conv2d(x, k as tf.Tensor4D, 1, 'valid', 'NHWC', 2), b));
    expect(relError(y2.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
    expect(layer.weights.map((w) => w.originalName.split('/').pop())).toEqual(['kernel', 'bias']);
    tf.dispose([x, y, y2, ref]);
    layer.dispose();
  });

  it('round-trips through tfjs serialisation (config and saved model)', async () => {
    const layer = new AtrousConv2D({ filters: 2, kernelSize: [3, 3], dilationRate: 3, name: 'aconv', seed: 9 });
    const config = layer.getConfig();
    const copy = AtrousConv2D.fromConfig(AtrousConv2D, config) as AtrousConv2D;
    expect(copy.getConfig()).toEqual(config);
    expect(config).toMatchObject({ filters: 2, kernelSize: [3, 3], dilationRate: 3, padding: 'same', useBias: true });

    const inp = input({ shape: [null, null, 2] });
    const m = model({ inputs: inp, outputs: layer.apply(inp) as never });
    const store = memoryStore();
    await m.save(store.handler);
    expect(JSON.stringify(store.artifacts().modelTopology)).toContain('"class_name":"AtrousConv2D"');
    const loaded = await loadLayersModel(tf.io.fromMemory(store.artifacts()));
    const x = tf.randomNormal([1, 7, 6, 2], 0, 1, 'float32', 5);
    const a = m.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    expect(loaded.getLayer('aconv')).toBeInstanceOf(AtrousConv2D);
    expect(b.shape).toEqual([1, 7, 6, 2]);
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([x, a, b]);
    m.dispose();
    loaded.dispose();
  });

  it('rejects invalid configs', () => {
    expect(() => new AtrousConv2D({ filters: 0, kernelSize: 3, dilationRate: 2 })).toThrow(/filters/);
    expect(() => new AtrousConv2D({ filters: 1, kernelSize: 3, dilationRate: 1.5 })).toThrow(/dilationRate/);
    expect(() => new AtrousConv2D({ filters: 1, kernelSize: 3, dilationRate: 2, padding: 'causal' as 'same' })).toThrow(
      /padding/,
    );
  });
});
