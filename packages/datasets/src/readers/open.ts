import { cityscapesDataset } from './cityscapes.js';
import { folderDataset } from './folder.js';
import { gta5Dataset } from './gta5.js';
import type { OnDiskDataset, OnDiskOptions } from './shared.js';
import { synthiaDataset } from './synthia.js';

/** The on-disk layouts {@link openOnDiskDataset} knows. */
export const ON_DISK_KINDS = ['cityscapes', 'gta5', 'synthia', 'folder'] as const;
export type OnDiskKind = (typeof ON_DISK_KINDS)[number];

/** Reader-specific options accepted by {@link openOnDiskDataset} (structured-cloneable except onWarning). */
export interface OpenOnDiskOptions extends OnDiskOptions {
  /** cityscapes / folder: read labels (folder also takes 'auto'). */
  labels?: boolean | 'auto';
  /** cityscapes: `labelIds` (default) or `labelTrainIds`. */
  labelType?: 'labelIds' | 'labelTrainIds';
  /** gta5 / synthia: explicit split list. */
  splitFile?: string;
  /** synthia: label channel (default 0). */
  labelChannel?: number;
  /** folder: label-space size (default 19). */
  numClasses?: number;
}

/**
 * Opens an on-disk dataset by kind, for the CLI (`road data stats --dataset <kind> --root DIR [--split S]`) and
 * for worker threads that receive a `DatasetSpec`. `split` defaults per reader (cityscapes: train; gta5 /
 * synthia: all; folder: the root itself).
 */
export async function openOnDiskDataset(
  kind: string,
  root: string,
  split?: string,
  options: OpenOnDiskOptions = {},
): Promise<OnDiskDataset> {
  if (typeof root !== 'string' || root === '')
    throw new Error(`openOnDiskDataset: a root folder is needed for ${kind}`);
  switch (kind) {
    case 'cityscapes':
      return cityscapesDataset({
        ...options,
        root,
        split,
        labels: options.labels === undefined || options.labels === 'auto' ? true : options.labels,
      });
    case 'gta5':
      return gta5Dataset({ ...options, root, split });
    case 'synthia':
      return synthiaDataset({ ...options, root, split });
    case 'folder':
      return folderDataset({ ...options, root, split });
    default:
      throw new Error(
        `openOnDiskDataset: unknown dataset kind "${kind}" (expected one of ${ON_DISK_KINDS.join(', ')})`,
      );
  }
}
