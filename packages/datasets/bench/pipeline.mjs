// Decode + augment throughput at 1024×512 (run after `pnpm --filter @road/datasets build`):
//   node packages/datasets/bench/pipeline.mjs [--images N] [--workers W]
// 1. SynthCity generation alone (main thread), source and target look.
// 2. The batch iterator (SynthCity target-train at 1024×512 → random scale [0.5, 1.5], crop 512×1024, flip,
//    ImageNet normalisation → float32 tensors), with workers: 0 and with worker threads.
// Prints one JSON line per measurement (images/s).
import { availableParallelism } from 'node:os';
import '@tensorflow/tfjs';
import { createBatchIterator, renderSynthCity } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';

const args = process.argv.slice(2);
const arg = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const N = arg('images', 48);
const poolWorkers = arg('workers', Math.max(1, availableParallelism() - 1));
await tf.setBackend('cpu');

const W = 1024;
const H = 512;
for (const split of ['source', 'target-train']) {
  for (let i = 0; i < 3; i++) renderSynthCity(split, 0, 10_000 + i, W, H); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < N; i++) renderSynthCity(split, 0, i, W, H);
  const s = (performance.now() - t0) / 1000;
  console.log(
    JSON.stringify({
      what: `synthcity generate ${split}`,
      size: `${W}x${H}`,
      images: N,
      imagesPerSec: +(N / s).toFixed(1),
      msPerImage: +((s * 1000) / N).toFixed(1),
    }),
  );
}

const spec = { kind: 'synthcity', split: 'target-train', seed: 0, options: { width: W, height: H, length: 10_000 } };
const configs = [
  { name: 'normalise only', transform: {} },
  { name: 'scale [0.5,1.5] + crop 512x1024 + flip', transform: { scale: [0.5, 1.5], crop: [512, 1024], flip: true } },
];
const batchSize = 4;
for (const { name, transform } of configs) {
  for (const workers of [0, poolWorkers]) {
    const it = createBatchIterator(spec, { batchSize, transform, workers, seed: 1 });
    const first = await it.next(); // includes worker start-up; not timed
    tf.dispose([first.value.images, first.value.labels]);
    const batches = Math.max(1, Math.round(N / batchSize));
    const t0 = performance.now();
    for (let b = 0; b < batches; b++) {
      const { value } = await it.next();
      tf.dispose([value.images, value.labels]);
    }
    const s = (performance.now() - t0) / 1000;
    await it.close();
    console.log(
      JSON.stringify({
        what: `batch iterator: ${name}`,
        size: `${W}x${H}`,
        workers,
        batchSize,
        images: batches * batchSize,
        imagesPerSec: +((batches * batchSize) / s).toFixed(1),
      }),
    );
  }
}
console.log(JSON.stringify({ cores: availableParallelism(), node: process.version, tensors: tf.memory().numTensors }));
