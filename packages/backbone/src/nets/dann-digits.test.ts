import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
// biome-ignore lint/correctness/useImportExtensions: a JSON file keeps its own extension
import fixture from '../../fixtures/dann_digits.json';
import { createSegmentationNet } from '../segmentation-net.js';
import { DANN_DIGITS_FEATURES } from './dann-digits.js';

/** Closed-form weights of fixtures/make_dann_digits.py, in PyTorch layout (OIHW / [out, in]), parameter k. */
function torchWeight(k: number, count: number, fanIn: number): Float64Array {
  const w = new Float64Array(count);
  for (let i = 0; i < count; i++) w[i] = Math.sin(0.37 * i + k) / Math.sqrt(fanIn);
  return w;
}
function torchBias(k: number, count: number): Float32Array {
  const b = new Float32Array(count);
  for (let i = 0; i < count; i++) b[i] = 0.05 * Math.cos(0.5 * i + k);
  return b;
}

/** OIHW → HWIO. */
function hwio(w: Float64Array, o: number, i: number, kh: number, kw: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++)
    for (let b = 0; b < i; b++)
      for (let y = 0; y < kh; y++)
        for (let x = 0; x < kw; x++) out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x];
  return out;
}

describe('dann-digits (the DANN paper digits net)', () => {
  it('has 28×28 → 4×4×48 (768) features and [N, 1, 1, 10] logits', () => {
    const net = createSegmentationNet('dann-digits', { numClasses: 10, seed: 1 });
    tf.tidy(() => {
      const x = tf.zeros([3, 28, 28, 3]) as tf.Tensor4D;
      const f = net.features(x);
      expect(f.shape).toEqual([3, 4, 4, 48]);
      expect(f.shape[1] * f.shape[2] * f.shape[3]).toBe(DANN_DIGITS_FEATURES);
      expect(net.logits(x).shape).toEqual([3, 1, 1, 10]);
      expect(net.logitsFromFeatures(f).shape).toEqual([3, 1, 1, 10]);
    });
    expect(net.featureChannels).toBe(48);
    net.dispose();
  });

  it('has as many parameters as the PyTorch twin (128,890)', () => {
    const net = createSegmentationNet('dann-digits', { numClasses: 10, seed: 1 });
    // conv1 5·5·3·32+32, conv2 5·5·32·48+48, fc1 768·100+100, fc2 100·100+100, fc3 100·10+10.
    expect(fixture.params).toBe(2432 + 38448 + 76900 + 10100 + 1010);
    expect(net.countParams()).toBe(fixture.params);
    expect(fixture.domainHeadParams).toBe(768 * 100 + 100 + 100 + 1);
    net.dispose();
  });

  it('computes the PyTorch forward (features and logits) with the same weights', () => {
    const net = createSegmentationNet('dann-digits', { numClasses: 10, seed: 1 });
    const specs: Array<{ layer: string; kernel: () => Float32Array; bias: number }> = [
      { layer: 'conv1', kernel: () => hwio(torchWeight(0, 32 * 3 * 25, 75), 32, 3, 5, 5), bias: 32 },
      { layer: 'conv2', kernel: () => hwio(torchWeight(1, 48 * 32 * 25, 800), 48, 32, 5, 5), bias: 48 },
      {
        // Linear(768, 100) on the CHW flattening → 4×4 conv on HWC features: K[h, w, c, o] = W[o, c·16 + h·4 + w].
        layer: 'fc1',
        kernel: () => {
          const w = torchWeight(2, 100 * 768, 768);
          const k = new Float32Array(w.length);
          for (let o = 0; o < 100; o++)
            for (let c = 0; c < 48; c++)
              for (let h = 0; h < 4; h++)
                for (let x = 0; x < 4; x++) k[((h * 4 + x) * 48 + c) * 100 + o] = w[o * 768 + c * 16 + h * 4 + x];
          return k;
        },
        bias: 100,
      },
      { layer: 'fc2', kernel: () => hwio(torchWeight(3, 100 * 100, 100), 100, 100, 1, 1), bias: 100 },
      { layer: 'fc3', kernel: () => hwio(torchWeight(4, 10 * 100, 100), 10, 100, 1, 1), bias: 10 },
    ];
    specs.forEach((s, k) => {
      const layer = (s.layer.startsWith('conv') ? net.backbone : net.head).getLayer(s.layer);
      const [kw, bw] = layer.getWeights();
      const vals = [tf.tensor(s.kernel(), kw.shape), tf.tensor(torchBias(k, s.bias), bw.shape)];
      layer.setWeights(vals);
      tf.dispose(vals);
    });
    const x = new Float32Array(2 * 3 * 28 * 28);
    const xs = new Float32Array(x.length);
    for (let j = 0; j < x.length; j++) x[j] = 0.5 * Math.sin(0.013 * j) + 0.3 * Math.cos(0.07 * j);
    for (let n = 0; n < 2; n++)
      for (let c = 0; c < 3; c++) for (let p = 0; p < 784; p++) xs[(n * 784 + p) * 3 + c] = x[(n * 3 + c) * 784 + p];
    tf.tidy(() => {
      const input = tf.tensor4d(xs, [2, 28, 28, 3]);
      const f = net.features(input).dataSync();
      const logits = net.logits(input).dataSync();
      expect(f.length).toBe(fixture.featuresNhwc.length);
      let errF = 0;
      for (let i = 0; i < f.length; i++) errF = Math.max(errF, Math.abs(f[i] - fixture.featuresNhwc[i]));
      let errL = 0;
      for (let i = 0; i < logits.length; i++) errL = Math.max(errL, Math.abs(logits[i] - fixture.logits[i]));
      expect(logits.length).toBe(20);
      expect(errF).toBeLessThan(1e-5);
      expect(errL).toBeLessThan(2e-6); // logits are ~0.03: a transposed fc1 or a missed bias is far outside this
    });
    net.dispose();
  });

  it('is deterministic from the seed and leaks no tensor in a forward', () => {
    const a = createSegmentationNet('dann-digits', { numClasses: 10, seed: 7 });
    const b = createSegmentationNet('dann-digits', { numClasses: 10, seed: 7 });
    const x = tf.randomUniform([2, 28, 28, 3], -0.5, 0.5, 'float32', 3) as tf.Tensor4D;
    const before = tf.memory().numTensors;
    const la = a.logits(x);
    const lb = b.logits(x);
    expect(Array.from(la.dataSync())).toEqual(Array.from(lb.dataSync()));
    tf.dispose([la, lb]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(x);
    a.dispose();
    b.dispose();
  });

  it('refuses options the paper net does not have', () => {
    expect(() => createSegmentationNet('dann-digits', { numClasses: 10, widthMultiplier: 2 })).toThrow(
      /widthMultiplier is not supported/,
    );
    expect(() => createSegmentationNet('dann-digits', { numClasses: 10, outputStride: 8 })).toThrow(
      /outputStride must be 4/,
    );
    expect(() => createSegmentationNet('dann-digits', { numClasses: 10, attention: 'hydraplus' })).toThrow(
      /attention is not supported/,
    );
    expect(() => createSegmentationNet('dann-digits', { numClasses: 10, depth: 50 })).toThrow(/unknown option 'depth'/);
  });
});
