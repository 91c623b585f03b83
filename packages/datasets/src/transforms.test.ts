import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Rng } from './rng.js';
import {
  augment,
  crop,
  cropToFull,
  defaultPadColor,
  estimateMeanStd,
  horizontalFlip,
  normalizeImage,
  resize,
} from './transforms.js';
import type { Dataset, Sample } from './types.js';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/resize.json', import.meta.url), 'utf8')) as {
  height: number;
  width: number;
  image: number[];
  label: number[];
  cases: Array<{ height: number; width: number; image: number[]; label: number[] }>;
};

/** An image whose pixel (y, x) is RGB (y, x, 7) and whose label is (y * 10 + x) % 250. */
function coordSample(height: number, width: number): Sample {
  const image = new Uint8Array(height * width * 3);
  const label = new Uint8Array(height * width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const p = y * width + x;
      image.set([y, x, 7], 3 * p);
      label[p] = (y * 10 + x) % 250;
    }
  }
  return { image, label, width, height, name: 'coords' };
}

describe('resize', () => {
  it('matches PyTorch bilinear (align_corners=False) and nearest-exact (fixtures/make_resize.py)', () => {
    const s: Sample = {
      image: Uint8Array.from(fixture.image),
      label: Uint8Array.from(fixture.label),
      width: fixture.width,
      height: fixture.height,
      name: 'fixture',
    };
    for (const c of fixture.cases) {
      const r = resize(s, c.height, c.width);
      expect(r.width).toBe(c.width);
      expect(r.height).toBe(c.height);
      expect(r.image.length).toBe(c.image.length);
      // uint8 output = the float reference rounded: |ours - torch| <= 0.5
      for (let i = 0; i < c.image.length; i++)
        expect(Math.abs(r.image[i] - c.image[i])).toBeLessThanOrEqual(0.5 + 1e-6);
      expect(Array.from(r.label!)).toEqual(c.label);
    }
  });

  it('bilinear by hand: a 1x2 row [0, 100] upsampled to 1x4 gives [0, 25, 75, 100]', () => {
    // output x samples input (x + 0.5) * 2/4 - 0.5 = -0.25 (clamped to 0), 0.25, 0.75, 1.25 (clamped to the last pixel)
    const s: Sample = { image: Uint8Array.from([0, 0, 0, 100, 100, 100]), width: 2, height: 1, name: 'row' };
    const r = resize(s, 1, 4);
    expect(Array.from(r.image)).toEqual([0, 0, 0, 25, 25, 25, 75, 75, 75, 100, 100, 100]);
  });

  it('nearest on labels keeps ids: 4x4 → 2x2 picks rows/cols 1 and 3 (floor((o + 0.5) * 2))', () => {
    const s = coordSample(4, 4);
    const r = resize(s, 2, 2);
    expect(Array.from(r.label!)).toEqual([11, 13, 31, 33]);
    const ids = new Set([0, 5, 13, 255]);
    const lab = new Uint8Array(30 * 20).map((_, i) => [0, 5, 13, 255][(i * 7 + (i >> 3)) % 4]);
    const big = resize({ image: new Uint8Array(30 * 20 * 3), label: lab, width: 20, height: 30, name: 'l' }, 17, 41);
    for (const v of big.label!) expect(ids.has(v)).toBe(true);
  });

  it('rejects bad sizes and inconsistent samples', () => {
    const s = coordSample(2, 2);
    expect(() => resize(s, 0, 2)).toThrow(/positive integers/);
    expect(() => resize({ ...s, image: new Uint8Array(5) }, 2, 2)).toThrow(/coords: image has 5 values/);
    expect(() => resize({ ...s, label: new Uint8Array(3) }, 2, 2)).toThrow(/coords: label has 3 values/);
  });
});

