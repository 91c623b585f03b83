// road on tfjs-backend-webgpu through Dawn's OpenGL backend on Mesa llvmpipe (software WebGPU, compatibility mode),
// compared with the cpu backend.
//
// Skip rule: these tests are skipped (with the reason printed) only when the Debian packages of the software path
// (SOFTWARE_WEBGPU_PACKAGES) are missing AND the environment variable CI is unset. In CI (.ci/run installs the
// packages) and on any machine that has them, failing to create the adapter is a test failure.
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { softmaxCrossEntropyIgnore } from '../softmax-cross-entropy.js';
import { type InputSpec, randomValues, relativeError } from '../testing.js';
import { createTinySegNet, toySegmentationBatch } from '../tiny-seg-net.js';
import { planSplitK } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputWebgpu } from './conv2d-backprop-input.js';
import { missingSoftwareWebgpuPackages, SOFTWARE_WEBGPU_PACKAGES } from './dawn.js';
import { registerWebgpuKernels, shippedWebgpuKernel, unregisterWebgpuKernels } from './register-kernels.js';

const missing = missingSoftwareWebgpuPackages();
const skip = missing.length > 0 && !process.env.CI;
if (skip) {
  console.warn(
    `software WebGPU tests skipped: Debian packages missing (${missing.join(', ')}); ` +
      `apt-get install ${SOFTWARE_WEBGPU_PACKAGES.join(' ')} (with CI set, this is a failure instead)`,
  );
}

/** Values of `f()` on `backend` (tensors made inside are disposed). */
async function on<T extends tf.Tensor | tf.Tensor[]>(backend: string, f: () => T): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = await Promise.all(list.map(async (t) => (await t.data()) as Float32Array));
  tf.dispose(list);
  return values;
}

describe.skipIf(skip)('software WebGPU (Dawn OpenGL on llvmpipe)', () => {
  beforeAll(async () => {
    const info = await initBackend({ prefer: 'webgpu', webgpu: { software: true } });
    expect(info.name).toBe('webgpu');
    expect(info.kernels).toEqual({ backendName: 'webgpu', added: [], replaced: ['Conv2DBackpropFilter'] });
  });

  it('runs elementwise, reduction and matMul ops like the cpu backend', async () => {
    const a = randomValues(6 * 5, 1);
    const b = randomValues(5 * 7, 2);
    const f = () => {
      const x = tf.tensor2d(a, [6, 5]);
      const y = tf.tensor2d(b, [5, 7]);
      const m = tf.matMul(x, y);
      return [tf.relu(m), tf.sum(m, 1), tf.softmax(m), tf.exp(tf.mul(x, 0.5))];
    };
    const gpu = await on('webgpu', f);
    const cpu = await on('cpu', f);
    for (let i = 0; i < cpu.length; i++) expect(relativeError(gpu[i], cpu[i])).toBeLessThan(1e-5);
  });

  it('forward + tf.grad of a small conv net (batch norm, resize, dilated conv) match the cpu backend', async () => {
    const f = () => {
      const net = createTinySegNet({ width: 8, classes: 3, seed: 3 });
      const { images, labels } = toySegmentationBatch({ n: 2, h: 12, w: 10, classes: 3, seed: 5 });
      const wd = tf.variable(tf.randomUniform([3, 3, 3, 3], -0.5, 0.5, 'float32', 9));
      const loss = () => {
        const logits = net.apply(images);
        const dil = tf.conv2d(logits, wd as tf.Tensor4D, 1, 'same', 'NHWC', 2);
        return softmaxCrossEntropyIgnore(dil, labels);
      };
      const { value, grads } = tf.variableGrads(loss as () => tf.Scalar);
      const out = [value, ...net.variables.map((v) => grads[v.name]), grads[wd.name]];
      net.dispose();
      wd.dispose();
      return out;
    };
    const gpu = await on('webgpu', f);
    const cpu = await on('cpu', f);
    expect(gpu).toHaveLength(12);
    for (let i = 0; i < cpu.length; i++) expect(relativeError(gpu[i], cpu[i]), `output ${i}`).toBeLessThan(1e-4);
  });

  it('leaks no tensors in a training step on webgpu', async () => {
    await tf.setBackend('webgpu');
    const net = createTinySegNet({ width: 4, classes: 3, seed: 1 });
    const { images, labels } = toySegmentationBatch({ n: 1, h: 8, w: 8, classes: 3 });
    const opt = tf.train.sgd(0.1);
    const step = () => opt.minimize(() => softmaxCrossEntropyIgnore(net.apply(images), labels), false, net.variables);
    step();
    const before = tf.memory().numTensors;
    step();
    step();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    net.dispose();
    tf.dispose([images, labels]);
  });
});

