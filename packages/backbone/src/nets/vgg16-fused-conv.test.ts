import * as tf from '@tensorflow/tfjs-core';
import { layers } from '@tensorflow/tfjs-layers';
import { describe, expect, it } from 'vitest';
import { conv2dBiasRelu, fuseConvRelu } from './vgg16-fused-conv.js';

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

describe('conv2dBiasRelu', () => {
  it('hand arithmetic: 1×1 conv w = 3, b = 1 on x = [1, −2]: y = relu(3x + 1) = [4, 0]; ∂Σy/∂(x, w, b) = ([3, 0], 1, 1)', () => {
    const x = tf.tensor4d([1, -2], [1, 1, 2, 1]);
    const w = tf.tensor4d([3], [1, 1, 1, 1]);
    const b = tf.tensor1d([1]);
    const before = tf.memory().numTensors;
    const y = conv2dBiasRelu(x, w, b);
    expect(Array.from(y.dataSync())).toEqual([4, 0]);
    const [gx, gw, gb] = tf.grads((a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
      tf.sum(conv2dBiasRelu(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D)),
    )([x, w, b]);
    expect(Array.from(gx.dataSync())).toEqual([3, 0]); // w where y > 0, 0 where the ReLU is off
    expect(Array.from(gw.dataSync())).toEqual([1]); // Σ x over positions with y > 0: x = 1 only
    expect(Array.from(gb.dataSync())).toEqual([1]); // number of positions with y > 0
    tf.dispose([y, gx, gw, gb]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b]);
  });

  it('equals conv2d → add → relu (float32 rounding) and tf.fused.conv2d (exactly); so do its gradients (3×3, 2×6×5×4 → 3)', () => {
    const x = tf.randomUniform([2, 6, 5, 4], -1, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomUniform([3, 3, 4, 3], -0.5, 0.5, 'float32', 2) as tf.Tensor4D;
    const b = tf.randomUniform([3], -0.3, 0.3, 'float32', 3) as tf.Tensor1D;
    const dy = tf.randomUniform([2, 6, 5, 3], -1, 1, 'float32', 4);
    const before = tf.memory().numTensors;
    const unfused = (a: tf.Tensor4D, c: tf.Tensor4D, d: tf.Tensor1D) => tf.relu(tf.add(tf.conv2d(a, c, 1, 'same'), d));
    tf.tidy(() => {
      const ours = conv2dBiasRelu(x, w, b);
      expect(maxRelErr(ours.dataSync(), unfused(x, w, b).dataSync())).toBeLessThan(1e-6);
      const fused = tf.fused.conv2d({ x, filter: w, bias: b, strides: 1, pad: 'same', activation: 'relu' });
      expect(Array.from(ours.dataSync())).toEqual(Array.from(fused.dataSync()));
      const loss = (f: typeof unfused) => (a: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.sum(tf.mul(f(a as tf.Tensor4D, c as tf.Tensor4D, d as tf.Tensor1D), dy));
      const g = tf.grads(loss(conv2dBiasRelu))([x, w, b]);
      const ref = tf.grads(loss(unfused))([x, w, b]);
      for (let i = 0; i < 3; i++) {
        expect(g[i].shape).toEqual(ref[i].shape);
        expect(maxRelErr(g[i].dataSync(), ref[i].dataSync()), ['x', 'w', 'b'][i]).toBeLessThan(1e-5);
      }
      expect(g[1].dataSync().some((v) => v !== 0)).toBe(true);
    });
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, w, b, dy]);
  });

  it('refuses shapes that do not fit', () => {
    const x = tf.zeros([1, 4, 4, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 5]) as tf.Tensor4D;
    const b = tf.zeros([5]) as tf.Tensor1D;
    expect(() => conv2dBiasRelu(x, w, b)).toThrow(/do not fit/);
    tf.dispose([x, w, b]);
  });
});

describe('fuseConvRelu', () => {
  it('keeps the layer, its weights and config; output equals the stock layer', () => {
    const make = () =>
      layers.conv2d({
        name: 'c1',
        filters: 3,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: 'glorotUniform',
      });
    const stock = make();
    const fused = make();
    const x = tf.randomUniform([1, 5, 4, 2], -1, 1, 'float32', 9);
    tf.dispose(stock.apply(x) as tf.Tensor); // builds
    tf.dispose(fused.apply(x) as tf.Tensor);
    fused.setWeights(stock.getWeights());
    expect(fuseConvRelu(fused)).toBe(fused);
    expect(fused.getConfig()).toEqual(stock.getConfig());
    expect(fused.getWeights().map((t) => t.shape)).toEqual([[3, 3, 2, 3], [3]]);
    tf.tidy(() => {
      expect(Array.from((fused.apply(x) as tf.Tensor).dataSync())).toEqual(
        Array.from((stock.apply(x) as tf.Tensor).dataSync()),
      );
    });
    tf.dispose([x]);
    stock.dispose();
    fused.dispose();
  });

  it('refuses a conv with stride 2 or without ReLU, naming the layer', () => {
    expect(() =>
      fuseConvRelu(
        layers.conv2d({ name: 's2', filters: 2, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu' }),
      ),
    ).toThrow(/'s2'/);
    expect(() => fuseConvRelu(layers.conv2d({ name: 'lin', filters: 2, kernelSize: 3, padding: 'same' }))).toThrow(
      /'lin'/,
    );
  });
});
