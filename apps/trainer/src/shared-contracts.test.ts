// Contracts between library packages that do not depend on each other, checked here where both are installed.
import { atrousConv2d, hasDilatedConv2dGradient } from '@road/backbone';
import { registerTrainingGradients, unregisterTrainingGradients } from '@road/backend';
import type { Crop as DannCrop } from '@road/dann';
import type { Crop } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, describe, expect, expectTypeOf, it } from 'vitest';

afterAll(() => {
  unregisterTrainingGradients();
});

describe('contracts between @road packages', () => {
  it("@road/dann's Crop (the shape spatial-aware adaptation reads) is @road/datasets' Crop", () => {
    expectTypeOf<DannCrop>().toEqualTypeOf<Crop>();
    const crop: Crop = { top: 1, left: 2, height: 3, width: 4, fullHeight: 8, fullWidth: 8, flipped: true };
    const forDann: DannCrop = crop;
    expect(forDann).toBe(crop);
  });

  it("@road/backbone's hasDilatedConv2dGradient() sees the marker on @road/backend's Conv2D gradient", () => {
    const x = tf.tensor4d([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16], [1, 4, 4, 1]);
    const f = tf.ones([2, 2, 1, 1]) as tf.Tensor4D;
    // dL/dx of sum(y) for a 2×2 all-ones filter at rate 2, 'valid' (output 2×2): pixel (i, j) is used once for each
    // output (oi, oj) with i = oi + 2u, j = oj + 2v, u, v ∈ {0, 1}: every pixel of the 4×4 input exactly once.
    const grad = () => tf.grad((a: tf.Tensor) => tf.sum(atrousConv2d(a as tf.Tensor4D, f, 2, 'valid', 'direct')))(x);
    unregisterTrainingGradients();
    expect(hasDilatedConv2dGradient()).toBe(false);
    expect(grad).toThrow(); // tfjs's own Conv2D gradient refuses dilation > 1
    expect(registerTrainingGradients()).toContain('Conv2D');
    expect(hasDilatedConv2dGradient()).toBe(true);
    const g = grad();
    expect(Array.from(g.dataSync())).toEqual(new Array(16).fill(1));
    tf.dispose([x, f, g]);
  });
});
