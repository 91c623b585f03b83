import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
// biome-ignore lint/correctness/useImportExtensions: a JSON file keeps its own extension
import fixture from '../fixtures/resize.json';
import { expectNoLeak, relError } from '../test/helpers.js';
import { bilinearMatrix, resizeBilinear } from './resize-bilinear.js';

describe('bilinearMatrix', () => {
  it('half-pixel upsampling 2 → 4 by hand', () => {
    // src = (o + 0.5)·2/4 − 0.5 = −0.25, 0.25, 0.75, 1.25 → clamp 0; then lerp between 0 and 1 (1 is the last index)
    expect(Array.from(bilinearMatrix(2, 4))).toEqual([1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  });
  it('align-corners 3 → 5 by hand', () => {
    // src = o·2/4 = 0, 0.5, 1, 1.5, 2
    expect(Array.from(bilinearMatrix(3, 5, { alignCorners: true }))).toEqual([
      1, 0, 0, 0.5, 0.5, 0, 0, 1, 0, 0, 0.5, 0.5, 0, 0, 1,
    ]);
  });
  it('rejects bad sizes and contradictory options', () => {
    expect(() => bilinearMatrix(0, 3)).toThrow(/inSize/);
    expect(() => bilinearMatrix(3, 2.5)).toThrow(/outSize/);
    expect(() => bilinearMatrix(3, 3, { alignCorners: true, halfPixelCenters: true })).toThrow(/both/);
  });
});

describe('resizeBilinear', () => {
  for (const c of fixture.cases) {
    it(`forward and gradient match PyTorch F.interpolate: ${c.h}×${c.w} → ${c.oh}×${c.ow}, alignCorners=${c.alignCorners}`, () => {
      tf.tidy(() => {
        const x = tf.tensor4d(c.x, [c.n, c.h, c.w, c.c]);
        const up = tf.tensor4d(c.upstream, [c.n, c.oh, c.ow, c.c]);
        const opts = { alignCorners: c.alignCorners };
        const y = resizeBilinear(x, [c.oh, c.ow], opts);
        expect(y.shape).toEqual([c.n, c.oh, c.ow, c.c]);
        expect(relError(y.dataSync(), c.y)).toBeLessThan(1e-5);
        const dx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(resizeBilinear(a as tf.Tensor4D, [c.oh, c.ow], opts), up)))(
          x,
        );
        expect(relError(dx.dataSync(), c.dx)).toBeLessThan(1e-5);
      });
    });
  }

  it('equals tf.image.resizeBilinear forward (half-pixel, legacy and align-corners rules)', () => {
    tf.tidy(() => {
      const x = tf.randomNormal([2, 5, 7, 3], 0, 1, 'float32', 11) as tf.Tensor4D;
      for (const [h, w] of [
        [9, 13],
        [3, 4],
        [5, 10],
      ] as [number, number][]) {
        for (const [ac, hp] of [
          [false, true],
          [false, false],
          [true, false],
        ]) {
          const ours = resizeBilinear(x, [h, w], { alignCorners: ac, halfPixelCenters: hp });
          const ref = tf.image.resizeBilinear(x, [h, w], ac, hp);
          expect(relError(ours.dataSync(), ref.dataSync())).toBeLessThan(1e-5);
        }
      }
    });
  });

  it('returns a copy when the size does not change, and does not leak', () => {
    const x = tf.ones([1, 3, 3, 1]) as tf.Tensor4D;
    const y = resizeBilinear(x, [3, 3]);
    expect(y).not.toBe(x);
    y.dispose();
    expect(x.isDisposed).toBe(false);
    expectNoLeak(() => resizeBilinear(x, [5, 2]).dispose());
    expectNoLeak(() =>
      tf
        .grad((a: tf.Tensor) => tf.sum(resizeBilinear(a as tf.Tensor4D, [6, 7])))(x)
        .dispose(),
    );
    x.dispose();
  });
});
