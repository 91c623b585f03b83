import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataStats } from '../stats.js';
import { cityscapesDataset } from './cityscapes.js';
import { folderDataset } from './folder.js';
import { gta5Dataset } from './gta5.js';
import { makeCityscapes, makeFolder, makeGta5, makeSynthia, rowsLabel, tempDir, testImage } from './make-fixtures.js';
import { openOnDiskDataset } from './open.js';
import { synthiaDataset } from './synthia.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('readers'));
  await Promise.all([
    makeCityscapes(join(dir, 'cityscapes')),
    makeGta5(join(dir, 'gta5')),
    makeSynthia(join(dir, 'synthia')),
    makeFolder(join(dir, 'folder')),
  ]);
});
afterAll(() => cleanup());

/** All 19 train ids with the given counts, zeros elsewhere. */
function perId(counts: Record<number, number>, numClasses = 19): Record<string, number> {
  const out: Record<string, number> = {};
  for (let c = 0; c < numClasses; c++) out[String(c)] = counts[c] ?? 0;
  return out;
}

describe('cityscapesDataset', () => {
  it('pairs leftImg8bit with gtFine labelIds and maps to train ids', async () => {
    const ds = await cityscapesDataset({ root: join(dir, 'cityscapes') });
    expect([ds.name, ds.length, ds.numClasses]).toEqual(['cityscapes/train', 3, 19]);
    expect(ds.files.map((f) => f.name)).toEqual([
      'aachen_000000_000019',
      'aachen_000001_000019',
      'bochum_000000_000313',
    ]);
    const s = await ds.get(0);
    expect([s.name, s.width, s.height]).toEqual(['aachen_000000_000019', 8, 4]);
    expect(Array.from(s.image)).toEqual(Array.from(testImage(8, 4))); // PNG is lossless
    // label ids rows [7, 7, 26, 0] → train ids [0, 0, 13, 255]
    expect(Array.from(s.label as Uint8Array)).toEqual(Array.from(rowsLabel(8, [0, 0, 13, 255])));
  });

  it('exact train-id histograms (train and val splits)', async () => {
    // train: aachen_0 road 16, car 8, ignore 8; aachen_1 sky 8, building 16, person 8;
    //        bochum bicycle 8, train 8, ignore 16 (parking 9 and id 255 = -1)
    const train = await dataStats(await cityscapesDataset({ root: join(dir, 'cityscapes') }));
    expect(train).toEqual({
      dataset: 'cityscapes/train',
      images: 3,
      labeledImages: 3,
      pixelsPerTrainId: perId({ 0: 16, 2: 16, 10: 8, 11: 8, 13: 8, 16: 8, 18: 8 }),
      ignorePixels: 24,
      bad: 0,
      badFiles: [],
    });
    // val: frankfurt rows [7, 7, 7, 8] → road 24, sidewalk 8
    const val = await dataStats(await openOnDiskDataset('cityscapes', join(dir, 'cityscapes'), 'val'));
    expect([val.images, val.pixelsPerTrainId, val.ignorePixels]).toEqual([1, perId({ 0: 24, 1: 8 }), 0]);
  });

  it('labels: false reads images only (no gtFine needed)', async () => {
    const ds = await cityscapesDataset({ root: join(dir, 'cityscapes'), split: 'val', labels: false });
    const s = await ds.get(0);
    expect(s.label).toBeUndefined();
    const st = await dataStats(ds);
    expect([st.images, st.labeledImages, st.ignorePixels]).toEqual([1, 0, 0]);
  });
});

