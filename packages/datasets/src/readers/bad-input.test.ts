import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError } from '../image-io.js';
import { dataStats } from '../stats.js';
import { cityscapesDataset } from './cityscapes.js';
import { folderDataset } from './folder.js';
import { gta5Dataset } from './gta5.js';
import {
  makeCityscapes,
  makeFolder,
  makeGta5,
  makeSynthia,
  tempDir,
  writeGreyLabel,
  writeImage,
  writeSynthiaLabel,
} from './make-fixtures.js';
import { openOnDiskDataset } from './open.js';
import { synthiaDataset } from './synthia.js';

let dir: string;
let cleanup: () => Promise<void>;
let n = 0;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('bad-input'));
  await Promise.all([
    makeCityscapes(join(dir, 'base', 'cityscapes')),
    makeGta5(join(dir, 'base', 'gta5')),
    makeSynthia(join(dir, 'base', 'synthia')),
    makeFolder(join(dir, 'base', 'folder')),
  ]);
});
afterAll(() => cleanup());

/** A fresh copy of one base fixture. */
async function copyOf(kind: string): Promise<string> {
  const to = join(dir, `case${n++}`, kind);
  await cp(join(dir, 'base', kind), to, { recursive: true });
  return to;
}

/** Runs `fn`, expects a DatasetError for `file` whose message matches `re`. */
async function expectDatasetError(fn: () => Promise<unknown>, file: string, re: RegExp): Promise<void> {
  const err = await fn().then(
    () => null,
    (e) => e,
  );
  expect(err).toBeInstanceOf(DatasetError);
  expect({ file: err.file, message: err.message }).toEqual({ file, message: expect.stringMatching(re) });
}

const quiet = { onWarning: () => {} };