/** Runs a kernel (the registered one, or `kernelFunc`) on `backend`; reads back asynchronously (webgpu has no dataSync). */
async function kernelOn(
  backend: string,
  kernel: string | tf.KernelFunc,
  inputs: Record<string, InputSpec>,
  attrs: Record<string, unknown>,
) {
  await tf.setBackend(backend);
  const out = tf.tidy(() => {
    const ins: Record<string, tf.Tensor> = {};
    for (const [k, spec] of Object.entries(inputs)) ins[k] = tf.tensor(Array.from(spec.values), spec.shape);
    if (typeof kernel === 'string') return tf.engine().runKernel(kernel, ins as never, attrs as never) as tf.Tensor;
    return tf
      .engine()
      .makeTensorFromTensorInfo(
        kernel({ inputs: ins as never, backend: tf.backend(), attrs: attrs as never }) as tf.TensorInfo,
      );
  });
  const values = (await out.data()) as Float32Array;
  const shape = out.shape.slice();
  out.dispose();
  return { shape, values };
}

type Pad = 'same' | 'valid';
interface FilterCase {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: number;
  s: number;
  pad: Pad;
}
const filterCases: FilterCase[] = [];
for (const n of [1, 4]) {
  for (const k of [1, 3]) {
    for (const s of [1, 2]) {
      for (const pad of ['same', 'valid'] as const) filterCases.push({ n, h: 7, w: 9, ci: 3, co: 5, k, s, pad });
    }
  }
}
// Tiles partly filled (M = 3·3·9 = 81 > 64, N = 70 > 64) and a reduction split into several chunks.
filterCases.push(
  { n: 4, h: 16, w: 16, ci: 9, co: 70, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 13, w: 11, ci: 2, co: 3, k: 3, s: 2, pad: 'valid' },
);

const label = (c: FilterCase) =>
  `x ${c.n}×${c.h}×${c.w}×${c.ci}, ${c.k}×${c.k} ${c.ci}→${c.co}, stride ${c.s}, ${c.pad}`;

describe.skipIf(skip)('road Conv2DBackpropFilter on webgpu (split-K GEMM)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'webgpu', webgpu: { software: true } });
    registerWebgpuKernels();
  });

  it('splits a long reduction into several chunks and keeps short ones whole', () => {
    expect(planSplitK(4 * 16 * 16, 81, 70)).toEqual({ splits: 4, kChunk: 256 });
    expect(planSplitK(100, 27, 16)).toEqual({ splits: 1, kChunk: 112 });
    // PERF-NOTES shape 16×128×128, 64→128: 18 tiles → 57 chunks of 4608 rows
    expect(planSplitK(16 * 128 * 128, 576, 128)).toEqual({ splits: 57, kChunk: 4608 });
    expect(planSplitK(0, 27, 16)).toEqual({ splits: 1, kChunk: 0 });
    // partial sums capped: 64 MiB / (4 B · 4608 · 512) = 7 chunks at most
    expect(planSplitK(1 << 22, 4608, 512).splits).toBeLessThanOrEqual(7);
  });

  it.each(filterCases)('matches the cpu backend and the shipped kernel: %s', async (c) => {
    const xShape = [c.n, c.h, c.w, c.ci];
    const fShape: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
    const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape, c.s, 1, c.pad);
    const inputs = {
      x: { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 11) },
      dy: { shape: info.outShape, values: randomValues(tf.util.sizeFromShape(info.outShape), 12) },
    };
    const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', filterShape: fShape };
    const ours = await kernelOn('webgpu', 'Conv2DBackpropFilter', inputs, attrs);
    const shipped = shippedWebgpuKernel('Conv2DBackpropFilter');
    expect(shipped).toBeDefined();
    const theirs = await kernelOn('webgpu', shipped!.kernelFunc, inputs, attrs);
    const cpu = await kernelOn('cpu', 'Conv2DBackpropFilter', inputs, attrs);
    expect(ours.shape, label(c)).toEqual(fShape);
    expect(relativeError(ours.values, cpu.values), label(c)).toBeLessThan(1e-4);
    expect(relativeError(theirs.values, cpu.values), label(c)).toBeLessThan(1e-4);
  });

  it.each([1, 2])('tf.grad of a conv with dilation %i matches the cpu backend (filter and input)', async (d) => {
    const xs = randomValues(2 * 11 * 9 * 4, 21);
    const ws = randomValues(3 * 3 * 4 * 6, 22);
    const f = () => {
      const x = tf.tensor4d(xs, [2, 11, 9, 4]);
      const w = tf.tensor4d(ws, [3, 3, 4, 6]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 1, 'same', 'NHWC', d))),
      );
      return g([x, w]);
    };
    const gpu = await on('webgpu', f);
    const cpu = await on('cpu', f);
    expect(relativeError(gpu[0], cpu[0])).toBeLessThan(1e-4);
    expect(relativeError(gpu[1], cpu[1])).toBeLessThan(1e-4);
  });

  it('unregister puts the shipped kernel back; register replaces it again', async () => {
    const shipped = shippedWebgpuKernel('Conv2DBackpropFilter');
    unregisterWebgpuKernels();
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')).toBe(shipped);
    expect(registerWebgpuKernels().replaced).toEqual(['Conv2DBackpropFilter']);
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')).not.toBe(shipped);
  });

  it('an empty batch gives a zero filter gradient', async () => {
    const inputs = { x: { shape: [0, 5, 5, 3], values: [] }, dy: { shape: [0, 5, 5, 4], values: [] } };
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 3, 4] };
    const ours = await kernelOn('webgpu', 'Conv2DBackpropFilter', inputs, attrs);
    expect(ours.shape).toEqual([3, 3, 3, 4]);
    expect(Array.from(ours.values)).toEqual(new Array(3 * 3 * 3 * 4).fill(0));
  });

  it('leaks no tensors (the split-K partial sums are freed)', async () => {
    await tf.setBackend('webgpu');
    const x = tf.randomUniform([4, 16, 16, 9], -1, 1, 'float32', 1);
    const dy = tf.randomUniform([4, 16, 16, 70], -1, 1, 'float32', 2);
    const run = () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 9, 70] },
        ) as tf.Tensor;
    tf.dispose(run());
    const tensors = tf.memory().numTensors;
    const dataIds = tf.backend().numDataIds();
    tf.dispose(run());
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.backend().numDataIds()).toBe(dataIds);
    tf.dispose([x, dy]);
  });
});

