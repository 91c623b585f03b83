// Benchmark (not a test): time of one training step of road-lite at batch 4×80×160 (SynthCity size), per backend,
// and the FLOPs/params table of @road/backbone's README. Needs `pnpm build`.
// Usage: node bench/node/backbone-step.mjs [wasm|cpu] [steps]

import { countFlops, createBackbone, createSegmentationNet } from '@road/backbone';
import { initBackend } from '@road/backend';
import * as tf from '@tensorflow/tfjs-core';

const backend = process.argv[2] ?? 'wasm';
const steps = Number(process.argv[3] ?? 5);
const info = await initBackend({ prefer: backend });
console.log(
  `backend ${info.name} (tfjs ${tf.version_core}), training kernels added: ${info.kernels?.added?.join(', ') ?? '-'}; replaced: ${info.kernels?.replaced?.join(', ') ?? '-'}`,
);

function step(net, x, labels, opt) {
  const loss = opt.minimize(
    () => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(labels, net.numClasses), tf.logSoftmax(net.logits(x, true))), -1))),
    true,
    net.trainableVariables(),
  );
  const v = loss.dataSync()[0];
  loss.dispose();
  return v;
}

const configs = [
  ['road-lite', {}],
  ['road-lite', { attention: 'hydraplus', attentionMaps: 2 }],
  ['road-lite', { attention: 'hydraplus', attentionMaps: 8 }],
];
for (const [name, o] of configs) {
  const net = createSegmentationNet(name, { numClasses: 19, seed: 0, ...o });
  const x = tf.randomUniform([4, 80, 160, 3]);
  const labels = tf.randomUniform([4, 10, 20], 0, 19, 'int32');
  const opt = tf.train.adam(1e-3);
  step(net, x, labels, opt); // warm-up (kernel compilation, optimizer slots)
  const times = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    step(net, x, labels, opt);
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  const f = countFlops(net, [80, 160, 3]);
  const gflop = (3 * f.perImage * 4) / 1e9; // forward + ~2× for backward
  const med = times[Math.floor(times.length / 2)];
  console.log(
    `${name} ${JSON.stringify(o)}: median step ${med.toFixed(0)} ms (min ${times[0].toFixed(0)}, n=${steps}); ` +
      `${f.perPixel} FLOP/px, ${(f.perImage / 1e6).toFixed(1)} MFLOP/img fwd, ~${gflop.toFixed(2)} GFLOP/step → ${(gflop / (med / 1000)).toFixed(2)} GFLOP/s; params ${f.params}`,
  );
  tf.dispose([x, labels]);
  opt.dispose();
  net.dispose();
}

if (process.argv.includes('--table')) {
  for (const [name, o, size] of [
    ['vgg16-fcn', {}, [512, 1024, 3]],
    ['vgg16-fcn', { outputStride: 8 }, [512, 1024, 3]],
    ['vgg16-fcn', { attention: 'hydraplus' }, [512, 1024, 3]],
    ['vgg16-fcn', { attention: 'hydraplus', attentionMaps: 2 }, [512, 1024, 3]],
    ['deeplabv2-resnet', {}, [512, 1024, 3]],
    ['deeplabv2-resnet', { depth: 101 }, [512, 1024, 3]],
    ['deeplabv2-resnet', { attention: 'hydraplus', attentionMaps: 2 }, [512, 1024, 3]],
    ['road-lite', {}, [80, 160, 3]],
    ['road-lite', { attention: 'hydraplus' }, [80, 160, 3]],
    ['road-lite', { attention: 'hydraplus', attentionMaps: 2 }, [80, 160, 3]],
  ]) {
    const net = createSegmentationNet(name, { numClasses: 19, ...o });
    const f = countFlops(net, size);
    const b = countFlops(net.backbone, size);
    console.log(
      `| ${name} | ${JSON.stringify(o)} | ${net.outputStride} | ${f.params} | ${b.params} | ${f.perPixel.toFixed(0)} | ${(f.perImage / 1e9).toFixed(1)} GFLOP @${size[0]}×${size[1]} |`,
    );
    net.dispose();
  }
  const b = createBackbone('deeplabv2-resnet', {});
  console.log('resnet50 backbone params', b.countParams());
  b.dispose();
}
