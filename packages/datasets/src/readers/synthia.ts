import { join } from 'node:path';
import { makeLabelLut, SYNTHIA_ID_TO_TRAIN_ID } from '../label-maps';
import {
  OnDiskDataset,
  type OnDiskOptions,
  OpenProblems,
  pairFlat,
  readSplitList,
  requireDir,
  requireSome,
} from './shared';

/** Options of {@link synthiaDataset}. */
export interface SynthiaOptions extends OnDiskOptions {
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
  const { root, split, splitFile, labelChannel = 0 } = options;
  await requireDir(root, 'SYNTHIA root');
  const imageDir = join(root, 'RGB');
  const labelDir = join(root, 'GT', 'LABELS');
  await requireDir(imageDir, 'SYNTHIA image folder');
  await requireDir(labelDir, 'SYNTHIA label folder');
  const problems = new OpenProblems(options);
  const files = await pairFlat(imageDir, labelDir, await readSplitList(root, split, splitFile), problems);
  requireSome(files, imageDir, 'image/label pairs');
  return new OnDiskDataset({
    name: `synthia/${splitFile ? 'custom' : (split ?? 'all')}`,
    root,
    numClasses: 19,
    files,
    labels: { lut: makeLabelLut(SYNTHIA_ID_TO_TRAIN_ID), mapName: 'SYNTHIA class-id map', channel: labelChannel },
    options,
    bad: problems.bad,
  });
}
