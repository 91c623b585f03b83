import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, relativeError, runKernelOn } from '../testing.js';

interface Case {
  h: number;
  w: number;
  k: number;
  s: number;
  m: number;
  pad: 'same' | 'valid';
}
const N = 2;
const C = 3;
const cases: Case[] = [];
for (const [h, w] of [
  [7, 9],
  [8, 6],
]) {
  for (const k of [1, 3, 5]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) cases.push({ h, w, k, s, m: k === 3 ? 2 : 1, pad });
    }
  }
}
const label = (c: Case) => `x ${N}×${c.h}×${c.w}×${C}, filter ${c.k}×${c.k}×${C}×${c.m}, stride ${c.s}, pad ${c.pad}`;

function geometry(c: Case) {
  const xShape: [number, number, number, number] = [N, c.h, c.w, C];
  const fShape: [number, number, number, number] = [c.k, c.k, C, c.m];
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, c.s, 1, c.pad, undefined, true);
  return { xShape, fShape, dyShape: info.outShape };
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('DepthwiseConv2dNativeBackpropFilter on wasm equals the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_n, c) => {
    const { xShape, fShape, dyShape } = geometry(c);
    const inputs = {
      x: { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 11) },
      dy: { shape: dyShape, values: randomValues(tf.util.sizeFromShape(dyShape), 12) },
    };
    const attrs = { strides: c.s, dilations: 1, pad: c.pad, filterShape: fShape };
    const cpu = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
    const wasm = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropFilter', inputs, attrs);
    expect(wasm.shape).toEqual(fShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });
});

describe('DepthwiseConv2dNativeBackpropInput on wasm equals the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_n, c) => {
    const { xShape, fShape, dyShape } = geometry(c);
    const inputs = {
      dy: { shape: dyShape, values: randomValues(tf.util.sizeFromShape(dyShape), 13) },
      filter: { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 14) },
    };
    const attrs = { strides: c.s, dilations: 1, pad: c.pad, inputShape: xShape };
    const cpu = await runKernelOn('cpu', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
    const wasm = await runKernelOn('wasm', 'DepthwiseConv2dNativeBackpropInput', inputs, attrs);
    expect(wasm.shape).toEqual(xShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });

  it('refuses dilations > 1 with a clear error', async () => {
    const c: Case = { h: 7, w: 9, k: 3, s: 1, m: 1, pad: 'same' };
    const { xShape, fShape, dyShape } = geometry(c);
    await expect(
      runKernelOn(
        'wasm',
        'DepthwiseConv2dNativeBackpropInput',
        {
          dy: { shape: dyShape, values: randomValues(tf.util.sizeFromShape(dyShape), 1) },
          filter: { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 2) },
        },
        { strides: 1, dilations: 2, pad: 'same', inputShape: xShape },
      ),
    ).rejects.toThrow(/dilations \[2, 2\] are not supported/);
  });
});
