import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSegmentationNet } from '@road/backbone';
import { CITYSCAPES_CLASSES, CITYSCAPES_PALETTE, normalizeImage } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { loadLayersModel } from '@tensorflow/tfjs-layers';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { road } from './cli-in-process.js';
import { exportWeb, paletteFor, readWebExport, SHARD_BYTES } from './export-web.js';
import { loadNetFromCheckpoint } from './predict.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-export-${p}-`));

afterEach(() => vi.restoreAllMocks());

// One tiny SynthCity run (cpu, 2 steps): its checkpoint is what every test exports.
let run = '';
beforeAll(async () => {
  run = tmp('run');
  const t = await road(
    'train',
    '--config',
    'source-only',
    '--out',
    run,
    '-q',
    '--backend',
    'cpu',
    '--set',
    'net.width=0.25',
    '--set',
    'crop=16x32',
    '--set',
    'batch.source=1',
    '--set',
    'steps=2',
    '--set',
    'evalLimit=1',
  );
  expect(t.code, t.err).toBe(0);
});

/** A fixed 24×40 test image: a few colour bands and a gradient (deterministic, no RNG). */
function fixedImage(h = 24, w = 40): Uint8Array {
  const img = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const i = (y * w + x) * 3;
      img[i] = (x * 6 + y * 3) % 256;
      img[i + 1] = y < h / 2 ? 200 : 40;
      img[i + 2] = (x * y) % 256;
    }
  return img;
}

describe('road export --web', () => {
  it('writes model.json, weight shards and road-web.json; the export predicts what the checkpoint predicts', async () => {
    const out = tmp('web');
    const r = await road('export', '--web', run, '--out', out);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/3 files written to /);
    const { artifacts, meta } = readWebExport(out);
    expect(meta.format).toBe('road-web/1');
    expect(meta.net.name).toBe('road-lite');
    expect(meta.classes).toEqual([...CITYSCAPES_CLASSES]);
    expect(meta.palette).toEqual(CITYSCAPES_PALETTE.map((c) => [...c]));
    // SynthCity's eight classes: road, sidewalk, building, pole, vegetation, sky, person, car
    expect(meta.presentClasses).toEqual([0, 1, 2, 5, 8, 10, 11, 13]);
    expect(meta.normalization.mode).toBe('imagenet');
    expect(meta.normalization.mean).toEqual([0.485, 0.456, 0.406]);
    const model = JSON.parse(readFileSync(join(out, 'model.json'), 'utf8'));
    expect(model.format).toBe('layers-model');
    expect(model.weightsManifest[0].paths).toEqual(['group1-shard1of1.bin']);

    const h = 24;
    const w = 40;
    const x = tf.tensor4d(normalizeImage(fixedImage(h, w), meta.normalization.mode), [1, h, w, 3]);
    const ref = loadNetFromCheckpoint(run);
    // road's loader (rebuilds the net from its name, loads every weight by name, shapes checked)
    const exported = await loadSegmentationNet(tf.io.fromMemory(artifacts));
    // and tfjs's own layers-model loader (the stored topology)
    const plain = await loadLayersModel(tf.io.fromMemory(artifacts));
    try {
      // net.predict: the model's stride-8 logits upsampled to the input size; model.predict: the stored model alone
      const [a, b, lowA, lowC] = tf.tidy(() => [
        ref.net.predict(x),
        exported.predict(x),
        ref.net.model.predict(x) as tf.Tensor,
        plain.predict(x) as tf.Tensor,
      ]);
      expect(a.shape).toEqual([1, h, w, 19]);
      // same weights, same backend, same ops: the same numbers
      expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
      expect(lowC.shape).toEqual(lowA.shape);
      expect(Array.from(lowC.dataSync())).toEqual(Array.from(lowA.dataSync()));
      tf.dispose([a, b, lowA, lowC]);
    } finally {
      tf.dispose(x);
      ref.net.dispose();
      exported.dispose();
      plain.dispose();
    }
  });

  it('splits the weights into shards (4 MiB by default) and reads them back in order', async () => {
    const dir = tmp('shards');
    const shardBytes = 4096;
    const before = tf.memory().numTensors;
    await exportWeb({ run, out: dir, shardBytes });
    expect(tf.memory().numTensors).toBe(before); // the net it loaded is disposed
    const { artifacts } = readWebExport(dir);
    const bytes = (artifacts.weightData as ArrayBuffer).byteLength;
    const shards = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')).weightsManifest[0].paths;
    expect(SHARD_BYTES).toBe(4 * 1024 * 1024);
    expect(bytes).toBeGreaterThan(shardBytes * 3);
    expect(shards).toHaveLength(Math.ceil(bytes / shardBytes));
    expect(shards[1]).toBe(`group1-shard2of${shards.length}.bin`);
    const ref = loadNetFromCheckpoint(run);
    const exported = await loadSegmentationNet(tf.io.fromMemory(artifacts));
    try {
      const refW = ref.net.model.getWeights();
      const expW = exported.model.getWeights();
      expect(expW.length).toBe(refW.length);
      for (let i = 0; i < refW.length; i++)
        expect(Array.from(expW[i].dataSync())).toEqual(Array.from(refW[i].dataSync()));
    } finally {
      ref.net.dispose();
      exported.dispose();
    }
  });

  it('refuses a missing run, a missing format flag, and reports a missing shard by name', async () => {
    const missing = await road('export', '--web', join(tmpdir(), 'no-such-run-folder'));
    expect(missing.code).toBe(2);
    expect(missing.err).toMatch(/run folder missing: .*no-such-run-folder/);
    const noFormat = await road('export', run);
    expect(noFormat.code).toBe(2);
    expect(noFormat.err).toMatch(/choose a format: --web/);
    const out = tmp('broken');
    expect((await road('export', '--web', run, '--out', out)).code).toBe(0);
    rmSync(join(out, 'group1-shard1of1.bin'));
    expect(() => readWebExport(out)).toThrow(/weight shard .*group1-shard1of1\.bin is missing/);
    writeFileSync(join(out, 'model.json'), '{not json');
    expect(() => readWebExport(out)).toThrow(/model\.json is not valid JSON/);
  });

  it('palettes: Cityscapes for 19 classes, distinct colours otherwise', () => {
    expect(paletteFor(19)[13]).toEqual([0, 0, 142]);
    const p = paletteFor(11);
    expect(p).toHaveLength(11);
    expect(new Set(p.map((c) => c.join(','))).size).toBe(11);
    // By hand: hues k/6 are the corners of the hue wheel with channels 40 and 230.
    expect(paletteFor(6)).toEqual([
      [230, 40, 40],
      [230, 230, 40],
      [40, 230, 40],
      [40, 230, 230],
      [40, 40, 230],
      [230, 40, 230],
    ]);
    // Hue 1/12: halfway from red to yellow, the rising channel at 40 + 190 / 2 = 135.
    expect(paletteFor(12)[1]).toEqual([230, 135, 40]);
  });
});
