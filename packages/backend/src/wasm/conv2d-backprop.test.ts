import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, relativeError, runKernelFuncOn, runKernelOn } from '../testing.js';
import { conv2dBackpropFilterAsConv } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputAsConv } from './conv2d-backprop-input.js';
import { shippedKernel } from './register-kernels.js';

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  h: number;
  w: number;
  k: [number, number];
  s: number | [number, number];
  pad: Pad;
}

const N = 2;
const CI = 3;
const CO = 5;
const cases: Case[] = [];
for (const [h, w] of [
  [7, 9],
  [8, 6],
]) {
  for (const k of [1, 3, 5]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) cases.push({ h, w, k: [k, k], s, pad });
    }
  }
}
cases.push(
  {
    h: 7,
    w: 9,
    k: [3, 3],
    s: 2,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { h: 7, w: 9, k: [3, 3], s: 1, pad: 1 },
  { h: 7, w: 9, k: [3, 5], s: [2, 1], pad: 'same' },
  { h: 9, w: 7, k: [2, 3], s: [1, 2], pad: 'valid' },
  { h: 11, w: 10, k: [3, 3], s: 3, pad: 'same' },
  // top padding 2 > (taps − 1): the polyphase split would need negative padding → zero-insert fallback
  {
    h: 7,
    w: 9,
    k: [3, 3],
    s: 2,
    pad: [
      [0, 0],
      [2, 1],
      [2, 0],
      [0, 0],
    ],
  },
);

const label = (c: Case) =>
  `x ${N}×${c.h}×${c.w}×${CI}, filter ${c.k.join('×')} ${CI}→${CO}, stride ${c.s}, pad ${JSON.stringify(c.pad)}`;

function geometry(c: Case) {
  const xShape: [number, number, number, number] = [N, c.h, c.w, CI];
  const fShape: [number, number, number, number] = [c.k[0], c.k[1], CI, CO];
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, c.s, 1, c.pad as never);
  return { xShape, fShape, dyShape: info.outShape };
}

/** Conv2DBackpropFilter inputs (x seed 1, dy seed 2) and attrs for case `c`; `fShape` is the expected dW shape. */
function filterArgs(c: Case) {
  const { xShape, fShape, dyShape } = geometry(c);
  const inputs = {
    x: { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 1) },
    dy: { shape: dyShape, values: randomValues(tf.util.sizeFromShape(dyShape), 2) },
  };
  const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape };
  return { fShape, inputs, attrs };
}

/** Conv2DBackpropInput inputs (dy seed 3, filter seed 4) and attrs for case `c`; `xShape` is the expected dx shape. */
function inputArgs(c: Case) {
  const { xShape, fShape, dyShape } = geometry(c);
  const inputs = {
    dy: { shape: dyShape, values: randomValues(tf.util.sizeFromShape(dyShape), 3) },
    filter: { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 4) },
  };
  const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', inputShape: xShape };
  return { xShape, inputs, attrs };
}

// These cases test the wasm formulations (the fallback of @road/native's kernels), so native kernels stay off here;
// packages/backend/src/native/native-conv.test.ts tests the native ones on the same kinds of cases.
beforeAll(async () => {
  const report = await initBackend({ prefer: 'wasm', native: false });
  expect(report.native?.loaded).toBe(false);
});

describe('Conv2DBackpropFilter on wasm (forward-conv formulation) equals the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const { fShape, inputs, attrs } = filterArgs(c);
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    const wasm = await runKernelOn('wasm', 'Conv2DBackpropFilter', inputs, attrs);
    expect(wasm.shape).toEqual(fShape);
    expect(cpu.shape).toEqual(fShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });
});

