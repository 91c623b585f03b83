import * as tf from '@tensorflow/tfjs-core';
import { emit, median, parseArgs } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const batches = Math.max(2, Number(args.batches ?? 20));
const bigBatches = Math.max(1, Number(args['big-batches'] ?? 4));
const PASSES = Math.max(1, Number(args.passes ?? 3));
const log = (l) => process.stderr.write(`[data] ${l}\n`);
const { createBatchIterator } = await import('@road/datasets');
const { initBackend } = await import('@road/backend');
const engine = await initBackend(args.backend && args.backend !== 'auto' ? { prefer: args.backend } : {});

async function rate(label, spec, options, n) {
  const it = createBatchIterator(spec, options);
  const passes = [];
  const take = async () => {
    const { value } = await it.next();
    const b = value.images.shape[0];
    tf.dispose([value.images, value.labels, value.classes].filter(Boolean));
    return b;
  };
  try {
    await take(); // warm-up: opens the dataset, starts the workers
    for (let p = 0; p < PASSES; p++) {
      let images = 0;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) images += await take();
      passes.push((images * 1000) / (performance.now() - t0));
    }
  } finally {
    await it.close();
  }
  const r = { label, imagesPerSec: median(passes), passes, batchesPerPass: n };
  log(`${label}: ${r.imagesPerSec.toFixed(1)} images/s (median of ${PASSES} passes of ${n} batches)`);
  return r;
}

const demo = { batchSize: 4, transform: { crop: [64, 128], flip: true }, forever: true, shuffle: true, seed: 7920 };
const rows = [];
rows.push(
  await rate(
    'SynthCity 160×80 → 4×64×128 crops, main thread',
    { kind: 'synthcity', split: 'source', seed: 0 },
    { ...demo, workers: 0 },
    batches,
  ),
);
rows.push(
  await rate(
    'SynthCity 160×80 → 4×64×128 crops, 1 worker',
    { kind: 'synthcity', split: 'source', seed: 0 },
    { ...demo, workers: 1 },
    batches,
  ),
);
rows.push(
  await rate(
    'SynthCity 1024×512, batch 2, main thread',
    { kind: 'synthcity', split: 'source', seed: 0, options: { width: 1024, height: 512 } },
    { batchSize: 2, transform: { flip: true }, forever: true, shuffle: true, seed: 1, workers: 0 },
    bigBatches,
  ),
);
rows.push(
  await rate(
    'SynthCity 1024×512, batch 2, 1 worker',
    { kind: 'synthcity', split: 'source', seed: 0, options: { width: 1024, height: 512 } },
    { batchSize: 2, transform: { flip: true }, forever: true, shuffle: true, seed: 1, workers: 1 },
    bigBatches,
  ),
);
emit({ bench: 'data', backend: engine.name, rows });