const inputCases: FilterCase[] = [
  ...filterCases.filter((c) => c.n === 4 || c.k === 3),
  // 5×5 with stride 3 (taps that hit no dy row), N = Ci = 70 > 64 (partial tiles), K = 3·3·67 not a multiple of 16
  { n: 2, h: 7, w: 9, ci: 3, co: 5, k: 5, s: 3, pad: 'same' },
  { n: 2, h: 16, w: 16, ci: 70, co: 8, k: 3, s: 1, pad: 'same' },
  { n: 2, h: 9, w: 11, ci: 5, co: 67, k: 3, s: 2, pad: 'valid' },
];

describe.skipIf(skip)('road Conv2DBackpropInput on webgpu (GEMM, opt-in)', () => {
  beforeAll(async () => {
    await initBackend({ prefer: 'webgpu', webgpu: { software: true } });
  });

  it.each(inputCases)('matches the cpu backend: %s', async (c) => {
    const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
    const fShape: [number, number, number, number] = [c.k, c.k, c.ci, c.co];
    const info = tf.backend_util.computeConv2DInfo(xShape, fShape, c.s, 1, c.pad);
    const inputs = {
      dy: { shape: info.outShape, values: randomValues(tf.util.sizeFromShape(info.outShape), 13) },
      filter: { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 14) },
    };
    const attrs = { inputShape: xShape, strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
    const ours = await kernelOn('webgpu', conv2dBackpropInputWebgpu(), inputs, attrs);
    const cpu = await kernelOn('cpu', 'Conv2DBackpropInput', inputs, attrs);
    expect(ours.shape, label(c)).toEqual(xShape);
    expect(relativeError(ours.values, cpu.values), label(c)).toBeLessThan(1e-4);
  });

  it('is registered only when asked for, and put back when not asked for any more', () => {
    const shipped = shippedWebgpuKernel('Conv2DBackpropInput');
    expect(shipped).toBeDefined();
    expect(registerWebgpuKernels({ backpropInput: true }).replaced).toEqual(['Conv2DBackpropInput']);
    expect(tf.getKernel('Conv2DBackpropInput', 'webgpu')).not.toBe(shipped);
    expect(shippedWebgpuKernel('Conv2DBackpropInput')).toBe(shipped);
    registerWebgpuKernels();
    expect(tf.getKernel('Conv2DBackpropInput', 'webgpu')).toBe(shipped);
    expect(tf.getKernel('Conv2DBackpropFilter', 'webgpu')).not.toBe(shippedWebgpuKernel('Conv2DBackpropFilter'));
  });

  it('tf.grad of a strided conv uses it and matches the cpu backend', async () => {
    registerWebgpuKernels({ backpropInput: true });
    const xs = randomValues(2 * 11 * 9 * 4, 31);
    const ws = randomValues(3 * 3 * 4 * 6, 32);
    const f = () => {
      const x = tf.tensor4d(xs, [2, 11, 9, 4]);
      const w = tf.tensor4d(ws, [3, 3, 4, 6]);
      const g = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
        tf.sum(tf.square(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, 2, 'same'))),
      );
      return g([x, w]);
    };
    const gpu = await on('webgpu', f);
    const cpu = await on('cpu', f);
    registerWebgpuKernels();
    expect(relativeError(gpu[0], cpu[0])).toBeLessThan(1e-4);
    expect(relativeError(gpu[1], cpu[1])).toBeLessThan(1e-4);
  });
});