describe('Conv2DBackpropFilter on wasm in bands of output rows (large-input path) equals the cpu backend', () => {
  // chunkBytes 1: one output row per band, the most bands there can be; 600 bytes: a few rows per band.
  for (const chunkBytes of [1, 600]) {
    const banded = conv2dBackpropFilterAsConv('wasm', { chunkBytes });
    it.each(cases.map((c) => [label(c), c] as const))(`chunkBytes ${chunkBytes}: %s`, async (_name, c) => {
      const { fShape, inputs, attrs } = filterArgs(c);
      const cpu = await runKernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
      const wasm = await runKernelFuncOn('wasm', banded, inputs, attrs);
      expect(wasm.shape).toEqual(fShape);
      expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
    });
  }
  it('leaves no wasm buffer behind', async () => {
    await tf.setBackend('wasm');
    const banded = conv2dBackpropFilterAsConv('wasm', { chunkBytes: 1 });
    const x = tf.tensor4d(randomValues(2 * 7 * 9 * 3, 7), [2, 7, 9, 3]);
    const dy = tf.tensor4d(randomValues(2 * 4 * 5 * 5, 8), [2, 4, 5, 5]);
    const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const out = banded({
      inputs: { x, dy },
      backend: tf.backend(),
      attrs: { strides: 2, pad: 'same', filterShape: [3, 3, 3, 5] } as never,
    });
    tf.backend().disposeData((out as tf.TensorInfo).dataId);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    tf.dispose([x, dy]);
  });
});

describe('Conv2DBackpropInput on wasm (forward-conv formulation) equals the cpu backend', () => {
  it.each(cases.map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const { xShape, inputs, attrs } = inputArgs(c);
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const wasm = await runKernelOn('wasm', 'Conv2DBackpropInput', inputs, attrs);
    expect(wasm.shape).toEqual(xShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });
});

describe('Conv2DBackpropInput on wasm, zero-insertion variant, equals the cpu backend', () => {
  const zeroInsert = conv2dBackpropInputAsConv('wasm', 'zero-insert');
  it.each(cases.filter((c) => c.s !== 1).map((c) => [label(c), c] as const))('%s', async (_name, c) => {
    const { xShape, inputs, attrs } = inputArgs(c);
    const cpu = await runKernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    const wasm = await runKernelFuncOn('wasm', zeroInsert, inputs, attrs);
    expect(wasm.shape).toEqual(xShape);
    expect(relativeError(wasm.values, cpu.values)).toBeLessThan(1e-4);
  });
});

describe('registration', () => {
  it('replaced the shipped wasm Conv2DBackpropInput, which is kept and still agrees with cpu', async () => {
    const shipped = shippedKernel('Conv2DBackpropInput');
    expect(shipped).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).not.toBe(shipped);
    const c: Case = { h: 7, w: 9, k: [3, 3], s: 2, pad: 'same' };
    const { xShape, fShape, dyShape } = geometry(c);
    await tf.setBackend('wasm');
    const [ours, theirs] = tf.tidy(() => {
      const dy = tf.tensor4d(randomValues(tf.util.sizeFromShape(dyShape), 5), dyShape as never);
      const filter = tf.tensor4d(randomValues(tf.util.sizeFromShape(fShape), 6), fShape);
      const attrs = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: xShape };
      const a = tf.engine().runKernel('Conv2DBackpropInput', { dy, filter }, attrs as never) as tf.Tensor;
      const out = shipped?.kernelFunc({
        inputs: { dy, filter },
        backend: tf.backend(),
        attrs: attrs as never,
      }) as tf.TensorInfo;
      const b = tf.engine().makeTensorFromTensorInfo(out);
      return [a.dataSync(), b.dataSync()];
    });
    expect(relativeError(ours, theirs)).toBeLessThan(1e-4);
  });

  it('conv2d gradients on wasm leak neither tensors nor wasm buffers', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomValues(2 * 7 * 9 * 3, 7), [2, 7, 9, 3]);
    const f = tf.tensor4d(randomValues(3 * 3 * 3 * 5, 8), [3, 3, 3, 5]);
    const g = tf.grads((a, b) => tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))));
    tf.dispose(g([x, f]));
    const tensors = tf.memory().numTensors;
    const buffers = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    tf.dispose(g([x, f]));
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(buffers);
    tf.dispose([x, f]);
  });
});
