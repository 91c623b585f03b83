import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SynthCitySplit, synthCityDataset } from '@road/datasets';

/** A dumped SynthCity split: N × H × W × 3 uint8 RGB images and, when labelled, N × H × W uint8 train ids. */
export interface SynthCityDumpSplit {
  split: SynthCitySplit;
  n: number;
  height: number;
  width: number;
  images: Uint8Array;
  labels?: Uint8Array;
}

/** What `manifest.json` of a dump holds (read by bench/reference/road_synthcity.py). */
export interface SynthCityDumpManifest {
  dataSeed: number;
  splits: Record<string, { shape: number[]; images: string; labels?: string }>;
  classIds: number[];
  recipe: Record<string, unknown>;
}

/**
 * Materialises SynthCity splits exactly as @road/datasets renders them (dataset seed `dataSeed`) and writes each as
 * raw uint8 files `<split>.images.u8` (and `<split>.labels.u8` for labelled splits) with a `manifest.json` that also
 * carries `classIds` (the ids the headline mIoU averages over) and `recipe` (the training recipe the twin must use).
 * `limits` caps the number of images per split (the first N).
 */
export async function dumpSynthCity(
  dir: string,
  o: {
    splits: SynthCitySplit[];
    dataSeed?: number;
    limits?: Partial<Record<SynthCitySplit, number>>;
    /** Unlabeled pools to dump with their rendered labels (SynthCity's `labels` option). */
    labelled?: SynthCitySplit[];
    classIds: readonly number[];
    recipe: Record<string, unknown>;
  },
): Promise<{ manifest: SynthCityDumpManifest; splits: SynthCityDumpSplit[] }> {
  const dataSeed = o.dataSeed ?? 0;
  const manifest: SynthCityDumpManifest = { dataSeed, splits: {}, classIds: [...o.classIds], recipe: o.recipe };
  const out: SynthCityDumpSplit[] = [];
  for (const split of o.splits) {
    const ds = synthCityDataset({ split, seed: dataSeed, labels: o.labelled?.includes(split) ?? false });
    const n = Math.min(o.limits?.[split] ?? ds.length, ds.length);
    if (!Number.isInteger(n) || n < 1) throw new Error(`dumpSynthCity: limit for ${split} must be ≥ 1, got ${n}`);
    const first = await ds.get(0);
    const { height, width } = first;
    const images = new Uint8Array(n * height * width * 3);
    const labels = first.label ? new Uint8Array(n * height * width) : undefined;
    for (let i = 0; i < n; i++) {
      const s = i === 0 ? first : await ds.get(i);
      if (s.width !== width || s.height !== height)
        throw new Error(
          `dumpSynthCity: ${s.name} is ${s.width}×${s.height}, the split's first image ${width}×${height}`,
        );
      images.set(s.image, i * height * width * 3);
      if (labels && s.label) labels.set(s.label, i * height * width);
    }
    writeFileSync(join(dir, `${split}.images.u8`), images);
    if (labels) writeFileSync(join(dir, `${split}.labels.u8`), labels);
    manifest.splits[split] = {
      shape: [n, height, width, 3],
      images: `${split}.images.u8`,
      ...(labels ? { labels: `${split}.labels.u8` } : {}),
    };
    out.push({ split, n, height, width, images, ...(labels ? { labels } : {}) });
  }
  writeFileSync(join(dir, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  return { manifest, splits: out };
}
