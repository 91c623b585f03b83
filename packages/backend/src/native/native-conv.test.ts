import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { initBackend } from '../init-backend.js';
import { randomValues, relativeError, runKernelFuncOn, runKernelOn } from '../testing.js';
import { registerTrainingKernels, shippedKernel, unregisterTrainingKernels } from '../wasm/register-kernels.js';
import {
  type NativeConvAddon,
  nativeConv2dBackpropFilterConfig,
  nativeConv2dBackpropInputConfig,
  nativeConv2dConfig,
  nativeFusedConv2dConfig,
} from './native-conv.js';
import { loadRoadNative, NATIVE_KERNEL_NAMES, nativeFallbackKernel, registerNativeKernels } from './register-native.js';

// The native package's build status decides whether the addon must be there: when `turbo run build` built it,
// every test below runs and a missing addon is a failure, not a skip.
const status = (
  createRequire(import.meta.url)('@road/native') as { buildStatus(): { built: boolean; reason: string } | null }
).buildStatus();
const { addon, reason } = loadRoadNative();

type Pad = 'same' | 'valid' | number | [[0, 0], [number, number], [number, number], [0, 0]];
interface Case {
  n: number;
  h: number;
  w: number;
  ci: number;
  co: number;
  k: [number, number];
  s: number | [number, number];
  d: number;
  pad: Pad;
}

const cases: Case[] = [
  { n: 1, h: 7, w: 9, ci: 3, co: 5, k: [3, 3], s: 1, d: 1, pad: 'same' },
  { n: 8, h: 7, w: 9, ci: 3, co: 16, k: [3, 3], s: 2, d: 1, pad: 'same' },
  { n: 2, h: 11, w: 10, ci: 13, co: 1, k: [5, 5], s: 1, d: 1, pad: 'valid' },
  { n: 2, h: 11, w: 10, ci: 5, co: 130, k: [1, 1], s: 1, d: 1, pad: 'valid' },
  { n: 1, h: 11, w: 10, ci: 17, co: 7, k: [7, 7], s: 1, d: 1, pad: 'same' },
  { n: 2, h: 7, w: 9, ci: 6, co: 9, k: [3, 3], s: 3, d: 1, pad: 'same' },
  { n: 2, h: 11, w: 10, ci: 9, co: 11, k: [3, 3], s: 1, d: 2, pad: 'same' },
  { n: 1, h: 11, w: 10, ci: 4, co: 18, k: [3, 3], s: 1, d: 4, pad: 'same' },
  {
    n: 2,
    h: 7,
    w: 9,
    ci: 3,
    co: 20,
    k: [3, 3],
    s: 2,
    d: 1,
    pad: [
      [0, 0],
      [1, 2],
      [0, 1],
      [0, 0],
    ],
  },
  { n: 2, h: 11, w: 10, ci: 7, co: 3, k: [3, 5], s: [2, 1], d: 1, pad: 1 },
  { n: 8, h: 5, w: 6, ci: 33, co: 65, k: [3, 3], s: 1, d: 1, pad: 'same' },
  { n: 1, h: 8, w: 6, ci: 2, co: 17, k: [2, 3], s: [1, 2], d: 1, pad: 'valid' },
];

const label = (c: Case) =>
  `x ${c.n}×${c.h}×${c.w}×${c.ci}, filter ${c.k.join('×')} ${c.ci}→${c.co}, stride ${c.s}, dilation ${c.d}, pad ${JSON.stringify(c.pad)}`;

function geometry(c: Case) {
  const xShape: [number, number, number, number] = [c.n, c.h, c.w, c.ci];
  const fShape: [number, number, number, number] = [c.k[0], c.k[1], c.ci, c.co];
  const info = tf.backend_util.computeConv2DInfo(xShape, fShape, c.s, c.d, c.pad as never);
  return { xShape, fShape, yShape: info.outShape };
}

/** A fallback that fails the test when called: the native path must have run. */
function noFallback(kernelName: string): tf.KernelConfig {
  return {
    kernelName,
    backendName: 'wasm',
    kernelFunc: () => {
      throw new Error(`the fallback of ${kernelName} ran`);
    },
  };
}

/** Wraps `config`, counting its calls. */
function counting(config: tf.KernelConfig): { config: tf.KernelConfig; calls: () => number } {
  let calls = 0;
  return {
    config: {
      ...config,
      kernelFunc: (args) => {
        calls++;
        return config.kernelFunc(args);
      },
    },
    calls: () => calls,
  };
}