describe('gta5Dataset', () => {
  it('palette labels are read as indices (Cityscapes ids); exact histogram over all images', async () => {
    const ds = await gta5Dataset({ root: join(dir, 'gta5') });
    expect([ds.name, ds.length]).toEqual(['gta5/all', 3]);
    const s = await ds.get(0);
    // 00001 rows [7, 21, 26] → [road, vegetation, car]
    expect(Array.from(s.label as Uint8Array)).toEqual(Array.from(rowsLabel(6, [0, 8, 13])));
    // 00001 road 6 veg 6 car 6; 00002 sidewalk 12 ignore 6; 00003 truck 6 bus 6 motorcycle 6
    const st = await dataStats(ds);
    expect([st.images, st.pixelsPerTrainId, st.ignorePixels]).toEqual([
      3,
      perId({ 0: 6, 1: 12, 8: 6, 13: 6, 14: 6, 15: 6, 17: 6 }),
      6,
    ]);
  });

  it('split lists: {root}/train.txt and {root}/splits/val.txt, names with or without extension', async () => {
    const train = await gta5Dataset({ root: join(dir, 'gta5'), split: 'train' });
    expect(train.files.map((f) => f.name)).toEqual(['00001', '00003']);
    const st = await dataStats(train);
    expect([st.images, st.pixelsPerTrainId, st.ignorePixels]).toEqual([
      2,
      perId({ 0: 6, 8: 6, 13: 6, 14: 6, 15: 6, 17: 6 }),
      0,
    ]);
    const val = await openOnDiskDataset('gta5', join(dir, 'gta5'), 'val');
    expect(val.files.map((f) => f.name)).toEqual(['00002']);
    const custom = await gta5Dataset({ root: join(dir, 'gta5'), splitFile: join(dir, 'gta5', 'splits', 'val.txt') });
    expect(custom.files.map((f) => f.name)).toEqual(['00002']);
  });
});

describe('synthiaDataset', () => {
  it('16-bit labels: class id from channel 0, decoded exactly; exact histogram', async () => {
    const ds = await synthiaDataset({ root: join(dir, 'synthia') });
    const s = await ds.get(0);
    // rows [1, 3, 10, 22] → sky, road, person, ignore. An 8-bit conversion (v/257) would make everything void (255),
    // and channel 1 (instance ids 259..262) would fail as unknown ids.
    expect(Array.from(s.label as Uint8Array)).toEqual(Array.from(rowsLabel(5, [10, 0, 11, 255])));
    const st = await dataStats(ds);
    // 0000000: sky 5, road 5, person 5, ignore 5; 0000001: wall 5, bus 5, rider 5, motorcycle 5
    expect([st.images, st.pixelsPerTrainId, st.ignorePixels]).toEqual([
      2,
      perId({ 0: 5, 3: 5, 10: 5, 11: 5, 12: 5, 15: 5, 17: 5 }),
      5,
    ]);
    await expect((await synthiaDataset({ root: join(dir, 'synthia'), labelChannel: 1 })).get(0)).rejects.toThrow(
      /label id 259 at pixel \(x 0, y 0\) is not in the label map \(SYNTHIA class-id map\)/,
    );
  });
});

describe('folderDataset', () => {
  it('images (png, jpg) with train-id labels; exact histogram', async () => {
    const ds = await folderDataset({ root: join(dir, 'folder') });
    expect([ds.name, ds.length, ds.labeled]).toEqual(['folder/folder', 2, true]);
    expect(ds.files.map((f) => f.name)).toEqual(['a', 'b']);
    // a rows [0, 1, 2, 255]: 4 each; b (palette) rows all 18: 16
    const st = await dataStats(ds);
    expect([st.images, st.pixelsPerTrainId, st.ignorePixels]).toEqual([2, perId({ 0: 4, 1: 4, 2: 4, 18: 16 }), 4]);
  });

  it('labels: false and a smaller label space', async () => {
    const un = await folderDataset({ root: join(dir, 'folder'), labels: false });
    expect(un.labeled).toBe(false);
    expect((await un.get(1)).label).toBeUndefined();
    // numClasses 3: label value 18 of b.png is not a train id.
    const small = await folderDataset({ root: join(dir, 'folder'), numClasses: 3 });
    expect((await dataStats(small, { skipBad: true, onWarning: () => {} })).pixelsPerTrainId).toEqual(
      perId({ 0: 4, 1: 4, 2: 4 }, 3),
    );
    await expect(small.get(1)).rejects.toThrow(/b\.png: label id 18 at pixel \(x 0, y 0\) is not in the label map/);
  });
});

describe('openOnDiskDataset', () => {
  it('dispatches by kind and rejects unknown kinds', async () => {
    expect((await openOnDiskDataset('synthia', join(dir, 'synthia'))).name).toBe('synthia/all');
    expect((await openOnDiskDataset('folder', join(dir, 'folder'))).length).toBe(2);
    await expect(openOnDiskDataset('kitti', dir)).rejects.toThrow('unknown dataset kind "kitti"');
  });
});
