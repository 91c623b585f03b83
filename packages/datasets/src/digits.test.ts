import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type BackgroundImage,
  DIGITS_BACKGROUND_CLASS,
  digitsClassification,
  digitsSegmentation,
  loadBackgrounds,
  loadMnist,
  mnistMBlend,
  neutralBlend,
  proceduralBackgrounds,
} from './digits.js';
import { writePng } from './image-io.js';

/** A background of one constant colour: MNIST-M then has exactly two colours, bg and 255 - bg. */
const flat = (rgb: [number, number, number], size = 64): BackgroundImage => {
  const data = new Uint8Array(size * size * 3);
  for (let p = 0; p < size * size; p++) data.set(rgb, 3 * p);
  return { data, width: size, height: size, name: 'flat' };
};

describe('mnistMBlend', () => {
  it('out = |B - D| per channel with D = 255 where digit > threshold (by hand)', () => {
    const digit = [0, 200, 50, 255];
    const bg = Uint8Array.from([10, 20, 30, 100, 150, 200, 255, 0, 128, 0, 0, 0]);
    // threshold 100 → D = [0, 255, 0, 255]
    expect(Array.from(mnistMBlend(digit, bg, 100))).toEqual([10, 20, 30, 155, 105, 55, 255, 0, 128, 255, 255, 255]);
    // threshold 0 → D = [0, 255, 255, 255]
    expect(Array.from(mnistMBlend(digit, bg, 0))).toEqual([10, 20, 30, 155, 105, 55, 0, 255, 127, 255, 255, 255]);
    expect(() => mnistMBlend(digit, new Uint8Array(3))).toThrow(/expected 12/);
  });
});

describe('neutralBlend', () => {
  it('out = round((1 − a)·B + a·colour) with a = digit / 255 (by hand)', () => {
    const digit = [0, 255, 51, 204];
    const bg = Uint8Array.from([10, 20, 30, 100, 150, 200, 255, 0, 128, 0, 0, 0]);
    // a = 0, 1, 0.2, 0.8 over colour (200, 100, 0):
    // 0.8·(255, 0, 128) + 0.2·(200, 100, 0) = (244, 20, 102.4); 0.2·(0, 0, 0) + 0.8·(200, 100, 0) = (160, 80, 0)
    expect(Array.from(neutralBlend(digit, bg, [200, 100, 0]))).toEqual([
      10, 20, 30, 200, 100, 0, 244, 20, 102, 160, 80, 0,
    ]);
    expect(() => neutralBlend(digit, new Uint8Array(3), [0, 0, 0])).toThrow(/expected 12/);
  });
});

describe('MNIST data', () => {
  it('loads the 10,000 package digits with a fixed 80/20 per-class split', () => {
    const m = loadMnist();
    const perClass = [1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]; // the package's counts
    expect(m.labels.length).toBe(10000);
    for (let d = 0; d < 10; d++) expect(m.labels.filter((l) => l === d).length).toBe(perClass[d]);
    // floor(0.8 · count) per class: 800 + 901 + 792 + 825 + 784 + 690 + 811 + 856 + 755 + 782 = 7996
    expect(m.train.length).toBe(7996);
    expect(m.test.length).toBe(2004);
    const train = new Set(m.train);
    expect(m.test.some((i) => train.has(i))).toBe(false);
  });

  it('holds the package values as bytes: round(value · 255)', () => {
    const m = loadMnist();
    const pkg = createRequire(import.meta.url)('mnist');
    const raw: number[] = pkg[3].get(0); // class 3, first sample = pool index 1001 + 1127 + 991
    const id = 1001 + 1127 + 991;
    expect(m.labels[id]).toBe(3);
    expect(Array.from(m.pixels.subarray(id * 784, id * 784 + 784))).toEqual(raw.map((v) => Math.round(v * 255)));
  });
});