beforeAll(async () => {
  await initBackend({ prefer: 'wasm' });
});

describe('@road/native addon availability', () => {
  it('build/status.json exists (the build ran) and the addon loads exactly when it says built', () => {
    expect(status, 'packages/native/build/status.json is missing: run pnpm --filter @road/native build').not.toBeNull();
    if (status?.built) expect(addon, `status.json says built but loading failed: ${reason}`).not.toBeNull();
    else expect(reason).toContain(status?.reason ?? '');
  });
});

describe.runIf(status?.built === true)('native conv kernels equal the cpu backend (relative error < 1e-4)', () => {
  const a = addon as NativeConvAddon;
  const conv = nativeConv2dConfig(a, noFallback('Conv2D'), { convMinOutChannels: 1, convMinInChannels: 1 }).kernelFunc;
  const fused = nativeFusedConv2dConfig(a, noFallback('FusedConv2D'), {
    convMinOutChannels: 1,
    convMinInChannels: 1,
  }).kernelFunc;
  const dx = nativeConv2dBackpropInputConfig(a, noFallback('Conv2DBackpropInput'), {
    dxMaxWaste: Number.POSITIVE_INFINITY,
    dxMinInChannels: 1,
  }).kernelFunc;
  const dw = nativeConv2dBackpropFilterConfig(a, noFallback('Conv2DBackpropFilter')).kernelFunc;
  // (rules of the forward kernels: every channel count goes native, so the cases below test the addon)

  for (const threads of [1, 3]) {
    describe(`${threads} thread(s)`, () => {
      beforeAll(() => void a.configure({ threads }));
      it.each(cases.map((c) => [label(c), c] as const))('Conv2D and FusedConv2D (bias, relu): %s', async (_n, c) => {
        const { xShape, fShape, yShape } = geometry(c);
        const x = { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 1) };
        const filter = { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 2) };
        const bias = { shape: [c.co], values: randomValues(c.co, 3) };
        const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: c.d };
        const cpu = await runKernelOn('cpu', 'Conv2D', { x, filter }, attrs);
        const ours = await runKernelFuncOn('wasm', conv, { x, filter }, attrs);
        expect(ours.shape).toEqual(yShape);
        expect(relativeError(ours.values, cpu.values)).toBeLessThan(1e-4);
        for (const activation of ['linear', 'relu']) {
          const fattrs = { ...attrs, activation };
          const cpuF = await runKernelOn('cpu', 'FusedConv2D', { x, filter, bias }, fattrs);
          const oursF = await runKernelFuncOn('wasm', fused, { x, filter, bias }, fattrs);
          expect(relativeError(oursF.values, cpuF.values)).toBeLessThan(1e-4);
        }
        const cpuNb = await runKernelOn('cpu', 'FusedConv2D', { x, filter }, { ...attrs, activation: 'relu' });
        const oursNb = await runKernelFuncOn('wasm', fused, { x, filter }, { ...attrs, activation: 'relu' });
        expect(relativeError(oursNb.values, cpuNb.values)).toBeLessThan(1e-4);
      });
      it.each(cases.filter((c) => c.d === 1).map((c) => [label(c), c] as const))(
        'Conv2DBackpropInput and Conv2DBackpropFilter: %s',
        async (_n, c) => {
          const { xShape, fShape, yShape } = geometry(c);
          const x = { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 4) };
          const dy = { shape: yShape, values: randomValues(tf.util.sizeFromShape(yShape), 5) };
          const filter = { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 6) };
          const base = { strides: c.s, pad: c.pad, dataFormat: 'NHWC' };
          const cpuDx = await runKernelOn(
            'cpu',
            'Conv2DBackpropInput',
            { dy, filter },
            { ...base, inputShape: xShape },
          );
          const oursDx = await runKernelFuncOn('wasm', dx, { dy, filter }, { ...base, inputShape: xShape });
          expect(oursDx.shape).toEqual(xShape);
          expect(relativeError(oursDx.values, cpuDx.values)).toBeLessThan(1e-4);
          const cpuDw = await runKernelOn('cpu', 'Conv2DBackpropFilter', { x, dy }, { ...base, filterShape: fShape });
          const oursDw = await runKernelFuncOn('wasm', dw, { x, dy }, { ...base, filterShape: fShape });
          expect(oursDw.shape).toEqual(fShape);
          expect(relativeError(oursDw.values, cpuDw.values)).toBeLessThan(1e-4);
        },
      );
    });
  }

  it('the generic (non-AVX2) micro-kernel agrees too', async () => {
    a.configure({ isa: 'generic', threads: 2 });
    try {
      expect(a.info().isa).toBe('generic');
      const c = cases[10];
      const { xShape, fShape } = geometry(c);
      const x = { shape: xShape, values: randomValues(tf.util.sizeFromShape(xShape), 7) };
      const filter = { shape: fShape, values: randomValues(tf.util.sizeFromShape(fShape), 8) };
      const attrs = { strides: c.s, pad: c.pad, dataFormat: 'NHWC', dilations: 1 };
      const cpu = await runKernelOn('cpu', 'Conv2D', { x, filter }, attrs);
      const ours = await runKernelFuncOn('wasm', conv, { x, filter }, attrs);
      expect(relativeError(ours.values, cpu.values)).toBeLessThan(1e-4);
    } finally {
      a.configure({ isa: 'best', threads: 0 });
    }
  });

  it('reads the right memory after the wasm heap grew between creating the inputs and the call, and inside makeOutput', async () => {
    await tf.setBackend('wasm');
    const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
    const x = tf.tensor4d(randomValues(2 * 9 * 7 * 5, 9), [2, 9, 7, 5]);
    const w = tf.tensor4d(randomValues(3 * 3 * 5 * 6, 10), [3, 3, 5, 6]);
    const before = heap();
    const big = tf.zeros([Math.ceil(before / 4) + 1024]); // larger than the whole heap: it must grow
    expect(heap()).toBeGreaterThan(before);
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
    const ours = await runKernelFuncOn(
      'wasm',
      conv,
      { x: { shape: x.shape, values: x.dataSync() }, filter: { shape: w.shape, values: w.dataSync() } },
      attrs,
    );
    const cpu = await runKernelOn(
      'cpu',
      'Conv2D',
      { x: { shape: x.shape, values: x.dataSync() }, filter: { shape: w.shape, values: w.dataSync() } },
      attrs,
    );
    expect(relativeError(ours.values, cpu.values)).toBeLessThan(1e-4);
    await tf.setBackend('wasm');
    // Growth inside makeOutput: an output larger than the heap, inputs created before.
    const grown = heap();
    const co = 64;
    const pixels = Math.ceil(grown / 4 / co) + 64;
    const xs = tf.randomUniform([1, pixels, 1, 2], -1, 1, 'float32', 11);
    const ws = tf.randomUniform([1, 1, 2, co], -1, 1, 'float32', 12);
    tf.dispose(big);
    const y = tf
      .engine()
      .makeTensorFromTensorInfo(
        conv({ inputs: { x: xs, filter: ws }, backend: tf.backend(), attrs: attrs as never }) as tf.TensorInfo,
      );
    expect(heap()).toBeGreaterThan(grown);
    const xv = xs.dataSync();
    const wv = ws.dataSync();
    const yv = y.dataSync();
    // spot-check rows spread over the output: y[p, o] = x[p,0]·w[0,o] + x[p,1]·w[1,o]
    let err = 0;
    for (let p = 0; p < pixels; p += 997) {
      for (let o = 0; o < co; o++)
        err = Math.max(err, Math.abs(yv[p * co + o] - (xv[2 * p] * wv[o] + xv[2 * p + 1] * wv[co + o])));
    }
    expect(err).toBeLessThan(1e-5);
    tf.dispose([x, w, xs, ws, y]);
  });
});

