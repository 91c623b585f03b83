import { existsSync } from 'node:fs';
import {
  type Crop,
  createBatchIterator,
  type Dataset,
  type DatasetSpec,
  type IteratorState,
  openDataset,
} from '@road/datasets';
import type * as tf from '@tensorflow/tfjs-core';
import type { DatasetRef, TrainConfig } from './config.js';
import { EXIT, RoadError } from './errors.js';

/** A batch as the trainer uses it (tensors owned by the caller). */
export interface Batch {
  images: tf.Tensor4D;
  labels?: tf.Tensor3D;
  crops: Crop[];
  names: string[];
}

/** A resumable stream of batches (wraps @road/datasets' batch iterator). */
export interface BatchStream {
  next(): Promise<Batch>;
  /** Serialisable position (for checkpoints). */
  state(): unknown;
  close(): Promise<void>;
}

/** A DatasetRef → the @road/datasets spec; an on-disk root that does not exist is an error naming it. */
export function toSpec(ref: DatasetRef, seed: number, role: string): DatasetSpec {
  if (ref.root !== undefined && !existsSync(ref.root)) {
    throw new RoadError(`dataset root missing: ${ref.root} (${role} = ${ref.kind}:${ref.root})`, EXIT.badInput);
  }
  return {
    kind: ref.kind,
    ...(ref.root !== undefined ? { root: ref.root } : {}),
    ...(ref.split !== undefined ? { split: ref.split } : {}),
    seed,
    ...(ref.options ? { options: ref.options } : {}),
  };
}

/** Opens a dataset, turning reader errors into a RoadError naming the role. */
export async function openRef(ref: DatasetRef, seed: number, role: string): Promise<Dataset> {
  const spec = toSpec(ref, seed, role);
  try {
    return await openDataset(spec);
  } catch (e) {
    throw new RoadError(`cannot open ${role} dataset ${describeRef(ref)}: ${(e as Error).message}`, EXIT.badInput);
  }
}

export function describeRef(ref: DatasetRef): string {
  return `${ref.kind}${ref.root ? `:${ref.root}` : ''}${ref.split ? `#${ref.split}` : ''}`;
}

/**
 * A training stream: forever, shuffled, seeded; scale → crop → flip → normalise as configured. `resume` is a
 * position from {@link BatchStream.state} (exact continuation).
 */
export function trainStream(
  config: TrainConfig,
  ref: DatasetRef,
  role: 'source' | 'target',
  batchSize: number,
  resume?: unknown,
): BatchStream {
  const spec = toSpec(ref, config.dataSeed, role);
  const it = createBatchIterator(spec, {
    batchSize,
    transform: {
      normalize: datasetNormalization(config.net.normalization),
      ...(config.crop ? { crop: config.crop } : {}),
      ...(config.scale[0] !== 1 || config.scale[1] !== 1 ? { scale: config.scale } : {}),
      flip: config.flip,
    },
    forever: true,
    shuffle: true,
    seed: config.seed * 7919 + (role === 'source' ? 1 : 2),
    workers: config.workers,
    prefetch: config.prefetch,
    ...(resume !== undefined ? { startFrom: resume as IteratorState } : {}),
  });
  return wrap(it, `${role} ${describeRef(ref)}`);
}

/**
 * The @road/datasets normalisation of an input normalisation mode (`torch` = torchvision's ImageNet mean/std;
 * `auto` before it is resolved means no weights, hence `torch`).
 */
export function datasetNormalization(mode: string | undefined): 'imagenet' | 'caffe' | 'tf' {
  return mode === 'caffe' || mode === 'tf' ? mode : 'imagenet';
}

/** An evaluation stream: one pass, in order, no augmentation; `normalization` as the net was trained. */
export function evalStream(
  ref: DatasetRef,
  seed: number,
  batchSize: number,
  role = 'val',
  normalization?: string,
): BatchStream {
  const spec = toSpec(ref, seed, role);
  const it = createBatchIterator(spec, {
    batchSize,
    transform: { normalize: datasetNormalization(normalization) },
    forever: false,
    shuffle: false,
    seed,
    workers: 0,
    prefetch: 1,
  });
  return wrap(it, `${role} ${describeRef(ref)}`);
}

type RawIterator = ReturnType<typeof createBatchIterator>;

function wrap(it: RawIterator, what: string): BatchStream & { done?: boolean } {
  const iter = it as unknown as AsyncIterator<Batch> & { state(): unknown; close(): Promise<void> };
  return {
    async next() {
      let r: IteratorResult<Batch>;
      try {
        r = await iter.next();
      } catch (e) {
        throw new RoadError(`reading ${what}: ${(e as Error).message}`, EXIT.badInput);
      }
      if (r.done) throw new EndOfData();
      return r.value;
    },
    state: () => iter.state(),
    close: async () => {
      await iter.close();
    },
  };
}

/** Thrown by a one-pass stream at its end. */
export class EndOfData extends Error {
  constructor() {
    super('end of data');
  }
}

/** Disposes a batch's tensors. */
export function disposeBatch(b: Batch | undefined): void {
  if (!b) return;
  b.images.dispose();
  b.labels?.dispose();
}
