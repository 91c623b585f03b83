import { join } from 'node:path';
import { GTA5_ID_TO_TRAIN_ID, makeLabelLut } from '../label-maps.js';
import type { FlatSplitOptions, OnDiskDataset } from './shared.js';
import { openFlatPairs } from './shared.js';

/** Options of {@link gta5Dataset}. */
export interface Gta5Options extends FlatSplitOptions {
  /** Folder holding `images/` and `labels/`. */
  root: string;
  /**
   * `undefined` or `'all'` (default): every image. Otherwise the name of a split list, looked up as
   * `{root}/{split}.txt` then `{root}/splits/{split}.txt` (one image name per line: `00001.png` or `00001`,
   * as in AdaptSegNet's `gta5_list/train.txt`).
   */
  split?: string;
  /** Explicit split list file (overrides `split`). The official `split.mat` is not read; convert it to text. */
  splitFile?: string;
}

/**
 * GTA5 ("Playing for Data"): `images/*.png` with `labels/*.png` of the same name. Labels are 8-bit palette PNGs
 * whose palette *indices* are Cityscapes label ids (grey PNGs are accepted too); they are mapped to 19 train ids.
 * Sample names are the file stems (`00001`).
 */
export async function gta5Dataset(options: Gta5Options): Promise<OnDiskDataset> {
  const { root } = options;
  return openFlatPairs({
    id: 'gta5',
    title: 'GTA5',
    imageDir: join(root, 'images'),
    labelDir: join(root, 'labels'),
    labels: {
      lut: makeLabelLut(GTA5_ID_TO_TRAIN_ID),
      mapName: 'Cityscapes label-id map',
      channel: 0,
      colorTypes: [0, 3],
    },
    options,
  });
}
