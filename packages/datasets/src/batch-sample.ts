/**
 * The per-sample work of the batch iterator — decode, augment, normalise — shared by worker threads and the
 * main-thread fallback (`workers: 0`) so both give identical bytes. No tfjs here: workers never load it.
 */
import { Rng } from './rng.js';
import { augment, normalizeImage, type TransformSpec } from './transforms.js';
import type { Crop, Dataset } from './types.js';

/** One processed sample, as a worker sends it back (buffers are transferred). */
export interface ProcessedSample {
  image: Float32Array;
  label?: Uint8Array;
  classId?: number;
  width: number;
  height: number;
  crop: Crop;
  name: string;
}

/** Decodes sample `index`, augments it with `new Rng(seed)` and normalises it (see transforms.ts). */
export async function processSample(
  dataset: Dataset,
  transform: TransformSpec,
  index: number,
  seed: number,
): Promise<ProcessedSample> {
  const raw = await dataset.get(index);
  const { sample, crop } = augment(raw, new Rng(seed), transform);
  const image = normalizeImage(sample.image, transform.normalize ?? 'imagenet');
  const out: ProcessedSample = { image, width: sample.width, height: sample.height, crop, name: sample.name };
  if (sample.label) out.label = sample.label === raw.label ? sample.label.slice() : sample.label;
  if (raw.classId !== undefined) out.classId = raw.classId;
  return out;
}
