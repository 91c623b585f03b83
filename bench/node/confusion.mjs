// Confusion-matrix counting throughput of @road/metrics on 2048×1024 maps (19 classes, ~10% ignore), against
// numpy's bincount on the same maps (bench/reference/confusion_numpy.py, which also checks both count the same).
//   node bench/node/confusion.mjs [--runs 9] [--no-numpy]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCH_DIR, emit, median, PYTHON, parseArgs } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const runs = Math.max(1, Number(args.runs ?? 9));
const { ConfusionMatrix } = await import('@road/metrics');
const W = 2048;
const H = 1024;
const N = 19;
const len = W * H;
let s = 42;
const rand = () => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return s >>> 8;
};
const pred = new Uint8Array(len);
const label = new Uint8Array(len);
for (let i = 0; i < len; i++) {
  pred[i] = rand() % N;
  label[i] = rand() % 10 === 0 ? 255 : rand() % N;
}

function time(fn) {
  fn();
  const ms = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    ms.push(performance.now() - t0);
  }
  return median(ms);
}
const cm = new ConfusionMatrix(N);
const ms = time(() => cm.update(pred, label));
const result = {
  bench: 'confusion',
  pixels: len,
  classes: N,
  runs,
  medianMs: ms,
  mpixPerSec: len / (ms * 1000),
  numpy: null,
};

if (!args['no-numpy']) {
  const ref = new ConfusionMatrix(N).update(pred, label);
  const dir = mkdtempSync(join(tmpdir(), 'road-bench-cm-'));
  try {
    writeFileSync(join(dir, 'pred.u8'), pred);
    writeFileSync(join(dir, 'label.u8'), label);
    writeFileSync(join(dir, 'expected.json'), JSON.stringify(Array.from(ref.counts)));
    const out = execFileSync(
      PYTHON,
      [join(BENCH_DIR, 'reference/confusion_numpy.py'), dir, String(len), String(N), String(runs)],
      {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    result.numpy = JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    result.numpy = {
      error: String(e.stderr || e.message)
        .trim()
        .split('\n')
        .pop(),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
emit(result);
