import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { benchDigits, type DigitsData, dumpDigits, meanPixel, trainDigitsClassifier } from './bench-digits.js';
import { ensureEngine } from './engine.js';

function split(pixels: number[][], labels: number[]) {
  const images = new Uint8Array(pixels.length * 28 * 28 * 3);
  pixels.forEach((rgb, i) => {
    for (let p = 0; p < 784; p++) images.set(rgb, (i * 784 + p) * 3);
  });
  return { images, labels: Uint8Array.from(labels), n: labels.length };
}

describe('road bench digits: data, mean pixel, training loop', () => {
  it('meanPixel is the per-channel mean over MNIST train and MNIST-M train only', () => {
    const data: DigitsData = {
      'mnist-train': split([[10, 20, 30]], [1]),
      'mnist-m-train': split(
        [
          [40, 50, 60],
          [100, 110, 120],
        ],
        [2, 3],
      ),
      'mnist-m-test': split([[255, 255, 255]], [4]), // not part of the mean
    };
    // (10 + 40 + 100) / 3 = 50, (20 + 50 + 110) / 3 = 60, (30 + 60 + 120) / 3 = 70.
    expect(meanPixel(data)).toEqual([50, 60, 70]);
  });

  it('dumps the splits with a manifest the PyTorch twin reads (N × 28 × 28 × 3 uint8 + labels)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-digits-'));
    const data = await dumpDigits(undefined, dir, 5);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    for (const key of ['mnist-train', 'mnist-m-train', 'mnist-m-test'] as const) {
      expect(manifest.splits[key].shape).toEqual([5, 28, 28, 3]);
      const bytes = readFileSync(join(dir, manifest.splits[key].images));
      expect(bytes.length).toBe(5 * 28 * 28 * 3);
      expect(Buffer.compare(bytes, Buffer.from(data[key].images))).toBe(0);
      expect(existsSync(join(dir, manifest.splits[key].labels))).toBe(true);
    }
    // MNIST is grey (R = G = B); MNIST-M is not.
    const m = data['mnist-train'].images;
    expect(m.every((v, i) => v === m[i - (i % 3)])).toBe(true);
    const mm = data['mnist-m-train'].images;
    expect(mm.some((v, i) => v !== mm[i - (i % 3)])).toBe(true);
  });

  it('trains each method a few steps without leaking tensors and returns an accuracy in [0, 1]', async () => {
    tf.env().set('IS_TEST', false);
    await ensureEngine('wasm', () => {});
    const data = await dumpDigits(undefined, undefined, 16);
    const mean = meanPixel(data);
    for (const method of ['source-only', 'dann', 'target-trained'] as const) {
      const before = tf.memory().numTensors;
      const r = await trainDigitsClassifier({
        method,
        seed: 1,
        steps: 3,
        batch: 8,
        data,
        mean,
        log: () => {},
        quiet: true,
      });
      expect(r.accuracy).toBeGreaterThanOrEqual(0);
      expect(r.accuracy).toBeLessThanOrEqual(1);
      expect(tf.memory().numTensors).toBe(before);
    }
  }, 60_000);

  it('runs the segmentation view (quick) on digits-seg: in-domain row, four presets, checks in the table', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-digits-seg-'));
    const prev = process.env.ROAD_CACHE;
    process.env.ROAD_CACHE = join(dir, 'cache');
    try {
      const r = await benchDigits({
        seeds: 1,
        quick: true,
        backend: 'wasm',
        outDir: join(dir, 'out'),
        log: () => {},
        quiet: true,
        torch: false,
        classification: false,
      });
      expect(Object.keys(r.segmentation)).toEqual(['in-domain', 'source-only', 'dst', 'spt', 'road']);
      for (const v of Object.values(r.segmentation)) {
        expect(v).toHaveLength(1);
        expect(v[0]).toBeGreaterThanOrEqual(0);
        expect(v[0]).toBeLessThanOrEqual(1);
      }
      expect(Object.keys(r.segmentationDigitIou)).toEqual(Object.keys(r.segmentation));
      for (const v of Object.values(r.segmentationDigitIou)) expect(v[0]).toBeLessThanOrEqual(1);
      expect(r.classification['source-only']).toEqual([]);
      expect(r.markdown).not.toMatch(/## Classification/);
      expect(r.markdown).toMatch(/\| in-domain \| [\d.]+ \| [\d.]+ \| [\d.]+ \| (≥|<) 60/);
      expect(Object.keys(r.segmentationBackgroundIou)).toEqual(Object.keys(r.segmentation));
      expect(readFileSync(join(dir, 'out', 'seg-seed-1', 'in-domain', 'config.json'), 'utf8')).toMatch(/"digits-seg"/);
      // Reported on the test digits; the teacher is supervised on the neutral look (never MNIST-M).
      expect(r.segmentationSplit).toBe('test');
      const dstConfig = JSON.parse(readFileSync(join(dir, 'out', 'seg-seed-1', 'dst', 'config.json'), 'utf8'));
      expect(dstConfig.val).toMatchObject({ kind: 'digits', split: 'test', options: { domain: 'mnist-m' } });
      // The recipe's loss weights reach only the terms each preset has on; BN frozen at the teacher's statistics.
      const lambdas = Object.fromEntries(
        ['in-domain', 'source-only', 'dst', 'spt', 'road'].map((row) => {
          const c = JSON.parse(readFileSync(join(dir, 'out', 'seg-seed-1', row, 'config.json'), 'utf8'));
          expect(c.net.bn).toBe('frozen');
          return [row, c.lambda];
        }),
      );
      expect(lambdas).toEqual({
        'in-domain': { dst: 0, spt: 0 },
        'source-only': { dst: 0, spt: 0 },
        dst: { dst: 0.1, spt: 0 },
        spt: { dst: 0, spt: 0.3 },
        road: { dst: 0.1, spt: 0.3 },
      });
      expect(r.segmentationTeacherAccuracy).toHaveLength(1);
      const teacherDirs = readdirSync(join(dir, 'cache')).filter((d) => d.startsWith('teacher-digits-seg'));
      expect(teacherDirs).toHaveLength(1);
      const pretrain = JSON.parse(readFileSync(join(dir, 'cache', teacherDirs[0], 'pretrain.json'), 'utf8'));
      expect(pretrain).toMatchObject({ task: 'segmentation', dataset: { options: { domain: 'neutral' } } });
    } finally {
      if (prev === undefined) delete process.env.ROAD_CACHE;
      else process.env.ROAD_CACHE = prev;
    }
  }, 120_000);

  it('refuses an unknown segmentation split before training anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-digits-split-'));
    await expect(
      benchDigits({
        seeds: 1,
        quick: true,
        backend: 'cpu',
        outDir: join(dir, 'out'),
        log: () => {},
        quiet: true,
        torch: false,
        classification: false,
        segSplit: 'val' as never,
      }),
    ).rejects.toThrow(/segmentation split must be test or selection, got val/);
  }, 60_000);
});
