// A long training run with its memory watched: the road preset (the demo's recipe) for N steps, sampling
// tf.memory().numTensors and the process RSS every K steps; prints the least-squares slope of both after warm-up.
// Any steady growth is a leak.
//
//   node bench/node/long-run.mjs [--steps 2000] [--every 50] [--warmup 200] [--backend auto]
//
// Uses the built packages (pnpm build). Prints `LONG_RUN_JSON {...}` with the samples and the slopes.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { parseArgs } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const steps = Number(args.steps ?? 2000);
const every = Number(args.every ?? 50);
const warmup = Number(args.warmup ?? 200);
const backend = args.backend ?? 'auto';
const log = (l) => process.stderr.write(`[long-run] ${l}\n`);
const { cachedTeacher, demoConfig, DEMO_RECIPE, trainRun } = await import('@road/trainer');

const out = mkdtempSync(join(tmpdir(), 'road-long-run-'));
const teacher = await cachedTeacher(join(out, 'teacher'), {
  ...DEMO_RECIPE.full.pretrain,
  dataset: 'synthcity',
  net: 'road-lite',
  seed: 1,
  backend,
  log,
  quiet: true,
});
const config = demoConfig('road', false, 1, [
  `steps=${steps}`,
  'evalEvery=0',
  `checkpointEvery=${Math.max(every, 500)}`,
]);
const samples = [];
const t0 = Date.now();
const summary = await trainRun(config, {
  outDir: join(out, 'run'),
  teacherCheckpoint: teacher.checkpoint,
  quiet: true,
  report: false,
  log,
  beforeStep: (s) => {
    if (s === 1 || s % every === 0)
      samples.push({
        step: s,
        tensors: tf.memory().numTensors,
        rssMiB: process.memoryUsage().rss / 2 ** 20,
        seconds: (Date.now() - t0) / 1000,
      });
  },
});
/** Least-squares slope of y over x. */
function slope(points, key) {
  const p = points.filter((s) => s.step >= warmup);
  const n = p.length;
  if (n < 2) return null;
  const mx = p.reduce((a, s) => a + s.step, 0) / n;
  const my = p.reduce((a, s) => a + s[key], 0) / n;
  const num = p.reduce((a, s) => a + (s.step - mx) * (s[key] - my), 0);
  const den = p.reduce((a, s) => a + (s.step - mx) ** 2, 0);
  return num / den;
}
const result = {
  steps,
  backend: summary.backend,
  seconds: summary.seconds,
  finalMiou: summary.final ? (summary.final.miouPresent ?? summary.final.miou) : null,
  tensorsPer1000Steps: 1000 * slope(samples, 'tensors'),
  rssMiBPer1000Steps: 1000 * slope(samples, 'rssMiB'),
  rssMiB: { afterWarmup: samples.find((s) => s.step >= warmup)?.rssMiB, last: samples.at(-1)?.rssMiB },
  tensors: { afterWarmup: samples.find((s) => s.step >= warmup)?.tensors, last: samples.at(-1)?.tensors },
  samples,
};
log(
  `${steps} steps in ${summary.seconds.toFixed(0)} s: tensors ${result.tensors.afterWarmup} → ${result.tensors.last} (slope ${result.tensorsPer1000Steps.toFixed(2)}/1000 steps), RSS ${result.rssMiB.afterWarmup?.toFixed(0)} → ${result.rssMiB.last?.toFixed(0)} MiB (slope ${result.rssMiBPer1000Steps.toFixed(2)} MiB/1000 steps)`,
);
console.log(`LONG_RUN_JSON ${JSON.stringify(result)}`);
