// Kernel micro-benchmark on the wasm backend: conv2d forward, dX (Conv2DBackpropInput) and dW
// (Conv2DBackpropFilter), shipped kernels vs @road/backend's forward-conv formulations.
// Usage (after `pnpm --filter @road/backend build`):
//   node packages/backend/bench/kernels.mjs [--n 8 --hw 64 --ci 64 --co 64 --k 3 --reps 5]
// Prints GFLOP/s (2·MACs per second of useful work; zero-inserted MACs do not count), median of reps
// after one warm-up run. Timings are wall clock of a synchronous wasm kernel plus a dataSync().

import { initBackend, registerTrainingKernels, unregisterTrainingKernels } from '@road/backend';
import { conv2dBackpropInputAsConv } from '@road/backend/testing';
import * as tf from '@tensorflow/tfjs-core';

const args = {};
process.argv.slice(2).forEach((a, i, all) => {
  if (a.startsWith('--')) args[a.slice(2)] = Number(all[i + 1]);
});
const N = args.n ?? 8;
const HW = args.hw ?? 64;
const CI = args.ci ?? 64;
const CO = args.co ?? 64;
const K = args.k ?? 3;
const REPS = args.reps ?? 5;

const info = await initBackend({ prefer: 'wasm' });

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

function time(fn) {
  const runOnce = () => {
    const t0 = performance.now();
    const out = fn();
    out.dataSync();
    const ms = performance.now() - t0;
    out.dispose();
    return ms;
  };
  runOnce();
  const ms = [];
  for (let i = 0; i < REPS; i++) ms.push(runOnce());
  return median(ms);
}

function rand(shape, seed) {
  return tf.tidy(() => tf.randomUniform(shape, -1, 1, 'float32', seed));
}

const rows = [];
function row(op, stride, variant, macs, ms) {
  rows.push({ op, stride, variant, ms: ms.toFixed(1), gflops: ((2 * macs) / (ms * 1e6)).toFixed(2) });
}

for (const stride of [1, 2]) {
  const x = rand([N, HW, HW, CI], 1);
  const w = rand([K, K, CI, CO], 2);
  const info2 = tf.backend_util.computeConv2DInfo(x.shape, w.shape, stride, 1, 'same');
  const dy = rand(info2.outShape, 3);
  const macs = N * info2.outHeight * info2.outWidth * K * K * CI * CO;
  const dxAttrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', inputShape: x.shape };
  const dwAttrs = { strides: stride, pad: 'same', dataFormat: 'NHWC', filterShape: w.shape };

  row(
    'conv2d forward',
    stride,
    'XNNPACK (shipped)',
    macs,
    time(() => tf.conv2d(x, w, stride, 'same')),
  );

  unregisterTrainingKernels('wasm');
  row(
    'dX Conv2DBackpropInput',
    stride,
    'shipped',
    macs,
    time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, dxAttrs)),
  );
  if (stride === 1) {
    const x5 = x.reshape([N, 1, HW, HW, CI]);
    const dy5 = dy.reshape([N, 1, ...info2.outShape.slice(1)]);
    row(
      'dW Conv2DBackpropFilter',
      stride,
      'Conv3DBackpropFilterV2, depth 1',
      macs,
      time(() =>
        tf
          .engine()
          .runKernel(
            'Conv3DBackpropFilterV2',
            { x: x5, dy: dy5 },
            { strides: [1, 1, 1], pad: 'same', filterShape: [1, K, K, CI, CO] },
          ),
      ),
    );
    tf.dispose([x5, dy5]);
  }
  registerTrainingKernels('wasm');
  row(
    'dX Conv2DBackpropInput',
    stride,
    stride === 1 ? 'ours: conv of dy with flipped W' : 'ours: phase-stacked conv + depth-to-space',
    macs,
    time(() => tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: w }, dxAttrs)),
  );
  if (stride > 1) {
    const zeroInsert = conv2dBackpropInputAsConv('wasm', 'zero-insert');
    row(
      'dX Conv2DBackpropInput',
      stride,
      'ours: conv of zero-inserted dy',
      macs,
      time(() =>
        tf
          .engine()
          .makeTensorFromTensorInfo(zeroInsert({ inputs: { dy, filter: w }, backend: tf.backend(), attrs: dxAttrs })),
      ),
    );
  }
  row(
    'dW Conv2DBackpropFilter',
    stride,
    'ours: conv of xᵀ with dyᵀ (dilation = stride)',
    macs,
    time(() => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, dwAttrs)),
  );
  tf.dispose([x, w, dy]);
}

console.log(
  `@road/backend kernel bench — backend ${info.name}, tfjs-core ${info.tfjsCore.version}, node ${process.version}`,
);
console.log(
  `x ${N}×${HW}×${HW}×${CI}, filter ${K}×${K} ${CI}→${CO}, 'same' padding, median of ${REPS} after 1 warm-up`,
);
console.table(rows);