describe.runIf(status?.built === true)('registration on the wasm backend', () => {
  it('initBackend registered the four native kernels and reports them', async () => {
    const info = await initBackend({ prefer: 'wasm' });
    expect(info.native.loaded).toBe(true);
    expect(info.native.kernels.sort()).toEqual([...NATIVE_KERNEL_NAMES].sort());
    expect(info.native.threads).toBeGreaterThanOrEqual(1);
    expect(['avx2-fma', 'generic']).toContain(info.native.isa);
    for (const k of NATIVE_KERNEL_NAMES) expect(nativeFallbackKernel(k)).toBeDefined();
  });

  it('FusedConv2D with another activation or PReLU weights runs the kept wasm kernel', async () => {
    await initBackend({ prefer: 'wasm' });
    const shipped = nativeFallbackKernel('FusedConv2D') as tf.KernelConfig;
    const spy = counting(shipped);
    const kernel = nativeFusedConv2dConfig(addon as NativeConvAddon, spy.config, { convMinInChannels: 1 }).kernelFunc;
    const x = { shape: [1, 5, 6, 3], values: randomValues(90, 13) };
    const filter = { shape: [3, 3, 3, 4], values: randomValues(108, 14) };
    const bias = { shape: [4], values: randomValues(4, 15) };
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1, activation: 'elu' };
    const ours = await runKernelFuncOn('wasm', kernel, { x, filter, bias }, attrs);
    const cpu = await runKernelOn('cpu', 'FusedConv2D', { x, filter, bias }, attrs);
    expect(spy.calls()).toBe(1);
    expect(relativeError(ours.values, cpu.values)).toBeLessThan(1e-4);
    const alpha = { shape: [4], values: randomValues(4, 16) };
    await runKernelFuncOn(
      'wasm',
      kernel,
      { x, filter, bias, preluActivationWeights: alpha },
      { ...attrs, activation: 'prelu' },
    );
    expect(spy.calls()).toBe(2);
    await runKernelFuncOn('wasm', kernel, { x, filter, bias }, { ...attrs, activation: 'relu' });
    expect(spy.calls()).toBe(2);
  });

  it('Conv2DBackpropInput takes strides natively; a large valid filter (wasted gather) goes to the fallback', async () => {
    await initBackend({ prefer: 'wasm' });
    const spy = counting(nativeFallbackKernel('Conv2DBackpropInput') as tf.KernelConfig);
    const kernel = nativeConv2dBackpropInputConfig(addon as NativeConvAddon, spy.config, {
      dxMinInChannels: 1,
    }).kernelFunc;
    const filter = { shape: [5, 5, 3, 4], values: randomValues(300, 18) };
    const strided = { strides: 2, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 7, 9, 3] };
    const dy = { shape: [1, 4, 5, 4], values: randomValues(80, 17) };
    const ours = await runKernelFuncOn('wasm', kernel, { dy, filter }, strided);
    expect(spy.calls()).toBe(0);
    expect(
      relativeError(ours.values, (await runKernelOn('cpu', 'Conv2DBackpropInput', { dy, filter }, strided)).values),
    ).toBeLessThan(1e-4);
    // 7×9 input, 5×5 'valid' → 3×5 output: 63 input pixels per 15 outputs, 4.2× > NATIVE_DX_MAX_WASTE
    const valid = { strides: 1, pad: 'valid', dataFormat: 'NHWC', inputShape: [1, 7, 9, 3] };
    const dyValid = { shape: [1, 3, 5, 4], values: randomValues(60, 19) };
    const fb = await runKernelFuncOn('wasm', kernel, { dy: dyValid, filter }, valid);
    expect(spy.calls()).toBe(1);
    expect(
      relativeError(
        fb.values,
        (await runKernelOn('cpu', 'Conv2DBackpropInput', { dy: dyValid, filter }, valid)).values,
      ),
    ).toBeLessThan(1e-4);
  });

  it('native: false, a missing addon and a throwing loader put the wasm kernels back and say why', async () => {
    const on = await initBackend({ prefer: 'wasm' });
    // the report names the file it loaded: the build from source, or the binary shipped in the package
    expect(on.native.binary).toMatch(/[\\/](build|prebuilds[\\/][a-z0-9]+-[a-z0-9]+)[\\/]road_native\.node$/);
    const nativeConv = tf.getKernel('Conv2D', 'wasm');
    const shippedConv = nativeFallbackKernel('Conv2D');
    const off = await initBackend({ prefer: 'wasm', native: false });
    expect(off.native).toEqual({
      loaded: false,
      reason: 'disabled by the native: false option',
      threads: null,
      isa: null,
      kernels: [],
      binary: null,
    });
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(shippedConv);
    expect(nativeFallbackKernel('Conv2D')).toBeUndefined();
    const missing = registerNativeKernels({
      load: () => ({ addon: null, reason: 'build/road_native.node is missing: no C++ compiler' }),
    });
    expect(missing.loaded).toBe(false);
    expect(missing.reason).toBe('build/road_native.node is missing: no C++ compiler');
    const threw = registerNativeKernels({
      load: () => {
        throw new Error('boom');
      },
    });
    expect(threw).toMatchObject({ loaded: false, reason: 'the native loader threw: boom', kernels: [] });
    expect(tf.getKernel('Conv2D', 'wasm')).toBe(shippedConv);
    const again = await initBackend({ prefer: 'wasm' });
    expect(again.native.loaded).toBe(true);
    expect(tf.getKernel('Conv2D', 'wasm')).not.toBe(shippedConv);
    expect(tf.getKernel('Conv2D', 'wasm')).not.toBe(nativeConv); // a fresh config, same behaviour
  });

  it('stays on top when the training kernels are unregistered and registered again (fallbacks follow)', async () => {
    await initBackend({ prefer: 'wasm' });
    const roadDw = nativeFallbackKernel('Conv2DBackpropFilter');
    expect(roadDw).toBeDefined();
    const shippedDx = shippedKernel('Conv2DBackpropInput');
    expect(shippedDx).toBeDefined();
    unregisterTrainingKernels('wasm');
    try {
      // the shipped wasm backend has no Conv2DBackpropFilter: nothing to fall back to, so no native one either
      expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeUndefined();
      expect(nativeFallbackKernel('Conv2DBackpropInput')).toBe(shippedDx);
      expect(tf.getKernel('Conv2DBackpropInput', 'wasm')).not.toBe(shippedDx);
    } finally {
      registerTrainingKernels('wasm');
    }
    expect(nativeFallbackKernel('Conv2DBackpropFilter')).toBeDefined();
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).not.toBe(nativeFallbackKernel('Conv2DBackpropFilter'));
    expect(nativeFallbackKernel('Conv2DBackpropInput')).not.toBe(shippedDx);
  });

  it('thin forward convs go to the fallback under the default rules; thin dX stays native', async () => {
    await initBackend({ prefer: 'wasm' });
    const spyConv = counting(nativeFallbackKernel('Conv2D') as tf.KernelConfig);
    const conv = nativeConv2dConfig(addon as NativeConvAddon, spyConv.config).kernelFunc;
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 };
    const x3 = { shape: [1, 5, 6, 3], values: randomValues(90, 21) };
    const w3 = { shape: [3, 3, 3, 8], values: randomValues(216, 22) };
    const r3 = await runKernelFuncOn('wasm', conv, { x: x3, filter: w3 }, attrs);
    expect(spyConv.calls()).toBe(1); // Ci 3 < convMinInChannels
    expect(
      relativeError(r3.values, (await runKernelOn('cpu', 'Conv2D', { x: x3, filter: w3 }, attrs)).values),
    ).toBeLessThan(1e-4);
    const x8 = { shape: [1, 5, 6, 8], values: randomValues(240, 23) };
    await runKernelFuncOn('wasm', conv, { x: x8, filter: { shape: [1, 1, 8, 1], values: randomValues(8, 24) } }, attrs);
    expect(spyConv.calls()).toBe(2); // Co 1 < convMinOutChannels
    await runKernelFuncOn(
      'wasm',
      conv,
      { x: x8, filter: { shape: [1, 1, 8, 4], values: randomValues(32, 25) } },
      attrs,
    );
    expect(spyConv.calls()).toBe(2);
    const spyDx = counting(nativeFallbackKernel('Conv2DBackpropInput') as tf.KernelConfig);
    const dx = nativeConv2dBackpropInputConfig(addon as NativeConvAddon, spyDx.config).kernelFunc;
    const dxAttrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 5, 6, 8] };
    await runKernelFuncOn(
      'wasm',
      dx,
      {
        dy: { shape: [1, 5, 6, 4], values: randomValues(120, 26) },
        filter: { shape: [3, 3, 8, 4], values: randomValues(288, 27) },
      },
      dxAttrs,
    );
    expect(spyDx.calls()).toBe(0); // few input channels: the addon's col2im variant, not the fallback
  });

  it('a heap in a SharedArrayBuffer (multi-threaded wasm build) goes to the fallback', async () => {
    await initBackend({ prefer: 'wasm' });
    const seen: string[] = [];
    const fallback = (name: string): tf.KernelConfig => ({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: () => {
        seen.push(name);
        return { dataId: {}, shape: [], dtype: 'float32' } as tf.TensorInfo;
      },
    });
    const backend = { wasm: { HEAPU8: new Uint8Array(new SharedArrayBuffer(64)) } } as unknown as tf.KernelBackend;
    const t = (shape: number[]) => ({ dataId: {}, shape, dtype: 'float32' }) as tf.TensorInfo;
    const a = addon as NativeConvAddon;
    const attrs = { strides: 1, pad: 'same', dataFormat: 'NHWC', dilations: 1 } as never;
    nativeConv2dConfig(a, fallback('Conv2D')).kernelFunc({
      inputs: { x: t([1, 3, 3, 8]), filter: t([1, 1, 8, 8]) },
      backend,
      attrs,
    });
    nativeFusedConv2dConfig(a, fallback('FusedConv2D')).kernelFunc({
      inputs: { x: t([1, 3, 3, 8]), filter: t([1, 1, 8, 8]) },
      backend,
      attrs,
    });
    nativeConv2dBackpropInputConfig(a, fallback('Conv2DBackpropInput')).kernelFunc({
      inputs: { dy: t([1, 3, 3, 8]), filter: t([1, 1, 8, 8]) },
      backend,
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', inputShape: [1, 3, 3, 8] } as never,
    });
    nativeConv2dBackpropFilterConfig(a, fallback('Conv2DBackpropFilter')).kernelFunc({
      inputs: { x: t([1, 3, 3, 8]), dy: t([1, 3, 3, 8]) },
      backend,
      attrs: { strides: 1, pad: 'same', dataFormat: 'NHWC', filterShape: [1, 1, 8, 8] } as never,
    });
    expect(seen).toEqual(['Conv2D', 'FusedConv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter']);
  });

  it('registers only the kernels asked for, and rejects unknown names', () => {
    const r = registerNativeKernels({ kernels: ['Conv2DBackpropFilter'] });
    expect(r.kernels).toEqual(['Conv2DBackpropFilter']);
    expect(nativeFallbackKernel('Conv2D')).toBeUndefined();
    expect(() => registerNativeKernels({ kernels: ['Conv3D'] })).toThrow(/unknown kernel 'Conv3D'/);
    registerNativeKernels();
  });
});

