// Decode throughput of on-disk image+label pairs at 1024×512 (images/s, median of several passes), through
// @road/datasets' readers.
//   node bench/node/decode.mjs [--pairs 16] [--passes 5]     (after `pnpm build`; `pnpm bench` runs it as 'decode')
// Writes `pairs` GTA5-layout pairs (RGB PNG by sharp, 8-bit palette label with Cityscapes ids) and SYNTHIA-layout
// pairs (16-bit RGB label) to a temp dir, then times dataset.get() sequentially and with 4 samples in flight, and
// the image and label decoders alone (label: road's exact decoder vs sharp's 8-bit raw decode for reference).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { gta5Dataset, readLabelPng, readRgb, synthiaDataset, writePng } from '@road/datasets';
import { emit, parseArgs } from '../lib/common.mjs';

const require = createRequire(import.meta.url);
const sharp = require('sharp');
const args = parseArgs(process.argv.slice(2));
const pairs = Number(args.pairs ?? 16);
const passes = Number(args.passes ?? 5);
const W = 1024;
const H = 512;

/** Photo-like content: smooth gradients + mild noise (compresses like a real frame, unlike pure noise). */
function image(seed) {
  const out = new Uint8Array(W * H * 3);
  let s = seed;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const n = (s >>> 28) - 8;
      const o = (y * W + x) * 3;
      out[o] = (x / 4 + y / 8 + n + seed * 13) & 255;
      out[o + 1] = ((y * 255) / H + n) & 255;
      out[o + 2] = (128 + 100 * Math.sin((x + seed * 50) / 60) + n) & 255;
    }
  }
  return out;
}

/** Street-like label: sky / building / road bands plus a few car boxes (Cityscapes ids). */
function labelIds(seed) {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const id = y < H * 0.3 ? 23 : y < H * 0.55 ? 11 : y < H * 0.6 ? 8 : 7;
    out.fill(id, y * W, (y + 1) * W);
  }
  for (let k = 0; k < 5; k++) {
    const x0 = (seed * 97 + k * 211) % (W - 120);
    for (let y = 300; y < 380; y++) out.fill(26, y * W + x0, y * W + x0 + 120);
  }
  return out;
}

const palette = Array.from({ length: 34 }, (_, i) => [(i * 53) & 255, (i * 97) & 255, (i * 191) & 255]);
const dir = mkdtempSync(join(tmpdir(), 'road-decode-bench-'));
try {
  for (const d of ['gta5/images', 'gta5/labels', 'synthia/RGB', 'synthia/GT/LABELS'])
    mkdirSync(join(dir, d), { recursive: true });
  const synthiaIds = { 23: 1, 11: 2, 8: 4, 7: 3, 26: 8 };
  for (let i = 0; i < pairs; i++) {
    const name = `${String(i).padStart(5, '0')}.png`;
    const png = await sharp(image(i), { raw: { width: W, height: H, channels: 3 } })
      .png()
      .toBuffer();
    await sharp(png).toFile(join(dir, 'gta5/images', name));
    await sharp(png).toFile(join(dir, 'synthia/RGB', name));
    const ids = labelIds(i);
    await writePng(join(dir, 'gta5/labels', name), { data: ids, width: W, height: H, palette });
    const lab16 = new Uint16Array(W * H * 3);
    for (let p = 0; p < W * H; p++) {
      lab16[3 * p] = synthiaIds[ids[p]];
      lab16[3 * p + 1] = ids[p] === 26 ? 300 + (p % 5) : 0;
    }
    await sharp(lab16, { raw: { width: W, height: H, channels: 3 } })
      .toColourspace('rgb16')
      .png()
      .toFile(join(dir, 'synthia/GT/LABELS', name));
  }

  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  async function rate(n, fn) {
    const rates = [];
    for (let p = 0; p < passes; p++) {
      const t0 = performance.now();
      await fn();
      rates.push(n / ((performance.now() - t0) / 1000));
    }
    return median(rates);
  }
  async function inFlight(ds, k) {
    let next = 0;
    await Promise.all(
      Array.from({ length: k }, async () => {
        while (next < ds.length) await ds.get(next++);
      }),
    );
  }

  const gta = await gta5Dataset({ root: join(dir, 'gta5') });
  const syn = await synthiaDataset({ root: join(dir, 'synthia') });
  await inFlight(gta, 1); // warm-up
  const files = gta.files;
  const rows = [
    ['GTA5 pairs, get() one at a time', await rate(pairs, () => inFlight(gta, 1))],
    ['GTA5 pairs, get() 4 in flight', await rate(pairs, () => inFlight(gta, 4))],
    ['SYNTHIA pairs (16-bit labels), 1 at a time', await rate(pairs, () => inFlight(syn, 1))],
    ['SYNTHIA pairs (16-bit labels), 4 in flight', await rate(pairs, () => inFlight(syn, 4))],
    [
      'image only: readRgb (sharp), 1 at a time',
      await rate(pairs, async () => {
        for (const f of files) await readRgb(f.image);
      }),
    ],
    [
      'label only: readLabelPng palette (road decoder)',
      await rate(pairs, async () => {
        for (const f of files) await readLabelPng(f.label);
      }),
    ],
    [
      'label only: sharp raw decode (colours, reference)',
      await rate(pairs, async () => {
        for (const f of files) await sharp(f.label).raw().toBuffer();
      }),
    ],
    [
      'label only: readLabelPng 16-bit RGB ch0 (SYNTHIA)',
      await rate(pairs, async () => {
        for (const f of syn.files) await readLabelPng(f.label);
      }),
    ],
  ];
  const header = `decode ${W}x${H}, ${pairs} pairs, median of ${passes} passes, ${cpus().length} CPUs, sharp threads ${sharp.concurrency()}`;
  process.stderr.write(`${header}\n`);
  for (const [k, v] of rows) process.stderr.write(`  ${k.padEnd(52)} ${v.toFixed(1)} images/s\n`);
  emit({
    bench: 'decode',
    header,
    pairs,
    passes,
    rows: rows.map(([label, imagesPerSec]) => ({ label, imagesPerSec })),
  });
} finally {
  rmSync(dir, { recursive: true, force: true });
}
