#!/usr/bin/env node
// One SynthCity training run of the bench recipe evaluated on target-val (selection/diagnosis only, never target-test),
// with a summary of its logged loss terms (means over steps 1–50, 351–400, 751–800). Build first (`pnpm build`).
// Usage: node bench/diagnostics/synthcity-run.mjs NAME PRESET SEED [key=value …]
//   env TEACHER=seg: teacher = supervised segmentation on the labelled neutral pool (else rotation on neutral);
//   env TSTEPS=N: teacher pretraining steps (default 300). Runs go to runs/diagnostics/NAME-sSEED.
import { readFileSync } from 'node:fs';
import { cachedTeacher, demoConfig, trainRun } from '../../apps/trainer/dist/index.js';

const [, , name, preset, seedS, ...sets] = process.argv;
if (!name || !preset || !seedS) {
  console.error('usage: synthcity-run.mjs NAME PRESET SEED [key=value …]');
  process.exit(2);
}
const seed = Number(seedS);
const log = () => {};
const segT = process.env.TEACHER === 'seg';
const teacher = await cachedTeacher(`${process.env.HOME}/.cache/road`, {
  steps: Number(process.env.TSTEPS ?? 300),
  batch: 4,
  crop: 64,
  lr: 0.002,
  ...(segT
    ? { task: 'segmentation', dataset: { kind: 'synthcity', split: 'neutral', options: { labels: true } } }
    : { dataset: 'synthcity#neutral' }),
  net: 'road-lite',
  seed,
  backend: 'auto',
  log,
  quiet: true,
});
const cfg = demoConfig(preset, false, seed, ['val={"kind":"synthcity","split":"target-val"}', 'evalLimit=0', ...sets]);
const t0 = Date.now();
const out = `runs/diagnostics/${name}-s${seed}`;
const r = await trainRun(cfg, { outDir: out, teacherCheckpoint: teacher.checkpoint, log, quiet: true, report: false });
const rows = readFileSync(`${out}/metrics.jsonl`, 'utf8')
  .trim()
  .split('\n')
  .map((l) => JSON.parse(l))
  .filter((x) => x.loss_seg !== undefined);
const avg = (a, b, k) => {
  const s = rows
    .slice(a, b)
    .map((x) => x[k])
    .filter((v) => typeof v === 'number');
  return s.reduce((x, y) => x + y, 0) / s.length;
};
const summ = {};
for (const k of Object.keys(rows[0]))
  if (k !== 'step') summ[k] = [avg(0, 50, k), avg(350, 400, k), avg(750, 800, k)].map((v) => +v.toPrecision(4));
console.log(
  JSON.stringify({
    teacher: teacher.checkpoint,
    teacherAccuracy: teacher.accuracy,
    name,
    preset,
    seed,
    sets,
    split: 'target-val',
    miou: +(100 * (r.final.miouPresent ?? r.final.miou)).toFixed(2),
    secs: (Date.now() - t0) / 1000,
    summ,
  }),
);