describe('crop / augment', () => {
  it('crop offsets index the full image: pixel (y, x) of the crop is full pixel (top + y, left + x)', () => {
    const s = coordSample(10, 12);
    for (let seed = 0; seed < 5; seed++) {
      const { sample, crop: c } = augment(s, new Rng(seed), { crop: [4, 5] });
      expect(c.height).toBe(4);
      expect(c.width).toBe(5);
      expect(c.fullHeight).toBe(10);
      expect(c.fullWidth).toBe(12);
      expect(c.flipped).toBeUndefined();
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 5; x++) {
          const p = y * 5 + x;
          expect(sample.image[3 * p]).toBe(c.top + y);
          expect(sample.image[3 * p + 1]).toBe(c.left + x);
          expect(sample.label![p]).toBe((c.top + y) * 10 + c.left + x);
        }
      }
    }
  });

  it('draws top then left with rng.int over all valid offsets', () => {
    const s = coordSample(10, 12);
    const { crop: c } = augment(s, new Rng(42), { crop: [4, 5] });
    const r = new Rng(42);
    expect(c.top).toBe(r.int(0, 7)); // 10 - 4 + 1 choices
    expect(c.left).toBe(r.int(0, 8)); // 12 - 5 + 1 choices
  });

  it('pads at the bottom/right with the pad colour and ignore label when the crop is larger', () => {
    const s = coordSample(2, 3);
    const { sample, crop: c } = augment(s, new Rng(0), { crop: [3, 4], padColor: [1, 2, 3] });
    expect(c).toEqual({ top: 0, left: 0, height: 3, width: 4, fullHeight: 2, fullWidth: 3 });
    expect(Array.from(sample.label!)).toEqual([0, 1, 2, 255, 10, 11, 12, 255, 255, 255, 255, 255]);
    expect(Array.from(sample.image.subarray(9, 12))).toEqual([1, 2, 3]); // (0, 3) is padding
    expect(Array.from(sample.image.subarray(12, 15))).toEqual([1, 0, 7]); // (1, 0) is image
    // default pad colour: ImageNet mean * 255 rounded = (123.675, 116.28, 103.53) → (124, 116, 104)
    expect(defaultPadColor()).toEqual([124, 116, 104]);
    const d = augment(s, new Rng(0), { crop: [3, 4] }).sample;
    expect(Array.from(d.image.subarray(9, 12))).toEqual([124, 116, 104]);
  });

  it('explicit crop() with an out-of-range window pads and reports the given offsets', () => {
    const s = coordSample(3, 3);
    const { sample, crop: c } = crop(s, 1, 2, 2, 2, { padColor: [9, 9, 9], ignoreIndex: 254 });
    expect(c).toEqual({ top: 1, left: 2, height: 2, width: 2, fullHeight: 3, fullWidth: 3 });
    expect(Array.from(sample.label!)).toEqual([12, 254, 22, 254]);
  });

  it('flip happens after the crop: crop.flipped and cropToFull mirror the columns', () => {
    const s = coordSample(6, 9);
    let flippedSeen = 0;
    for (let seed = 0; seed < 12; seed++) {
      const { sample, crop: c } = augment(s, new Rng(seed), { crop: [3, 4], flip: true });
      if (c.flipped) flippedSeen++;
      for (let y = 0; y < 3; y++) {
        for (let x = 0; x < 4; x++) {
          const f = cropToFull(c, y, x);
          expect(sample.image[3 * (y * 4 + x)]).toBe(f.y);
          expect(sample.image[3 * (y * 4 + x) + 1]).toBe(f.x);
        }
      }
    }
    expect(flippedSeen).toBeGreaterThan(0);
    expect(flippedSeen).toBeLessThan(12);
  });

  it('horizontalFlip mirrors each row of image and label', () => {
    const s: Sample = {
      image: Uint8Array.from([1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 6, 6, 6]),
      label: Uint8Array.from([1, 2, 3, 4, 5, 6]),
      width: 3,
      height: 2,
      name: 'f',
    };
    const f = horizontalFlip(s);
    expect(Array.from(f.label!)).toEqual([3, 2, 1, 6, 5, 4]);
    expect(Array.from(f.image)).toEqual([3, 3, 3, 2, 2, 2, 1, 1, 1, 6, 6, 6, 5, 5, 5, 4, 4, 4]);
  });

  it('random scale + crop (fused) equals resize to the scaled size followed by crop', () => {
    const s: Sample = {
      image: Uint8Array.from(fixture.image),
      label: Uint8Array.from(fixture.label),
      width: fixture.width,
      height: fixture.height,
      name: 'fixture',
    };
    for (let seed = 0; seed < 6; seed++) {
      const { sample, crop: c } = augment(s, new Rng(seed), { scale: [0.5, 2.5], crop: [4, 4] });
      const r = new Rng(seed);
      const f = r.uniform(0.5, 2.5);
      expect(c.fullHeight).toBe(Math.round(5 * f));
      expect(c.fullWidth).toBe(Math.round(7 * f));
      const ref = crop(resize(s, c.fullHeight, c.fullWidth), c.top, c.left, 4, 4);
      expect(Array.from(sample.image)).toEqual(Array.from(ref.sample.image));
      expect(Array.from(sample.label!)).toEqual(Array.from(ref.sample.label!));
    }
  });

  it('is deterministic: same seed → same bytes and crop', () => {
    const s = coordSample(20, 30);
    const spec = { scale: [0.7, 1.3] as [number, number], crop: [8, 8] as [number, number], flip: true };
    const a = augment(s, new Rng(9), spec);
    const b = augment(s, new Rng(9), spec);
    expect(a.crop).toEqual(b.crop);
    expect(Buffer.from(a.sample.image).equals(Buffer.from(b.sample.image))).toBe(true);
    const crops = new Set(Array.from({ length: 8 }, (_, k) => JSON.stringify(augment(s, new Rng(k), spec).crop)));
    expect(crops.size).toBeGreaterThan(1);
  });

  it('without crop returns the whole (rescaled) image as the crop', () => {
    const s = coordSample(4, 6);
    expect(augment(s, new Rng(0), {}).crop).toEqual({
      top: 0,
      left: 0,
      height: 4,
      width: 6,
      fullHeight: 4,
      fullWidth: 6,
    });
    const r = augment(s, new Rng(0), { resize: [2, 3] });
    expect(r.crop).toEqual({ top: 0, left: 0, height: 2, width: 3, fullHeight: 2, fullWidth: 3 });
    expect(() => augment(s, new Rng(0), { scale: [0, 1] })).toThrow(/transform.scale/);
  });
});