describe('digitsClassification', () => {
  it('mnist: grey digits, classId = the digit; padded to 32x32 when asked', async () => {
    const ds = digitsClassification({ domain: 'mnist', split: 'test' });
    expect(ds.length).toBe(2004);
    expect(ds.numClasses).toBe(10);
    const s = await ds.get(0);
    expect(s.width).toBe(28);
    expect(s.label).toBeUndefined();
    expect(s.classId).toBeGreaterThanOrEqual(0);
    expect(s.classId).toBeLessThan(10);
    for (let p = 0; p < 784; p++) expect(s.image[3 * p]).toBe(s.image[3 * p + 2]);
    const s32 = await digitsClassification({ domain: 'mnist', split: 'test', size: 32 }).get(0);
    expect(s32.width).toBe(32);
    // the 28x28 digit sits at offset (2, 2)
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) expect(s32.image[3 * ((y + 2) * 32 + x + 2)]).toBe(s.image[3 * (y * 28 + x)]);
    expect(s32.image[0]).toBe(0);
  });

  it('mnist-m with a flat background: ink pixels are 255 - bg, the rest bg (the paper formula)', async () => {
    const bg: [number, number, number] = [10, 200, 30];
    const m = await digitsClassification({ domain: 'mnist', split: 'train' }).get(7);
    const mm = await digitsClassification({ domain: 'mnist-m', split: 'train', backgrounds: [flat(bg)] }).get(7);
    expect(mm.classId).toBe(m.classId);
    let ink = 0;
    for (let p = 0; p < 784; p++) {
      const expected = m.image[3 * p] > 0 ? [245, 55, 225] : bg;
      expect(Array.from(mm.image.subarray(3 * p, 3 * p + 3))).toEqual(expected);
      if (m.image[3 * p] > 0) ink++;
    }
    expect(ink).toBeGreaterThan(40);
  });

  it('mnist-m is deterministic per (seed, index) and uses varied procedural backgrounds by default', async () => {
    const a = await digitsClassification({ domain: 'mnist-m', seed: 1 }).get(3);
    const b = await digitsClassification({ domain: 'mnist-m', seed: 1 }).get(3);
    const c = await digitsClassification({ domain: 'mnist-m', seed: 2 }).get(3);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.image).equals(Buffer.from(c.image))).toBe(false);
    const bgs = proceduralBackgrounds(0, 8, 32);
    expect(bgs).toHaveLength(8);
    const means = bgs.map((g) => g.data.reduce((s, v) => s + v, 0) / g.data.length);
    expect(new Set(means.map((v) => Math.round(v))).size).toBeGreaterThan(4);
  });

  it('rejects bad options', () => {
    expect(() => digitsClassification({ domain: 'svhn' as never })).toThrow(/unknown domain 'svhn'/);
    expect(() => digitsClassification({ domain: 'mnist', split: 'val' as never })).toThrow(/unknown split 'val'/);
    expect(() => digitsClassification({ domain: 'mnist', size: 20 })).toThrow(/size/);
    expect(() => digitsClassification({ domain: 'mnist', length: 9000 })).toThrow(/length/);
  });
});

