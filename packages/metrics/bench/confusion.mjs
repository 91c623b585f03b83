// Confusion-matrix counting throughput on 2048×1024 maps (19 classes, ~10% ignore), vs numpy's bincount.
// Usage: pnpm --filter @road/metrics build && node packages/metrics/bench/confusion.mjs [runs=9]
// Writes the same maps to a temp dir, runs confusion_numpy.py on them with /usr/bin/python3, checks both
// count the same matrix, and prints Mpixel/s (median of `runs`) for each.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfusionMatrix } from '../dist/index.js';

const runs = Number(process.argv[2] ?? 9);
const W = 2048;
const H = 1024;
const N = 19;
const len = W * H;
let s = 42;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s;
};
const pred = new Uint8Array(len);
const label = new Uint8Array(len);
for (let i = 0; i < len; i++) {
  pred[i] = rand() % N;
  label[i] = rand() % 10 === 0 ? 255 : rand() % N;
}

function time(fn) {
  const times = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  times.sort((a, b) => a - b);
  return times[times.length >> 1];
}

const mpx = (sec) => (len / sec / 1e6).toFixed(0);
const results = {};
const cm = new ConfusionMatrix(N);
cm.update(pred, label); // warm-up
const tU8 = time(() => cm.update(pred, label));
results['road uint8 maps'] = mpx(tU8);
const pred32 = Int32Array.from(pred);
const label32 = Int32Array.from(label);
const cm32 = new ConfusionMatrix(N);
cm32.update(pred32, label32);
const tI32 = time(() => cm32.update(pred32, label32));
results['road int32 maps (tensor download path)'] = mpx(tI32);

// Reference: one matrix over one map, to compare with numpy.
const ref = new ConfusionMatrix(N).update(pred, label);
const dir = mkdtempSync(join(tmpdir(), 'road-cm-bench-'));
try {
  writeFileSync(join(dir, 'pred.u8'), pred);
  writeFileSync(join(dir, 'label.u8'), label);
  writeFileSync(join(dir, 'expected.json'), JSON.stringify(Array.from(ref.counts)));
  const out = execFileSync(
    '/usr/bin/python3',
    [new URL('./confusion_numpy.py', import.meta.url).pathname, dir, String(W * H), String(N), String(runs)],
    { encoding: 'utf8' },
  );
  Object.assign(results, JSON.parse(out));
} catch (e) {
  results.numpy = `unavailable: ${e.message.split('\n')[0]}`;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`confusion matrix, ${W}x${H} maps, ${N} classes, median of ${runs} runs (Mpixel/s):`);
for (const [k, v] of Object.entries(results)) console.log(`  ${k.padEnd(44)} ${v}`);
