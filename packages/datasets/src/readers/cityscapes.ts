import { join } from 'node:path';
import { DatasetError } from '../image-io.js';
import { CITYSCAPES_ID_TO_TRAIN_ID, makeLabelLut, trainIdLut } from '../label-maps.js';
import {
  isDir,
  listDirs,
  listFiles,
  OnDiskDataset,
  type OnDiskOptions,
  OpenProblems,
  requireDir,
  requireSome,
  type SampleFiles,
} from './shared.js';

/** Options of {@link cityscapesDataset}. */
export interface CityscapesOptions extends OnDiskOptions {
  /** Folder holding `leftImg8bit/` and `gtFine/`. */
  root: string;
  /** `train` (default), `val`, `test`, or any folder name under `leftImg8bit/`. */
  split?: string;
  /** Read labels (default true). `false` for an unlabeled target domain (then `gtFine/` is not needed). */
  labels?: boolean;
  /**
   * Which label files: `labelIds` (default, `*_gtFine_labelIds.png`, mapped to train ids) or `labelTrainIds`
   * (`*_gtFine_labelTrainIds.png` written by cityscapesScripts' createTrainIdLabelImgs, used as they are).
   */
  labelType?: 'labelIds' | 'labelTrainIds';
}

const IMAGE_SUFFIX = '_leftImg8bit.png';

/**
 * Cityscapes: `leftImg8bit/{split}/{city}/{stem}_leftImg8bit.png` with
 * `gtFine/{split}/{city}/{stem}_gtFine_labelIds.png` (8-bit grey Cityscapes label ids → 19 train ids).
 * Sample names are the stems (`aachen_000000_000019`), sorted by city then name.
 */
export async function cityscapesDataset(options: CityscapesOptions): Promise<OnDiskDataset> {
  const { root, split = 'train', labels = true, labelType = 'labelIds' } = options;
  await requireDir(root, 'Cityscapes root');
  const imageRoot = join(root, 'leftImg8bit', split);
  await requireDir(imageRoot, `Cityscapes image folder for split "${split}"`);
  const labelRoot = join(root, 'gtFine', split);
  if (labels)
    await requireDir(labelRoot, `Cityscapes label folder for split "${split}" (pass labels: false for unlabeled use)`);
  const problems = new OpenProblems(options);
  const files: SampleFiles[] = [];
  for (const city of await listDirs(imageRoot)) {
    const images = await listFiles(join(imageRoot, city), (n) => n.endsWith(IMAGE_SUFFIX));
    const labelDir = join(labelRoot, city);
    const labelSet = labels && (await isDir(labelDir)) ? new Set(await listFiles(labelDir, () => true)) : new Set();
    for (const img of images) {
      const stem = img.slice(0, -IMAGE_SUFFIX.length);
      const image = join(imageRoot, city, img);
      if (!labels) {
        files.push({ name: stem, image });
        continue;
      }
      const labelName = `${stem}_gtFine_${labelType}.png`;
      if (!labelSet.has(labelName)) {
        problems.report(new DatasetError(image, `image has no label (expected ${join(labelDir, labelName)})`));
        continue;
      }
      files.push({ name: stem, image, label: join(labelDir, labelName) });
    }
  }
  requireSome(files, imageRoot, `*${IMAGE_SUFFIX} images (with labels)`);
  return new OnDiskDataset({
    name: `cityscapes/${split}`,
    root,
    numClasses: 19,
    files,
    labels: labels
      ? {
          lut: labelType === 'labelIds' ? makeLabelLut(CITYSCAPES_ID_TO_TRAIN_ID) : trainIdLut(19),
          mapName: labelType === 'labelIds' ? 'Cityscapes label-id map' : 'Cityscapes train ids 0..18, 255',
          channel: 0,
          colorTypes: [0, 3],
        }
      : null,
    options,
    bad: problems.bad,
  });
}
