import * as tf from '@tensorflow/tfjs-core';
import { input, loadLayersModel, model } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import fixture from '../fixtures/atrous.json';
import { expectNoLeak, memoryStore, relError } from '../test/helpers';
import { AtrousConv2D, atrousConv2d } from './atrous-conv2d';

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
