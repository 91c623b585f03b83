#!/usr/bin/env node
// Calls the addon's conv2d / conv2dBackpropInput on random small shapes in a loop from one JS thread, as a
// training step's many small kernels do: the end-to-end check of the thread pool under real kernels.
//   node scripts/addon-stress.mjs [--seconds 40] [--threads 2] [--seed 1]
// Prints the number of calls; a hang or a crash of the pool shows as a process that never ends or dies (run it
// under `timeout`).
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '40' },
    threads: { type: 'string', default: '2' },
    seed: { type: 'string', default: '1' },
  },
});
const { addon, reason } = createRequire(import.meta.url)('../index.js').loadNative();
if (addon == null) {
  console.error(`addon-stress: no native kernels (${reason})`);
  process.exit(2);
}
addon.configure({ threads: Number(values.threads) });
const heap = new ArrayBuffer(64 << 20);
let s = Number(values.seed) >>> 0 || 1;
const rnd = (n) => {
  s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
  return 1 + (s % n);
};
const end = Date.now() + 1000 * Number(values.seconds);
let calls = 0;
while (Date.now() < end) {
  for (let i = 0; i < 1000; i++) {
    const h = rnd(12);
    const w = rnd(12);
    const ci = rnd(8);
    const co = rnd(16);
    const k = Math.min(rnd(3), h, w);
    const g = [1, h, w, ci, h - k + 1, w - k + 1, co, k, k, 1, 1, 1, 1, 0, 0];
    const xs = h * w * ci * 4;
    const ws = k * k * ci * co * 4;
    if (i & 1) addon.conv2d(heap, 0, xs, -1, xs + ws, g, false);
    else addon.conv2dBackpropInput(heap, xs + ws, xs, 0, g);
    calls++;
  }
}
console.log(`addon-stress: ${calls} kernel calls in ${values.seconds} s on ${addon.info().threads} threads, no hang`);
