import { basename, join } from 'node:path';
import { DatasetError } from '../image-io.js';
import { trainIdLut } from '../label-maps.js';
import {
  hasExt,
  isDir,
  listFiles,
  OnDiskDataset,
  type OnDiskOptions,
  OpenProblems,
  requireDir,
  requireSome,
  type SampleFiles,
  stem,
} from './shared.js';

/** Image extensions the folder reader picks up. */
export const FOLDER_IMAGE_EXTENSIONS: readonly string[] = ['.png', '.jpg', '.jpeg', '.webp', '.tif', '.tiff'];

/** Options of {@link folderDataset}. */
export interface FolderOptions extends OnDiskOptions {
  /** Folder holding `images/` and optionally `labels/`. */
  root: string;
  /** If given, the dataset lives in `{root}/{split}/` instead. */
  split?: string;
  /**
   * `'auto'` (default): labeled when `labels/` exists; `true`: `labels/` required; `false`: unlabeled
   * (e.g. a target domain), `labels/` not read.
   */
  labels?: 'auto' | boolean;
  /** Size of the label space; label values must be 0..numClasses-1 or 255. Default 19. */
  numClasses?: number;
}

/**
 * Custom data: `images/*.{png,jpg,jpeg,webp,tif,tiff}` with optional `labels/{stem}.png` holding train ids
 * directly (8-bit grey or palette PNG; 255 = ignore). Sample names are the image stems.
 */
export async function folderDataset(options: FolderOptions): Promise<OnDiskDataset> {
  const { split, labels = 'auto', numClasses = 19 } = options;
  const root = split ? join(options.root, split) : options.root;
  await requireDir(root, 'dataset folder');
  const imageDir = join(root, 'images');
  const labelDir = join(root, 'labels');
  await requireDir(imageDir, 'image folder');
  const labeled = labels === 'auto' ? await isDir(labelDir) : labels;
  if (labeled) await requireDir(labelDir, 'label folder (pass labels: false for unlabeled data)');
  const labelSet = labeled ? new Set(await listFiles(labelDir, (n) => hasExt(n, ['.png']))) : new Set<string>();
  const problems = new OpenProblems(options);
  const files: SampleFiles[] = [];
  const seen = new Map<string, string>();
  for (const n of await listFiles(imageDir, (f) => hasExt(f, FOLDER_IMAGE_EXTENSIONS))) {
    const name = stem(n);
    const image = join(imageDir, n);
    const dup = seen.get(name);
    if (dup) {
      problems.report(new DatasetError(image, `same name as ${basename(dup)}; names must be unique`));
      continue;
    }
    seen.set(name, image);
    if (!labeled) {
      files.push({ name, image });
      continue;
    }
    if (!labelSet.has(`${name}.png`)) {
      problems.report(new DatasetError(image, `image has no label (expected ${join(labelDir, `${name}.png`)})`));
      continue;
    }
    files.push({ name, image, label: join(labelDir, `${name}.png`) });
  }
  requireSome(files, imageDir, 'images');
  return new OnDiskDataset({
    name: `folder/${basename(root)}`,
    root,
    numClasses,
    files,
    labels: labeled
      ? { lut: trainIdLut(numClasses), mapName: `train ids 0..${numClasses - 1}, 255`, channel: 0, colorTypes: [0, 3] }
      : null,
    options,
    bad: problems.bad,
  });
}
