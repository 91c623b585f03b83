/**
 * Dataset statistics for checking a download (`road data stats`) and for tests: number of images and pixels per
 * train id.
 */
import { DatasetError } from './image-io.js';
import { type BadFile, OnDiskDataset, type OnDiskOptions, warn } from './readers/shared.js';
import type { Dataset, Sample } from './types.js';

/** Options of {@link dataStats}. */
export interface DataStatsOptions {
  /** Label-space size; default `dataset.numClasses`. */
  numClasses?: number;
  /** Count unreadable samples instead of throwing (warning through `onWarning`). Default false. */
  skipBad?: boolean;
  onWarning?: OnDiskOptions['onWarning'];
  /** Samples decoded at the same time (sharp decodes on libuv threads). Default 4. */
  concurrency?: number;
  /** Called after each sample with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** JSON-able result of {@link dataStats}. */
export interface DataStats {
  dataset: string;
  /** Samples read successfully. */
  images: number;
  /** Of those, how many had a label. */
  labeledImages: number;
  /** Pixel count per train id, keys "0".."numClasses-1" (zeros included). */
  pixelsPerTrainId: Record<string, number>;
  /** Pixels labelled 255. */
  ignorePixels: number;
  /** Samples skipped (at open time and while reading), with `skipBad`. */
  bad: number;
  badFiles: BadFile[];
}

/**
 * Decodes every sample of `dataset` once and counts label pixels per train id. For on-disk datasets, samples are
 * read strictly (a bad sample is never replaced by another), and problems found when the dataset was opened are
 * included in `bad`. A label value that is neither a train id nor 255 throws.
 */
export async function dataStats(dataset: Dataset, options: DataStatsOptions = {}): Promise<DataStats> {
  const numClasses = options.numClasses ?? dataset.numClasses;
  const concurrency = Math.max(1, options.concurrency ?? 4);
  const onDisk = dataset instanceof OnDiskDataset ? dataset : null;
  const counts = new Float64Array(256);
  const badFiles: BadFile[] = onDisk ? [...onDisk.bad] : [];
  let images = 0;
  let labeledImages = 0;
  let done = 0;
  let next = 0;
  const total = dataset.length;

  const read = (i: number): Promise<Sample> => (onDisk ? onDisk.load(i) : dataset.get(i));

  function count(sample: Sample): void {
    images++;
    const label = sample.label;
    if (!label) return;
    labeledImages++;
    const h = new Uint32Array(256);
    for (let i = 0; i < label.length; i++) h[label[i]]++;
    for (let v = 0; v < 256; v++) {
      if (h[v] === 0) continue;
      if (v >= numClasses && v !== 255) {
        throw new RangeError(
          `dataStats: ${sample.name} has label value ${v}, not a train id (0..${numClasses - 1}) or 255`,
        );
      }
      counts[v] += h[v];
    }
  }

  let failed = false;
  async function worker(): Promise<void> {
    while (next < total && !failed) {
      const i = next++;
      try {
        count(await read(i));
      } catch (e) {
        if (!(options.skipBad && e instanceof DatasetError)) {
          failed = true;
          throw e;
        }
        badFiles.push({ file: e.file, reason: e.reason });
        warn({ onWarning: options.onWarning }, e);
      }
      done++;
      options.onProgress?.(done, total);
    }
  }

  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(total, 1)) }, worker));
  const pixelsPerTrainId: Record<string, number> = {};
  for (let c = 0; c < numClasses; c++) pixelsPerTrainId[String(c)] = counts[c];
  return {
    dataset: dataset.name,
    images,
    labeledImages,
    pixelsPerTrainId,
    ignorePixels: counts[255],
    bad: badFiles.length,
    badFiles,
  };
}
