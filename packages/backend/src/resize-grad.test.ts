import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from './init-backend.js';
import { bilinearTaps } from './resize-grad.js';
import { relativeError } from './testing.js';

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});
afterAll(async () => {
  await tf.setBackend('cpu');
});

type Mode = { alignCorners: boolean; halfPixelCenters: boolean };
const modes: Mode[] = [
  { alignCorners: false, halfPixelCenters: false },
  { alignCorners: true, halfPixelCenters: false },
  { alignCorners: false, halfPixelCenters: true },
];
const sizes: [number, number][] = [
  [4, 6], // ×2, non-square input 2×3
  [5, 7], // non-integer factors
  [2, 2], // downsampling
];

/**
 * The gradient of a linear map is its adjoint: ∂/∂x_k Σ resize(x)·r = Σ resize(e_k)·r. Computed with
 * the FORWARD kernel on each basis image e_k — independent of any gradient kernel.
 */
function adjointByForward(
  kind: 'bilinear' | 'nearest',
  shape: number[],
  size: [number, number],
  mode: Mode,
  r: tf.Tensor,
): number[] {
  const n = tf.util.sizeFromShape(shape);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    out.push(
      tf.tidy(() => {
        const basis = new Float32Array(n);
        basis[k] = 1;
        const e = tf.tensor4d(basis, shape as [number, number, number, number]);
        const y =
          kind === 'bilinear'
            ? tf.image.resizeBilinear(e, size, mode.alignCorners, mode.halfPixelCenters)
            : tf.image.resizeNearestNeighbor(e, size, mode.alignCorners, mode.halfPixelCenters);
        return tf.sum(tf.mul(y, r)).dataSync()[0];
      }),
    );
  }
  return out;
}

describe('resize gradients equal the adjoint of the forward resize (cpu and wasm)', () => {
  const cases: [string, 'bilinear' | 'nearest', string, [number, number], Mode][] = [];
  for (const backend of ['cpu', 'wasm']) {
    for (const kind of ['bilinear', 'nearest'] as const) {
      for (const size of sizes) {
        for (const mode of modes) {
          cases.push([`${backend} ${kind} 2×3 → ${size.join('×')} ${JSON.stringify(mode)}`, kind, backend, size, mode]);
        }
      }
    }
  }
  it.each(cases)('%s', async (_name, kind, backend, size, mode) => {
    await tf.setBackend(backend);
    const shape = [2, 2, 3, 2];
    const r = tf.randomUniform([2, ...size, 2], -1, 1, 'float32', 3);
    const expected = adjointByForward(kind, shape, size, mode, r);
    const grad = tf.tidy(() => {
      const f = (x: tf.Tensor) =>
        tf.sum(
          tf.mul(
            kind === 'bilinear'
              ? tf.image.resizeBilinear(x as tf.Tensor4D, size, mode.alignCorners, mode.halfPixelCenters)
              : tf.image.resizeNearestNeighbor(x as tf.Tensor4D, size, mode.alignCorners, mode.halfPixelCenters),
            r,
          ),
        );
      const g = tf.grad(f)(tf.zeros(shape));
      expect(g.shape).toEqual(shape);
      return g.dataSync();
    });
    r.dispose();
    expect(relativeError(grad, expected)).toBeLessThan(1e-5);
  });
});

describe('bilinear taps (hand arithmetic)', () => {
  it('half-pixel ×2 upsampling of [a, b] is [a, ¾a+¼b, ¼a+¾b, b] (PyTorch align_corners=False)', () => {
    const taps = bilinearTaps(2, 4, false, true);
    const weights = taps.map((t) => {
      const row = [0, 0];
      row[t.i0] += t.w0;
      row[t.i1] += t.w1;
      return row;
    });
    expect(weights).toEqual([
      [1, 0],
      [0.75, 0.25],
      [0.25, 0.75],
      [0, 1],
    ]);
  });

  it('so the gradient of dy = [1, 2, 3, 4] is [1 + ¾·2 + ¼·3, ¼·2 + ¾·3 + 4] = [3.25, 6.75] on both backends', async () => {
    for (const backend of ['cpu', 'wasm']) {
      await tf.setBackend(backend);
      const g = tf.tidy(() =>
        tf
          .grad((x: tf.Tensor) =>
            tf.sum(
              tf.mul(
                tf.image.resizeBilinear(x as tf.Tensor4D, [1, 4], false, true),
                tf.tensor4d([1, 2, 3, 4], [1, 1, 4, 1]),
              ),
            ),
          )(tf.zeros([1, 1, 2, 1]))
          .dataSync(),
      );
      expect(Array.from(g)).toEqual([3.25, 6.75]);
    }
  });

  it('a non-square bilinear gradient keeps its [N, H, W, C] shape on cpu', async () => {
    await tf.setBackend('cpu');
    const x = tf.zeros([2, 4, 5, 3]);
    const before = tf.memory().numTensors;
    const g = tf.grad((v: tf.Tensor) => tf.sum(tf.image.resizeBilinear(v as tf.Tensor4D, [8, 10])))(x);
    expect(g.shape).toEqual([2, 4, 5, 3]);
    g.dispose();
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });
});