describe('normalizeImage', () => {
  it('imagenet: (x/255 - mean) / std per channel, by hand', () => {
    const out = normalizeImage(Uint8Array.from([0, 255, 51]));
    expect(out[0]).toBeCloseTo((0 - 0.485) / 0.229, 5); // -2.11790
    expect(out[1]).toBeCloseTo((1 - 0.456) / 0.224, 5); // 2.42857
    expect(out[2]).toBeCloseTo((0.2 - 0.406) / 0.225, 5); // -0.91556
  });

  it('unit and explicit mean/std; writes at an offset', () => {
    expect(Array.from(normalizeImage(Uint8Array.from([0, 51, 255]), 'unit'))).toEqual([0, 0.2, 1].map(Math.fround));
    const buf = new Float32Array(6);
    normalizeImage(Uint8Array.from([255, 255, 255]), { mean: [0.5, 0.5, 0.5], std: [0.25, 0.5, 1] }, buf, 3);
    expect(Array.from(buf)).toEqual([0, 0, 0, 2, 1, 0.5]);
    expect(() => normalizeImage(Uint8Array.from([1, 2, 3]), { mean: [0, 0], std: [1, 1, 1] })).toThrow(/3 values/);
  });

  it('caffe: RGB → BGR minus the BGR mean on 0..255; tf: x/127.5 − 1; pad colours; by hand', () => {
    const caffe = normalizeImage(Uint8Array.from([255, 0, 51, 10, 20, 30]), 'caffe');
    const want = [51 - 103.939, 0 - 116.779, 255 - 123.68, 30 - 103.939, 20 - 116.779, 10 - 123.68];
    expect(Array.from(caffe)).toEqual(want.map(Math.fround));
    const tf = normalizeImage(Uint8Array.from([0, 255, 51]), 'tf');
    expect(tf[0]).toBe(-1);
    expect(tf[1]).toBe(1);
    expect(tf[2]).toBeCloseTo(51 / 127.5 - 1, 6);
    expect(defaultPadColor('caffe')).toEqual([124, 117, 104]);
    expect(defaultPadColor('tf')).toEqual([128, 128, 128]);
    expect(() => normalizeImage(Uint8Array.from([1, 2, 3]), 'bgr' as 'tf')).toThrow(/unknown normalisation 'bgr'/);
  });
});

describe('estimateMeanStd', () => {
  it('pools all pixels of the first samples', async () => {
    // two 1x1 images: (0, 51, 255) and (255, 51, 255) → R: mean 0.5, std 0.5; G: 0.2, 0; B: 1, 0
    const imgs = [Uint8Array.from([0, 51, 255]), Uint8Array.from([255, 51, 255])];
    const ds: Dataset = {
      name: 'tiny',
      length: 2,
      numClasses: 1,
      get: async (i) => ({ image: imgs[i], width: 1, height: 1, name: String(i) }),
    };
    const { mean, std } = await estimateMeanStd(ds);
    expect(mean[0]).toBeCloseTo(0.5, 6);
    expect(mean[1]).toBeCloseTo(0.2, 6);
    expect(mean[2]).toBeCloseTo(1, 6);
    expect(std[0]).toBeCloseTo(0.5, 6);
    expect(std[1]).toBeLessThan(1e-5);
  });
});