describe('bad input: one clear error naming the file', () => {
  it('missing root or layout folder', async () => {
    const missing = join(dir, 'does-not-exist');
    for (const kind of ['cityscapes', 'gta5', 'synthia', 'folder']) {
      await expectDatasetError(() => openOnDiskDataset(kind, missing), missing, /root not found|folder not found/);
    }
    const gta = await copyOf('gta5');
    await rm(join(gta, 'labels'), { recursive: true });
    await expectDatasetError(() => gta5Dataset({ root: gta }), join(gta, 'labels'), /GTA5 label folder not found/);
    const cs = await copyOf('cityscapes');
    await expectDatasetError(
      () => cityscapesDataset({ root: cs, split: 'test' }),
      join(cs, 'leftImg8bit', 'test'),
      /image folder for split "test" not found/,
    );
    const empty = join(dir, 'empty-folder');
    await mkdir(join(empty, 'images'), { recursive: true });
    await expectDatasetError(() => folderDataset({ root: empty }), join(empty, 'images'), /no images found/);
  });

  it('image without label: error at open; skipBad warns, counts and leaves it out', async () => {
    const gta = await copyOf('gta5');
    await writeImage(join(gta, 'images', '00009.png'), 6, 3);
    const orphan = join(gta, 'images', '00009.png');
    await expectDatasetError(
      () => gta5Dataset({ root: gta }),
      orphan,
      /image has no label \(expected .*labels\/00009\.png\)/,
    );
    const warnings: string[] = [];
    const ds = await gta5Dataset({ root: gta, skipBad: true, onWarning: (m) => warnings.push(m) });
    expect([ds.length, ds.badCount]).toEqual([3, 1]);
    expect(warnings).toEqual([expect.stringContaining(`skipping ${orphan}: image has no label`)]);
    const st = await dataStats(ds, { skipBad: true, ...quiet });
    expect([st.images, st.bad, st.badFiles[0].file]).toEqual([3, 1, orphan]);

    const cs = await copyOf('cityscapes');
    const label = join(cs, 'gtFine', 'train', 'bochum', 'bochum_000000_000313_gtFine_labelIds.png');
    await rm(label);
    await expectDatasetError(
      () => cityscapesDataset({ root: cs }),
      join(cs, 'leftImg8bit', 'train', 'bochum', 'bochum_000000_000313_leftImg8bit.png'),
      /image has no label/,
    );
    expect((await cityscapesDataset({ root: cs, skipBad: true, ...quiet })).length).toBe(2);
  });

  it('split entries: missing image, unknown split', async () => {
    const gta = await copyOf('gta5');
    await writeFile(join(gta, 'train.txt'), '00001\n00077.png\n');
    await expectDatasetError(
      () => gta5Dataset({ root: gta, split: 'train' }),
      join(gta, 'images', '00077.png'),
      /listed in .*train\.txt but missing/,
    );
    await expectDatasetError(
      () => gta5Dataset({ root: gta, split: 'test' }),
      gta,
      /split "test" not found: looked for/,
    );
  });

  it('label size differs from image size: error at load; skipBad get() substitutes the next sample', async () => {
    const f = await copyOf('folder');
    await writeGreyLabel(join(f, 'labels', 'a.png'), 3, [0, 1, 2, 255]);
    const ds = await folderDataset({ root: f });
    await expectDatasetError(() => ds.get(0), join(f, 'labels', 'a.png'), /label is 3x4 but its image is 4x4/);
    const warnings: string[] = [];
    const lenient = await folderDataset({ root: f, skipBad: true, onWarning: (m) => warnings.push(m) });
    const s = await lenient.get(0);
    expect(s.name).toBe('b');
    await lenient.get(0);
    expect([lenient.badCount, warnings.length]).toEqual([1, 1]);
    // dataStats never substitutes: one good image, one bad.
    const st = await dataStats(await folderDataset({ root: f }), { skipBad: true, ...quiet });
    expect([st.images, st.bad, st.pixelsPerTrainId['18']]).toEqual([1, 1, 16]);
    await expectDatasetError(() => dataStats(ds), join(f, 'labels', 'a.png'), /label is 3x4/);
  });

  it('label id not in the map: error naming id, pixel and file; unknownIds "ignore" maps it to 255', async () => {
    const cs = await copyOf('cityscapes');
    const label = join(cs, 'gtFine', 'train', 'aachen', 'aachen_000001_000019_gtFine_labelIds.png');
    await writeGreyLabel(label, 8, [23, 11, 34, 24]);
    const ds = await cityscapesDataset({ root: cs });
    await expectDatasetError(
      () => ds.get(1),
      label,
      /label id 34 at pixel \(x 0, y 2\) is not in the label map \(Cityscapes label-id map\)/,
    );
    const st = await dataStats(await cityscapesDataset({ root: cs, unknownIds: 'ignore' }));
    expect([st.ignorePixels, st.pixelsPerTrainId['2']]).toEqual([24 + 8, 8]);

    // SYNTHIA: 259 = 0x0103 would pass as road (3) if read as 8 bits.
    const sy = await copyOf('synthia');
    const sl = join(sy, 'GT', 'LABELS', '0000001.png');
    await writeSynthiaLabel(sl, 5, [21, 19, 259, 12]);
    await expectDatasetError(
      async () => (await synthiaDataset({ root: sy })).get(1),
      sl,
      /label id 259 at pixel \(x 0, y 2\)/,
    );
  });

  it('truncated and non-PNG files, colour-coded labels', async () => {
    const sy = await copyOf('synthia');
    const img = join(sy, 'RGB', '0000000.png');
    const bytes = await readFile(img);
    await writeFile(img, bytes.subarray(0, bytes.length - 20));
    const ds = await synthiaDataset({ root: sy });
    await expectDatasetError(() => ds.get(0), img, /truncated PNG/);

    const lab = join(sy, 'GT', 'LABELS', '0000001.png');
    const lb = await readFile(lab);
    await writeFile(lab, lb.subarray(0, 40));
    await expectDatasetError(() => ds.get(1), lab, /truncated PNG/);
    const st = await dataStats(ds, { skipBad: true, ...quiet });
    expect([st.images, st.bad, st.badFiles.map((b) => b.file).sort()]).toEqual([0, 2, [lab, img].sort()]);
    const lenient = await synthiaDataset({ root: sy, skipBad: true, ...quiet });
    await expectDatasetError(() => lenient.get(0), sy, /none of the 2 samples of synthia\/all is readable/);

    const gta = await copyOf('gta5');
    const textLabel = join(gta, 'labels', '00002.png');
    await writeFile(textLabel, 'this is not a png');
    await expectDatasetError(async () => (await gta5Dataset({ root: gta })).get(1), textLabel, /not a PNG file/);
    const textImage = join(gta, 'images', '00003.png');
    await writeFile(textImage, 'GIF89a but not really');
    await expectDatasetError(async () => (await gta5Dataset({ root: gta })).get(2), textImage, /cannot decode image/);

    const cs = await copyOf('cityscapes');
    const rgbLabel = join(cs, 'gtFine', 'train', 'aachen', 'aachen_000000_000019_gtFine_labelIds.png');
    await writeImage(rgbLabel, 8, 4); // a colour image where ids belong
    await expectDatasetError(
      async () => (await cityscapesDataset({ root: cs })).get(0),
      rgbLabel,
      /label is a RGB PNG; expected a grey or palette PNG holding ids/,
    );
  });

  it('index out of range is a RangeError', async () => {
    const ds = await folderDataset({ root: join(dir, 'base', 'folder') });
    await expect(ds.get(2)).rejects.toThrow(RangeError);
    await expect(ds.get(-1)).rejects.toThrow('index -1 is outside [0, 2)');
  });
});
