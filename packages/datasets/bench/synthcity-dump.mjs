// Dumps SynthCity splits as raw arrays for bench/synthcity_gap.py (a PyTorch check of the domain gap):
//   node packages/datasets/bench/synthcity-dump.mjs OUT_DIR [count=400] [width=160] [height=80] [seed=0]
// Writes {split}.images.u8 ([N,H,W,3]) and {split}.labels.u8 ([N,H,W]) plus meta.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderSynthCity } from '@road/datasets';

const [out, count = '400', width = '160', height = '80', seed = '0'] = process.argv.slice(2);
if (!out) throw new Error('usage: synthcity-dump.mjs OUT_DIR [count] [width] [height] [seed]');
mkdirSync(out, { recursive: true });
const N = Number(count);
const W = Number(width);
const H = Number(height);
const sizes = { source: N, 'target-train': N, 'target-val': Math.max(50, Math.round(N / 4)) };
for (const [split, n] of Object.entries(sizes)) {
  const images = new Uint8Array(n * H * W * 3);
  const labels = new Uint8Array(n * H * W);
  for (let i = 0; i < n; i++) {
    const s = renderSynthCity(split, Number(seed), i, W, H);
    images.set(s.image, i * H * W * 3);
    labels.set(s.label, i * H * W);
  }
  writeFileSync(join(out, `${split}.images.u8`), images);
  writeFileSync(join(out, `${split}.labels.u8`), labels);
}
writeFileSync(join(out, 'meta.json'), JSON.stringify({ width: W, height: H, seed: Number(seed), sizes }));
console.log('wrote', out, JSON.stringify(sizes));
