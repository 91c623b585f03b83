import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderSynthCity } from '@road/datasets';
import { describe, expect, it } from 'vitest';
import { dumpSynthCity } from './bench-synthcity-dump.js';

describe('dumpSynthCity (input of bench/reference/road_synthcity.py)', () => {
  it('writes raw uint8 images (N × H × W × 3) and labels (N × H × W) byte for byte as @road/datasets renders them', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-synthcity-dump-'));
    const { manifest } = await dumpSynthCity(dir, {
      splits: ['source', 'neutral'],
      limits: { source: 3, neutral: 2 },
      classIds: [0, 1],
      recipe: { steps: 5 },
    });
    const onDisk = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
    expect(onDisk).toEqual(JSON.parse(JSON.stringify(manifest)));
    expect(onDisk.splits.source).toEqual({
      shape: [3, 80, 160, 3],
      images: 'source.images.u8',
      labels: 'source.labels.u8',
    });
    // The neutral pool is unlabeled: no labels file.
    expect(onDisk.splits.neutral).toEqual({ shape: [2, 80, 160, 3], images: 'neutral.images.u8' });
    expect(onDisk.classIds).toEqual([0, 1]);
    expect(onDisk.recipe).toEqual({ steps: 5 });
    const images = readFileSync(join(dir, 'source.images.u8'));
    const labels = readFileSync(join(dir, 'source.labels.u8'));
    expect(images.length).toBe(3 * 80 * 160 * 3);
    expect(labels.length).toBe(3 * 80 * 160);
    const third = renderSynthCity('source', 0, 2);
    expect(Buffer.compare(images.subarray(2 * 80 * 160 * 3), Buffer.from(third.image))).toBe(0);
    expect(Buffer.compare(labels.subarray(2 * 80 * 160), Buffer.from(third.label as Uint8Array))).toBe(0);
    const n1 = readFileSync(join(dir, 'neutral.images.u8'));
    expect(Buffer.compare(n1.subarray(80 * 160 * 3), Buffer.from(renderSynthCity('neutral', 0, 1).image))).toBe(0);
  });

  it('refuses a limit below 1, naming the split', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-synthcity-dump-'));
    await expect(
      dumpSynthCity(dir, { splits: ['target-test'], limits: { 'target-test': 0 }, classIds: [], recipe: {} }),
    ).rejects.toThrow(/target-test/);
  });
});
