// Per-op GFLOP/s on the wasm backend: the kernels registered without @road/native (XNNPACK forward convs and
// road's forward-conv formulations of the backward passes) vs the native kernels with 1 and 2 threads,
// on the shapes of the road-lite training step.
// Usage (after `pnpm --filter @road/native build && pnpm --filter @road/backend build`):
//   node packages/backend/bench/native-kernels.mjs [--reps 10] [--vgg]   (--vgg: the vgg16-fcn step's big shapes)
// GFLOP/s = 2·MACs of the convolution / median wall time (one warm-up run, then --reps runs, dataSync each).

import { initBackend, loadRoadNative, registerNativeKernels, unregisterNativeKernels } from '@road/backend';
import * as tf from '@tensorflow/tfjs-core';

const argv = process.argv.slice(2);
const REPS = Number(argv[argv.indexOf('--reps') + 1] || 10) || 10;
const info = await initBackend({ prefer: 'wasm', native: false });
const { addon, reason } = loadRoadNative();
if (addon == null) throw new Error(`@road/native is not available: ${reason}`);

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
function time(fn) {
  const once = () => {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  once();
  const ms = [];
  for (let i = 0; i < REPS; i++) ms.push(once());
  return median(ms);
}
const rand = (shape, seed) => tf.randomUniform(shape, -1, 1, 'float32', seed);

/** [label, kernelName, macs, run()] */
const cases = [];
function conv(label, xShape, wShape, strides = 1, dilations = 1, pad = 'same') {
  const x = rand(xShape, 1);
  const w = rand(wShape, 2);
  const ci = tf.backend_util.computeConv2DInfo(xShape, wShape, strides, dilations, pad);
  const macs =
    ci.batchSize * ci.outHeight * ci.outWidth * ci.outChannels * ci.filterHeight * ci.filterWidth * ci.inChannels;
  cases.push([label, 'Conv2D', macs, () => tf.conv2d(x, w, strides, pad, 'NHWC', dilations)]);
}
function fused(label, xShape, wShape) {
  const x = rand(xShape, 1);
  const w = rand(wShape, 2);
  const b = rand([wShape[3]], 3);
  const ci = tf.backend_util.computeConv2DInfo(xShape, wShape, 1, 1, 'same');
  const macs =
    ci.batchSize * ci.outHeight * ci.outWidth * ci.outChannels * ci.filterHeight * ci.filterWidth * ci.inChannels;
  cases.push([
    label,
    'FusedConv2D',
    macs,
    () => tf.fused.conv2d({ x, filter: w, bias: b, activation: 'relu', strides: 1, pad: 'same' }),
  ]);
}
function dw(label, xShape, dyShape, k, strides, pad = 'same') {
  const x = rand(xShape, 1);
  const dy = rand(dyShape, 2);
  const filterShape = [k, k, xShape[3], dyShape[3]];
  const macs = dyShape[0] * dyShape[1] * dyShape[2] * dyShape[3] * k * k * xShape[3];
  cases.push([
    label,
    'Conv2DBackpropFilter',
    macs,
    () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropFilter',
          { x, dy },
          { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape },
        ),
  ]);
}
function dx(label, dyShape, wShape, xShape, strides = 1, pad = 'same') {
  const dy = rand(dyShape, 1);
  const w = rand(wShape, 2);
  const macs = dyShape[0] * dyShape[1] * dyShape[2] * dyShape[3] * wShape[0] * wShape[1] * wShape[2];
  cases.push([
    label,
    'Conv2DBackpropInput',
    macs,
    () =>
      tf
        .engine()
        .runKernel(
          'Conv2DBackpropInput',
          { dy, filter: w },
          { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, inputShape: xShape },
        ),
  ]);
}
if (argv.includes('--vgg')) {
  conv('x[2,320,640,64] W[3,3,64,64]', [2, 320, 640, 64], [3, 3, 64, 64]);
  conv('x[2,40,80,512] W[3,3,512,512]', [2, 40, 80, 512], [3, 3, 512, 512]);
  dw('x[2,320,640,64] dy[2,320,640,64] 3x3', [2, 320, 640, 64], [2, 320, 640, 64], 3, 1);
  dw('x[2,40,80,512] dy[2,40,80,512] 3x3', [2, 40, 80, 512], [2, 40, 80, 512], 3, 1);
  dx('dy[2,80,160,256] W[3,3,256,256]', [2, 80, 160, 256], [3, 3, 256, 256], [2, 80, 160, 256]);
  dx('dy[2,40,80,512] W[3,3,512,512]', [2, 40, 80, 512], [3, 3, 512, 512], [2, 40, 80, 512]);
} else {
  conv('x[8,8,16,64] W[3,3,64,64]', [8, 8, 16, 64], [3, 3, 64, 64]);
  conv('x[8,8,16,64] W[3,3,64,64] dil 2', [8, 8, 16, 64], [3, 3, 64, 64], 1, 2);
  conv('x[64,8,16,8] W[8,16,8,64] valid', [64, 8, 16, 8], [8, 16, 8, 64], 1, 1, 'valid');
  conv('x[8,64,128,3] W[3,3,3,16] s2', [8, 64, 128, 3], [3, 3, 3, 16], 2);
  dw('x[8,16,32,32] dy[8,16,32,32] 3x3', [8, 16, 32, 32], [8, 16, 32, 32], 3, 1);
  dw('x[8,64,128,3] dy[8,32,64,16] 3x3 s2', [8, 64, 128, 3], [8, 32, 64, 16], 3, 2);
  dw('x[8,8,16,64] dy[8,8,16,64] 3x3', [8, 8, 16, 64], [8, 8, 16, 64], 3, 1);
  dx('dy[8,8,16,64] W[3,3,64,64]', [8, 8, 16, 64], [3, 3, 64, 64], [8, 8, 16, 64]);
  dx('dy[8,16,32,32] W[3,3,32,32]', [8, 16, 32, 32], [3, 3, 32, 32], [8, 16, 32, 32]);
  dx('dy[8,16,32,32] W[3,3,16,32] s2', [8, 16, 32, 32], [3, 3, 16, 32], [8, 32, 64, 16], 2);
  conv('x[8,16,32,64] W[1,1,64,1] (Co 1)', [8, 16, 32, 64], [1, 1, 64, 1]);
  conv('x[8,16,32,64] W[1,1,64,19] (head)', [8, 16, 32, 64], [1, 1, 64, 19]);
  dx('dy[8,32,64,16] W[3,3,3,16] s2 (Ci 3)', [8, 32, 64, 16], [3, 3, 3, 16], [8, 64, 128, 3], 2);
  dx('dy[8,32,64,16] W[3,3,8,16] s2 (Ci 8)', [8, 32, 64, 16], [3, 3, 8, 16], [8, 64, 128, 8], 2);
  dx('dy[8,64,128,16] W[3,3,3,16] (Ci 3)', [8, 64, 128, 16], [3, 3, 3, 16], [8, 64, 128, 3], 1);
  fused('x[8,16,32,32] W[3,3,32,32] +bias relu', [8, 16, 32, 32], [3, 3, 32, 32]);
}
const rows = [];
for (const [label, kernel, macs, run] of cases) {
  unregisterNativeKernels();
  const base = time(run);
  const r = { kernel, shape: label, 'wasm ms': base.toFixed(2), 'wasm GF/s': ((2 * macs) / (base * 1e6)).toFixed(1) };
  // the native path itself: no small-channel / waste rules
  registerNativeKernels({
    kernels: [kernel],
    rules: { dxMaxWaste: Infinity, dxMinInChannels: 1, convMinOutChannels: 1 },
  });
  for (const threads of [1, 2]) {
    addon.configure({ threads });
    const ms = time(run);
    r[`native t${threads} ms`] = ms.toFixed(2);
    r[`t${threads} GF/s`] = ((2 * macs) / (ms * 1e6)).toFixed(1);
  }
  r.speedup = (base / Number(r['native t2 ms'])).toFixed(2);
  addon.configure({ threads: 0 });
  rows.push(r);
}
unregisterNativeKernels();
console.log(
  `backend ${info.name}, native ${addon.info().isa}, reps ${REPS}, load ${(await import('node:os')).loadavg()[0].toFixed(2)}`,
);
console.table(rows);
