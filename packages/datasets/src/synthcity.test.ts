import { describe, expect, it } from 'vitest';
import { renderSynthCity, SYNTHCITY_CLASSES, synthCityDataset } from './synthcity/index.js';
import { renderSynthCityPreview } from './synthcity-preview.js';

const CLASS_IDS = Object.values(SYNTHCITY_CLASSES).sort((a, b) => a - b);

function histogram(label: Uint8Array, into: Map<number, number> = new Map()): Map<number, number> {
  for (const v of label) into.set(v, (into.get(v) ?? 0) + 1);
  return into;
}

describe('SynthCity', () => {
  it('uses the 8 Cityscapes train ids and only those, in both domains', async () => {
    expect(CLASS_IDS).toEqual([0, 1, 2, 5, 8, 10, 11, 13]);
    for (const split of ['source', 'target-val'] as const) {
      const ds = synthCityDataset({ split, seed: 0, length: 12 });
      const h = new Map<number, number>();
      for (let i = 0; i < 12; i++) histogram((await ds.get(i)).label!, h);
      expect([...h.keys()].sort((a, b) => a - b)).toEqual(CLASS_IDS);
    }
  });

  it('is deterministic in (seed, split, index) and differs when any of them changes', () => {
    const a = renderSynthCity('target-train', 3, 5);
    const b = renderSynthCity('target-train', 3, 5);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    expect(Buffer.from(a.label!).equals(Buffer.from(b.label!))).toBe(true);
    for (const other of [
      renderSynthCity('target-train', 4, 5),
      renderSynthCity('target-train', 3, 6),
      renderSynthCity('target-val', 3, 5),
      renderSynthCity('pretrain', 3, 5),
      renderSynthCity('target-test', 3, 5),
      renderSynthCity('neutral', 3, 5),
    ]) {
      expect(Buffer.from(a.image).equals(Buffer.from(other.image))).toBe(false);
    }
    expect(a.name).toBe('synthcity/target-train/00005');
  });

  it('has the requested size and a sky-above-road layout', () => {
    const s = renderSynthCity('source', 0, 1, 96, 48);
    expect(s.width).toBe(96);
    expect(s.height).toBe(48);
    expect(s.image.length).toBe(96 * 48 * 3);
    expect(s.label!.length).toBe(96 * 48);
    // Over many images, road/sidewalk never appear in the top row and sky never in the bottom row.
    for (let i = 0; i < 10; i++) {
      for (const split of ['source', 'target-train'] as const) {
        const { label, width, height } = renderSynthCity(split, 0, i, 64, 32);
        for (let x = 0; x < width; x++) {
          expect([0, 1]).not.toContain(label![x]);
          expect(label![(height - 1) * width + x]).not.toBe(SYNTHCITY_CLASSES.sky);
        }
      }
    }
  });

  it('source is flat-coloured, target is textured and noisy (the domain gap)', () => {
    // Fraction of road pixels that have exactly the image's most common road colour.
    const modeShare = (split: 'source' | 'target-train', i: number) => {
      const { image, label } = renderSynthCity(split, 0, i);
      const counts = new Map<number, number>();
      let n = 0;
      for (let p = 0; p < label!.length; p++) {
        if (label![p] !== SYNTHCITY_CLASSES.road) continue;
        const key = (image[3 * p] << 16) | (image[3 * p + 1] << 8) | image[3 * p + 2];
        counts.set(key, (counts.get(key) ?? 0) + 1);
        n++;
      }
      return Math.max(...counts.values()) / n;
    };
    for (let i = 0; i < 4; i++) {
      expect(modeShare('source', i)).toBeGreaterThan(0.8);
      expect(modeShare('target-train', i)).toBeLessThan(0.1);
    }
  });

  it('pretrain is unlabeled; other splits are labelled; bad input is rejected', async () => {
    expect((await synthCityDataset({ split: 'pretrain', length: 2 }).get(0)).label).toBeUndefined();
    expect((await synthCityDataset({ split: 'target-train', length: 2 }).get(1)).label).toBeDefined();
    const ds = synthCityDataset({ split: 'source' });
    expect(ds.length).toBe(2000);
    expect(ds.numClasses).toBe(19);
    await expect(ds.get(2000)).rejects.toThrow(/out of range/);
    expect(() => synthCityDataset({ split: 'nope' as never })).toThrow(/unknown split 'nope'/);
    expect(() => synthCityDataset({ split: 'source', width: 10 })).toThrow(/width\/height/);
    expect(() => synthCityDataset({ split: 'source', length: 0 })).toThrow(/length/);
  });

  it('target-test is a labelled target split of 500 images, distinct from target-val', async () => {
    const ds = synthCityDataset({ split: 'target-test' });
    expect(ds.length).toBe(500);
    const t = await ds.get(0);
    expect(t.label).toBeDefined();
    expect(Buffer.from(t.image).equals(Buffer.from(renderSynthCity('target-val', 0, 0).image))).toBe(false);
  });

  it('neutral is unlabeled, flat-rendered, and its colours are neither the source nor the target palette', async () => {
    expect((await synthCityDataset({ split: 'neutral', length: 2 }).get(0)).label).toBeUndefined();
    expect(synthCityDataset({ split: 'neutral' }).length).toBe(4000);
    // Mean road colour per image (labels come from the renderer, which still draws them).
    const roadMean = (split: 'source' | 'target-train' | 'neutral', i: number): number[] => {
      const { image, label } = renderSynthCity(split, 0, i);
      const sum = [0, 0, 0];
      let n = 0;
      for (let p = 0; p < label!.length; p++) {
        if (label![p] !== SYNTHCITY_CLASSES.road) continue;
        for (let k = 0; k < 3; k++) sum[k] += image[3 * p + k];
        n++;
      }
      return sum.map((v) => v / n);
    };
    const spread = (split: 'source' | 'target-train' | 'neutral') => {
      const m = Array.from({ length: 12 }, (_, i) => roadMean(split, i));
      // Largest per-channel range of the road colour over 12 images.
      return Math.max(...[0, 1, 2].map((k) => Math.max(...m.map((c) => c[k])) - Math.min(...m.map((c) => c[k]))));
    };
    // Source roads are one grey-blue (±4 jitter) and target roads dark greys; neutral roads take any colour.
    expect(spread('source')).toBeLessThan(20);
    expect(spread('neutral')).toBeGreaterThan(100);
  });

  it('renders a preview sheet (image + coloured label per split)', () => {
    const p = renderSynthCityPreview({ count: 2, width: 32, height: 16 });
    expect(p.width).toBe(4 * 32);
    expect(p.height).toBe(2 * 16);
    expect(p.png.subarray(1, 4).toString('latin1')).toBe('PNG');
    const s = renderSynthCity('source', 0, 1, 32, 16);
    // row 1, first panel = the source image of index 1
    const o = (16 * 128 + 0) * 3;
    expect(Array.from(p.data.subarray(o, o + 3))).toEqual(Array.from(s.image.subarray(0, 3)));
  });
});
