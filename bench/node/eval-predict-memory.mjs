// Memory of evaluation and prediction over many images: `evaluateNet` over a whole SynthCity split (several passes)
// and `predictFolder` over N images written to a folder, sampling tf.memory().numTensors and the process RSS. Any
// steady growth is a leak.
//
//   node bench/node/eval-predict-memory.mjs [--passes 3] [--images 1000] [--backend auto]
//
// Uses the built packages (pnpm build). Prints `EVAL_PREDICT_MEMORY_JSON {...}`.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const passes = Number(args.passes ?? 3);
const images = Number(args.images ?? 1000);
const backend = args.backend ?? 'auto';
const log = (l) => process.stderr.write(`[eval-predict-memory] ${l}\n`);
const trainer = await import('@road/trainer');
const datasets = await import('@road/datasets');
const { loadConfig, trainRun, evaluateNet, loadNetFromCheckpoint, predictFolder, ensureEngine } = trainer;
await ensureEngine(backend, () => {});

const out = mkdtempSync(join(tmpdir(), 'road-eval-predict-'));
const mem = () => ({ tensors: tf.memory().numTensors, rssMiB: process.memoryUsage().rss / 2 ** 20 });
// a small trained net (the cost of eval/predict does not depend on how well it is trained)
const config = loadConfig('source-only', [`backend=${backend}`, 'steps=20', 'evalLimit=1']);
const run = await trainRun(config, { outDir: join(out, 'run'), quiet: true, report: false, log: () => {} });
const { net, normalization } = loadNetFromCheckpoint(run.runDir);

const evalSamples = [{ pass: 0, ...mem() }];
for (let p = 1; p <= passes; p++) {
  const r = await evaluateNet(net, config.val, { numClasses: 19, seed: 1, normalization });
  evalSamples.push({ pass: p, ...mem(), images: r.images ?? null });
  log(`eval pass ${p}: ${JSON.stringify(evalSamples.at(-1))}`);
}
net.dispose();

// N images in a folder: the validation split's images, cycled
const input = join(out, 'images');
mkdirSync(input);
const ds = await datasets.openDataset({ kind: 'synthcity', split: 'target-val', seed: 1 });
for (let i = 0; i < images; i++) {
  const s = await ds.get(i % ds.length);
  await datasets.writePng(join(input, `img-${String(i).padStart(5, '0')}.png`), {
    data: s.image,
    width: s.width,
    height: s.height,
    channels: 3,
  });
}
const predictSamples = [{ done: 0, ...mem() }];
let done = 0;
await predictFolder({
  checkpoint: run.runDir,
  inputDir: input,
  outputDir: join(out, 'pred'),
  log: () => {
    done++;
    if (done % 100 === 0) predictSamples.push({ done, ...mem() });
  },
});
const result = { passes, images, evalSamples, predictSamples };
log(
  `eval: tensors ${evalSamples.map((s) => s.tensors).join(' → ')}, RSS ${evalSamples.map((s) => s.rssMiB.toFixed(0)).join(' → ')} MiB; ` +
    `predict ${images}: tensors ${predictSamples[1]?.tensors} → ${predictSamples.at(-1)?.tensors}, RSS ${predictSamples[1]?.rssMiB.toFixed(0)} → ${predictSamples.at(-1)?.rssMiB.toFixed(0)} MiB`,
);
console.log(`EVAL_PREDICT_MEMORY_JSON ${JSON.stringify(result)}`);