describe('digitsSegmentation', () => {
  it('labels ink pixels with the digit class and the rest with class 10; same layout in both domains', async () => {
    const opts = { split: 'train' as const, seed: 4, length: 20 };
    const a = digitsSegmentation({ ...opts, domain: 'mnist' });
    const b = digitsSegmentation({ ...opts, domain: 'mnist-m', backgrounds: [flat([40, 90, 160])] });
    expect(a.numClasses).toBe(11);
    const classes = new Set<number>();
    for (let i = 0; i < 20; i++) {
      const s = await a.get(i);
      const t = await b.get(i);
      expect(s.width).toBe(64);
      expect(Buffer.from(s.label!).equals(Buffer.from(t.label!))).toBe(true);
      for (let p = 0; p < 64 * 64; p++) {
        const l = s.label![p];
        classes.add(l);
        const ink = s.image[3 * p] > 0;
        expect(l !== DIGITS_BACKGROUND_CLASS).toBe(ink);
        expect(Array.from(t.image.subarray(3 * p, 3 * p + 3))).toEqual(ink ? [215, 165, 95] : [40, 90, 160]);
      }
    }
    expect(classes.has(DIGITS_BACKGROUND_CLASS)).toBe(true);
    expect(classes.size).toBeGreaterThan(8); // 20 canvases × 2–4 digits cover most classes
  });

  it('neutral: same layout and labels as mnist, one colour per canvas blended over textures that are not the MNIST-M backgrounds', async () => {
    const opts = { split: 'train' as const, seed: 4, length: 6 };
    const a = digitsSegmentation({ ...opts, domain: 'mnist' });
    const n = digitsSegmentation({ ...opts, domain: 'neutral' });
    const m = digitsSegmentation({ ...opts, domain: 'mnist-m' }); // procedural backgrounds too, but its own pool
    for (let i = 0; i < 6; i++) {
      const s = await a.get(i);
      const t = await n.get(i);
      const u = await m.get(i);
      expect(Buffer.from(s.label!).equals(Buffer.from(t.label!))).toBe(true);
      // Full ink (255) shows the canvas's colour exactly; every full-ink pixel has the same colour.
      const full = new Set<string>();
      for (let p = 0; p < 64 * 64; p++)
        if (s.image[3 * p] === 255) full.add(Array.from(t.image.subarray(3 * p, 3 * p + 3)).join(','));
      expect(full.size).toBe(1);
      // Background pixels differ from MNIST-M's (another texture pool), and the image is not MNIST's black.
      let same = 0;
      let bg = 0;
      for (let p = 0; p < 64 * 64; p++) {
        if (s.image[3 * p] !== 0) continue;
        bg++;
        if (t.image[3 * p] === u.image[3 * p] && t.image[3 * p + 1] === u.image[3 * p + 1]) same++;
      }
      expect(same / bg).toBeLessThan(0.5);
      expect(t.image.some((v) => v > 0)).toBe(true);
    }
    // Deterministic in (seed, split, index).
    expect(Buffer.from((await n.get(2)).image).equals(Buffer.from((await n.get(2)).image))).toBe(true);
  });

  it('places between digits[0] and digits[1] digits', async () => {
    const ds = digitsSegmentation({ domain: 'mnist', digits: [1, 1], canvas: 32, length: 5 });
    for (let i = 0; i < 5; i++) {
      const s = await ds.get(i);
      const ids = new Set(s.label!);
      ids.delete(DIGITS_BACKGROUND_CLASS);
      expect(ids.size).toBe(1);
    }
    expect(() => digitsSegmentation({ domain: 'mnist', digits: [3, 2] })).toThrow(/digits range/);
  });
});

describe('loadBackgrounds', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'road-digits-bg-'));
    await writePng(join(dir, 'b.png'), { data: flat([1, 2, 3], 40).data, width: 40, height: 40, channels: 3 });
    await writePng(join(dir, 'a.png'), { data: new Uint8Array(40 * 30).fill(77), width: 40, height: 30, channels: 1 });
    await writeFile(join(dir, 'notes.txt'), 'not an image');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('decodes PNGs (grey expanded to RGB), sorted by name, ignoring other files', async () => {
    const bgs = await loadBackgrounds(dir, 28);
    expect(bgs.map((b) => b.name.split('/').pop())).toEqual(['a.png', 'b.png']);
    expect(bgs[0].width).toBe(40);
    expect(bgs[0].height).toBe(30);
    expect(Array.from(bgs[0].data.subarray(0, 3))).toEqual([77, 77, 77]);
    expect(Array.from(bgs[1].data.subarray(0, 3))).toEqual([1, 2, 3]);
  });

  it('errors name the folder or the file', async () => {
    await expect(loadBackgrounds(join(dir, 'missing'))).rejects.toThrow(/missing/);
    await expect(loadBackgrounds(dir, 35)).rejects.toThrow(/a\.png is 40x30, smaller than 35x35/);
    const bad = await mkdtemp(join(tmpdir(), 'road-digits-bad-'));
    await writeFile(join(bad, 'broken.png'), 'garbage');
    await expect(loadBackgrounds(bad)).rejects.toThrow(/broken\.png/);
    await rm(bad, { recursive: true, force: true });
    const ds = digitsClassification({ domain: 'mnist-m', backgrounds: join(dir, 'missing') });
    await expect(ds.get(0)).rejects.toThrow(/backgrounds folder/);
  });
});