describe.runIf(status?.built === true)('training through the native kernels', () => {
  /** A small conv net: fused conv (bias, relu) → strided conv → dilated conv → 1×1 conv; loss = Σ y². */
  function loss(
    x: tf.Tensor4D,
    w1: tf.Tensor4D,
    b1: tf.Tensor1D,
    w2: tf.Tensor4D,
    w3: tf.Tensor4D,
    w4: tf.Tensor4D,
  ): tf.Scalar {
    const h1 = tf.fused.conv2d({ x, filter: w1, bias: b1, activation: 'relu', strides: 1, pad: 'same' });
    const h2 = tf.relu(tf.conv2d(h1, w2, 2, 'same'));
    const h3 = tf.conv2d(h2, w3, 1, 'same', 'NHWC', 2);
    const y = tf.conv2d(h3, w4, 1, 'valid');
    return tf.sum(tf.square(y));
  }
  // channels ≥ 16 where the default rules send dX to the native kernel
  const shapes: number[][] = [[2, 11, 10, 3], [3, 3, 3, 16], [16], [3, 3, 16, 20], [3, 3, 20, 17], [1, 1, 17, 5]];

  async function grads(backend: string): Promise<Float32Array[]> {
    await tf.setBackend(backend);
    return tf.tidy(() => {
      const ts = shapes.map((s, i) => tf.tensor(randomValues(tf.util.sizeFromShape(s), 20 + i), s));
      const g = tf.grads((...a: tf.Tensor[]) =>
        loss(...(a as [tf.Tensor4D, tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor4D, tf.Tensor4D])),
      );
      return g(ts).map((t) => t.dataSync() as Float32Array);
    });
  }

  it('tf.grads of a conv net on wasm (native) equal the cpu backend, and leak nothing', async () => {
    await initBackend({ prefer: 'wasm' });
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).not.toBe(nativeFallbackKernel('Conv2DBackpropFilter'));
    const cpu = await grads('cpu');
    await tf.setBackend('wasm');
    const tensors = tf.memory().numTensors;
    const ids = (tf.backend() as unknown as { numDataIds(): number }).numDataIds();
    const wasm = await grads('wasm');
    await tf.setBackend('wasm');
    expect(tf.memory().numTensors).toBe(tensors);
    expect((tf.backend() as unknown as { numDataIds(): number }).numDataIds()).toBe(ids);
    expect(wasm.length).toBe(cpu.length);
    for (let i = 0; i < cpu.length; i++) expect(relativeError(wasm[i], cpu[i]), `gradient ${i}`).toBeLessThan(1e-4);
  });
});
