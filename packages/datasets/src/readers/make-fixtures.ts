/**
 * Test helper (not exported by the package): writes tiny datasets in each on-disk layout into a temp folder.
 * Label maps are built row by row (row y filled with one id), so expected histograms are easy to count by hand:
 * each row contributes `width` pixels of its id.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { writePng } from '../image-io.js';

/** A fresh temp folder; call the returned `cleanup` when done. */
export async function tempDir(prefix: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), `road-${prefix}-`));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Label data whose row y is filled with `rows[y]` (negative ids wrap to the array's width: -1 → 255). */
export function rowsLabel(width: number, rows: number[], bits: 8 | 16 = 8): Uint8Array | Uint16Array {
  const out = bits === 16 ? new Uint16Array(width * rows.length) : new Uint8Array(width * rows.length);
  rows.forEach((id, y) => {
    out.fill(id, y * width, (y + 1) * width);
  });
  return out;
}

/** Deterministic RGB pixels (HWC uint8). */
export function testImage(width: number, height: number, seed = 1): Uint8Array {
  const out = new Uint8Array(width * height * 3);
  for (let i = 0; i < out.length; i++) out[i] = (i * 37 + seed * 101) & 255;
  return out;
}

/** Writes an RGB image with sharp (the encoder real datasets come from); format from the extension. */
export async function writeImage(file: string, width: number, height: number, seed = 1): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const s = sharp(testImage(width, height, seed), { raw: { width, height, channels: 3 } });
  await (file.endsWith('.jpg') ? s.jpeg() : s.png()).toFile(file);
}

/** Writes an 8-bit grey id PNG (Cityscapes labelIds style) with sharp. */
export async function writeGreyLabel(file: string, width: number, rows: number[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await sharp(rowsLabel(width, rows, 8) as Uint8Array, { raw: { width, height: rows.length, channels: 1 } })
    .toColourspace('b-w')
    .png()
    .toFile(file);
}

/** 256 colours that are not their own index (so a colour-decoding reader cannot pass by accident). */
export const TEST_PALETTE: [number, number, number][] = Array.from({ length: 256 }, (_, i) => [
  (i * 53 + 11) & 255,
  (i * 97 + 23) & 255,
  (i * 191 + 7) & 255,
]);

/** Writes a palette PNG whose indices are the ids (GTA5 label style). */
export async function writePaletteLabel(file: string, width: number, rows: number[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writePng(file, { data: rowsLabel(width, rows, 8), width, height: rows.length, palette: TEST_PALETTE });
}

/**
 * Writes a 16-bit RGB PNG in SYNTHIA's label style with sharp: channel 0 = class id per row, channel 1 = an
 * "instance id" 256 + 3 + y (low byte 3 = SYNTHIA road, so reading the wrong channel or only low bytes shows),
 * channel 2 = 0.
 */
export async function writeSynthiaLabel(file: string, width: number, rows: number[]): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  const data = new Uint16Array(width * rows.length * 3);
  rows.forEach((id, y) => {
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 3;
      data[o] = id;
      data[o + 1] = 256 + 3 + y;
    }
  });
  await sharp(data, { raw: { width, height: rows.length, channels: 3 } })
    .toColourspace('rgb16')
    .png()
    .toFile(file);
}

export async function writeText(file: string, text: string): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, text);
}

/**
 * Cityscapes layout, 8×4 images. train: aachen ×2, bochum ×1; val: frankfurt ×1.
 *   aachen_000000_000019 rows [7, 7, 26, 0]   → road 16, car 8, ignore 8
 *   aachen_000001_000019 rows [23, 11, 11, 24] → sky 8, building 16, person 8
 *   bochum_000000_000313 rows [33, 31, 9, 255] → bicycle 8, train 8, ignore 16 (parking; 255 = id -1)
 *   frankfurt_000000_000294 (val) rows [7, 7, 7, 8] → road 24, sidewalk 8
 */
export async function makeCityscapes(root: string): Promise<void> {
  const items: [string, string, string, number[]][] = [
    ['train', 'aachen', 'aachen_000000_000019', [7, 7, 26, 0]],
    ['train', 'aachen', 'aachen_000001_000019', [23, 11, 11, 24]],
    ['train', 'bochum', 'bochum_000000_000313', [33, 31, 9, 255]],
    ['val', 'frankfurt', 'frankfurt_000000_000294', [7, 7, 7, 8]],
  ];
  for (const [split, city, stem, rows] of items) {
    await writeImage(join(root, 'leftImg8bit', split, city, `${stem}_leftImg8bit.png`), 8, 4);
    await writeGreyLabel(join(root, 'gtFine', split, city, `${stem}_gtFine_labelIds.png`), 8, rows);
  }
}

/**
 * GTA5 layout, 6×3 images, palette labels (00003 uses a grey label).
 *   00001 rows [7, 21, 26]  → road 6, vegetation 6, car 6
 *   00002 rows [8, 8, 3]    → sidewalk 12, ignore 6
 *   00003 rows [27, 28, 32] → truck 6, bus 6, motorcycle 6 (grey PNG)
 * train.txt: "00001.png", "00003"; splits/val.txt: "images/00002.png".
 */
export async function makeGta5(root: string): Promise<void> {
  const items: [string, number[]][] = [
    ['00001', [7, 21, 26]],
    ['00002', [8, 8, 3]],
    ['00003', [27, 28, 32]],
  ];
  for (const [name, rows] of items) {
    await writeImage(join(root, 'images', `${name}.png`), 6, 3, Number(name));
    if (name === '00003') await writeGreyLabel(join(root, 'labels', `${name}.png`), 6, rows);
    else await writePaletteLabel(join(root, 'labels', `${name}.png`), 6, rows);
  }
  await writeText(join(root, 'train.txt'), '00001.png\n# comment\n\n00003\n');
  await writeText(join(root, 'splits', 'val.txt'), 'images/00002.png\n');
}

/**
 * SYNTHIA-RAND-CITYSCAPES layout, 5×4 images, 16-bit RGB labels (class id in channel 0).
 *   0000000 rows [1, 3, 10, 22]  → sky 5, road 5, person 5, ignore 5 (lanemarking)
 *   0000001 rows [21, 19, 17, 12] → wall 5, bus 5, rider 5, motorcycle 5
 */
export async function makeSynthia(root: string): Promise<void> {
  const items: [string, number[]][] = [
    ['0000000', [1, 3, 10, 22]],
    ['0000001', [21, 19, 17, 12]],
  ];
  for (const [name, rows] of items) {
    await writeImage(join(root, 'RGB', `${name}.png`), 5, 4);
    await writeSynthiaLabel(join(root, 'GT', 'LABELS', `${name}.png`), 5, rows);
  }
}

/**
 * Folder layout, 4×4 images: a.png with labels/a.png rows [0, 1, 2, 255]; b.jpg with labels/b.png rows
 * [18, 18, 18, 18] (palette PNG).
 */
export async function makeFolder(root: string): Promise<void> {
  await writeImage(join(root, 'images', 'a.png'), 4, 4);
  await writeImage(join(root, 'images', 'b.jpg'), 4, 4);
  await writeGreyLabel(join(root, 'labels', 'a.png'), 4, [0, 1, 2, 255]);
  await writePaletteLabel(join(root, 'labels', 'b.png'), 4, [18, 18, 18, 18]);
}
