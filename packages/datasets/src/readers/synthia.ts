import { join } from 'node:path';
import { makeLabelLut, SYNTHIA_ID_TO_TRAIN_ID } from '../label-maps.js';
import type { FlatSplitOptions, OnDiskDataset } from './shared.js';
import { openFlatPairs } from './shared.js';

/** Options of {@link synthiaDataset}. */
export interface SynthiaOptions extends FlatSplitOptions {
  /** Folder holding `RGB/` and `GT/LABELS/` (SYNTHIA-RAND-CITYSCAPES). */
  root: string;
  /** As for GTA5: `'all'` (default) or a split list `{root}/{split}.txt` / `{root}/splits/{split}.txt`. */
  split?: string;
  splitFile?: string;
  /** Channel holding the class id (default 0, the first channel; the second holds instance ids). */
  labelChannel?: number;
}

/**
 * SYNTHIA-RAND-CITYSCAPES: `RGB/*.png` with `GT/LABELS/*.png` of the same name. Labels are 16-bit PNGs with the
 * SYNTHIA class id (0..22) in the first channel; they are decoded exactly (never through an 8-bit conversion)
 * and mapped to Cityscapes train ids with {@link SYNTHIA_ID_TO_TRAIN_ID}. Sample names are file stems.
 */
export async function synthiaDataset(options: SynthiaOptions): Promise<OnDiskDataset> {
  const { root, labelChannel = 0 } = options;
  return openFlatPairs({
    id: 'synthia',
    title: 'SYNTHIA',
    imageDir: join(root, 'RGB'),
    labelDir: join(root, 'GT', 'LABELS'),
    labels: { lut: makeLabelLut(SYNTHIA_ID_TO_TRAIN_ID), mapName: 'SYNTHIA class-id map', channel: labelChannel },
    options,
  });
}
