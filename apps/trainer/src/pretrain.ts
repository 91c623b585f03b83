import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBatchIterator } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import { latestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { type DatasetRef, parseDatasetString, resolveDatasetRef } from './config.js';
import { describeRef, disposeBatch, openRef, toSpec } from './data.js';
import { ensureEngine } from './engine.js';
import { EXIT, RoadError } from './errors.js';
import { buildNet, identityOf, netSlots, ROTATION_CLASSES } from './parts.js';
import { createProgress } from './progress.js';
import { ensureRunDir, MetricsLog, writeFileAtomic } from './run-dir.js';
import { segmentationCrossEntropy } from './seg-loss.js';

/** Options of {@link pretrainTeacher}. */
export interface PretrainOptions {
  /** Unlabeled images (default `synthcity` → its `pretrain` pool); labelled ones for `task: 'segmentation'`. */
  dataset?: string | DatasetRef;
  /**
   * `rotation` (default): the self-supervised rotation pretext. `segmentation`: supervised semantic segmentation on a
   * labelled pool of another look (the stand-in for a labelled ImageNet-like corpus, e.g. SynthCity's `neutral` pool
   * with `options.labels`); the teacher's features are then semantic, as ROAD's ImageNet teacher's are.
   */
  task?: 'rotation' | 'segmentation';
  net?: string;
  /** Width multiplier of the net (must match the student's). */
  width?: number;
  steps?: number;
  /** Images per step (each is shown in all four rotations, so the net sees 4× as many). */
  batch?: number;
  /** Square crop side (rotations need square inputs). */
  crop?: number;
  lr?: number;
  seed?: number;
  dataSeed?: number;
  backend?: string;
  outDir: string;
  log?: (line: string) => void;
  quiet?: boolean;
}

/** What {@link pretrainTeacher} returns. */
export interface PretrainResult {
  checkpoint: string;
  steps: number;
  /** Rotation accuracy (segmentation: pixel accuracy) over the last 20 % of steps. */
  accuracy: number;
  seconds: number;
  settings: Record<string, unknown>;
}

/** Rotates an NHWC batch by k·90° (k = 0…3) with transpose/reverse. */
function rot90(x: tf.Tensor4D, k: number): tf.Tensor4D {
  switch (k % 4) {
    case 0:
      return x;
    case 1:
      return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 1);
    case 2:
      return tf.reverse(x, [1, 2]);
    default:
      return tf.reverse(tf.transpose(x, [0, 2, 1, 3]), 2);
  }
}

/**
 * Pretrains a teacher backbone without labels by rotation prediction (Gidaris et al., "Unsupervised Representation
 * Learning by Predicting Image Rotations", ICLR 2018): every image is shown at 0°, 90°, 180°, 270° and the net
 * (a segmentation net with 4 "classes") predicts the rotation from its spatially averaged logits. The backbone
 * (image → features) then serves as ROAD's frozen "real-style" teacher when no ImageNet weights are available.
 * The checkpoint is a normal road checkpoint of a 4-class net; `road train` uses its backbone.
 */
export async function pretrainTeacher(options: PretrainOptions): Promise<PretrainResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const task = options.task ?? 'rotation';
  const settings = {
    dataset: options.dataset ?? 'synthcity',
    net: options.net ?? 'road-lite',
    width: options.width ?? 1,
    steps: options.steps ?? 300,
    batch: options.batch ?? 4,
    crop: options.crop ?? 64,
    lr: options.lr ?? 0.002,
    seed: options.seed ?? 1,
    dataSeed: options.dataSeed ?? 0,
  };
  await ensureEngine(options.backend ?? 'auto', log);
  const ref =
    typeof settings.dataset === 'string'
      ? resolveDatasetRef(parseDatasetString(settings.dataset, 'dataset'), 'pretrain', 'dataset')
      : resolveDatasetRef(settings.dataset, 'pretrain', 'dataset');
  const ds = await openRef(ref, settings.dataSeed, 'pretrain');
  if (task === 'segmentation') {
    const first = await ds.get(0);
    if (!first.label)
      throw new RoadError(
        `pretrain task 'segmentation' needs labels: ${describeRef(ref)} has none (SynthCity's pools: options.labels)`,
        EXIT.badInput,
      );
  }
  const classes = task === 'segmentation' ? ds.numClasses : ROTATION_CLASSES;
  const paths = ensureRunDir(options.outDir);
  writeFileAtomic(join(paths.dir, 'pretrain.json'), JSON.stringify({ task, ...settings, dataset: ref }, null, 2));
  const net = buildNet({ name: settings.net, attention: 'none', width: settings.width }, classes, settings.seed);
  const optimizer = tf.train.adam(settings.lr);
  const it = createBatchIterator(toSpec(ref, settings.dataSeed, 'pretrain'), {
    batchSize: settings.batch,
    transform: { crop: [settings.crop, settings.crop], flip: true },
    forever: true,
    shuffle: true,
    seed: settings.seed * 7919 + 3,
    workers: 0,
    prefetch: 2,
  }) as unknown as AsyncIterator<{
    images: tf.Tensor4D;
    labels?: tf.Tensor3D;
  }> & { close(): Promise<void> };
  const metrics = new MetricsLog(paths.metrics);
  const progress = createProgress('pretrain', { log, quiet: options.quiet });
  const t0 = Date.now();
  const accs: number[] = [];
  progress.start(settings.steps, 0);
  const vars = net.trainableVariables();
  try {
    for (let step = 1; step <= settings.steps; step++) {
      const r = await it.next();
      const b = r.value as { images: tf.Tensor4D; labels?: tf.Tensor3D };
      if (task === 'segmentation') {
        const seg = segmentationStep(net, optimizer, vars, b.images, b.labels as tf.Tensor3D);
        const [lossValue, acc] = await seg.data();
        seg.dispose();
        disposeBatch(b as never);
        accs.push(acc);
        metrics.append({ step, loss_segmentation: lossValue, pixel_accuracy: acc });
        progress.update(step, { losses: { seg: lossValue, acc }, imagesPerSec: 0 });
        continue;
      }
      const n = b.images.shape[0];
      const labels = tf.tensor3d(
        Array.from({ length: 4 * n }, (_, i) => Math.floor(i / n)),
        [4 * n, 1, 1],
        'int32',
      );
      const inputs = tf.tidy(
        () =>
          tf.concat(
            [0, 1, 2, 3].map((k) => rot90(b.images, k)),
            0,
          ) as tf.Tensor4D,
      );
      const kept: { acc?: tf.Scalar } = {};
      const ts = Date.now();
      const loss = optimizer.minimize(
        () => {
          const logits = net.logits(inputs, true);
          const pooled = tf.mean(logits, [1, 2], true) as tf.Tensor4D; // [4N, 1, 1, 4]
          kept.acc = tf.keep(tf.mean(tf.cast(tf.equal(tf.argMax(pooled, 3), labels), 'float32')) as tf.Scalar);
          return segmentationCrossEntropy(pooled, labels);
        },
        true,
        vars,
      ) as tf.Scalar;
      // Read asynchronously (webgpu in Node has no synchronous read): loss and accuracy in one read.
      const read = tf.stack([loss, kept.acc ?? tf.scalar(Number.NaN)]);
      const [lossValue, acc] = await read.data();
      tf.dispose([read, loss, kept.acc ?? [], inputs, labels]);
      disposeBatch(b as never);
      accs.push(acc);
      metrics.append({
        step,
        loss_rotation: lossValue,
        rotation_accuracy: acc,
        images_per_sec: (4000 * n) / Math.max(1, Date.now() - ts),
      });
      progress.update(step, {
        losses: { rot: lossValue, acc },
        imagesPerSec: (4000 * n * step) / Math.max(1, Date.now() - t0),
      });
    }
  } finally {
    progress.stop();
    await it.close();
  }
  const tail = accs.slice(Math.floor(accs.length * 0.8));
  const accuracy = tail.reduce((a, b) => a + b, 0) / Math.max(1, tail.length);
  const checkpoint = await writeCheckpoint(
    paths.checkpoints,
    settings.steps,
    {
      step: settings.steps,
      net: identityOf({ name: settings.net, attention: 'none', width: settings.width }, classes),
      state: { pretext: task, settings, accuracy },
    },
    netSlots(net),
  );
  net.dispose();
  optimizer.dispose();
  const seconds = (Date.now() - t0) / 1000;
  log(
    `pretrain: ${task === 'segmentation' ? 'pixel' : 'rotation'} accuracy ${(100 * accuracy).toFixed(1)}% after ${settings.steps} steps, ${seconds.toFixed(0)} s → ${checkpoint}`,
  );
  return { checkpoint, steps: settings.steps, accuracy, seconds, settings };
}

/** One supervised step (softmax CE, ignore 255); returns [loss, pixel accuracy over labelled pixels] (caller disposes). */
function segmentationStep(
  net: ReturnType<typeof buildNet>,
  optimizer: tf.Optimizer,
  vars: tf.Variable[],
  images: tf.Tensor4D,
  labels: tf.Tensor3D,
): tf.Tensor1D {
  const kept: { acc?: tf.Scalar } = {};
  const loss = optimizer.minimize(
    () => {
      const logits = net.logits(images, true);
      kept.acc = tf.keep(
        tf.tidy(() => {
          const [, h, w] = labels.shape;
          const z = tf.image.resizeBilinear(logits, [h, w], false, true);
          const pred = tf.argMax(z, 3);
          const lab = tf.cast(labels, 'int32');
          const valid = tf.cast(tf.notEqual(lab, 255), 'float32');
          const hit = tf.mul(tf.cast(tf.equal(pred, lab), 'float32'), valid);
          return tf.div(tf.sum(hit), tf.maximum(tf.sum(valid), 1)) as tf.Scalar;
        }),
      );
      return segmentationCrossEntropy(logits, labels);
    },
    true,
    vars,
  ) as tf.Scalar;
  const out = tf.stack([loss, kept.acc as tf.Scalar]) as tf.Tensor1D;
  tf.dispose([loss, kept.acc ?? []]);
  return out;
}

/**
 * A cached teacher for `settings` under `cacheDir` (made by {@link pretrainTeacher} on a miss). The cache key is
 * the settings themselves (`pretrain.json` must match), so changing any of them pretrains again.
 */
export async function cachedTeacher(
  cacheDir: string,
  options: Omit<PretrainOptions, 'outDir'>,
): Promise<{ checkpoint: string; cached: boolean; seconds: number; accuracy: number | null }> {
  const key = JSON.stringify({ ...options, log: undefined, quiet: undefined, backend: undefined });
  const hash = Array.from(key)
    .reduce((h, c) => (Math.imul(h, 31) + c.charCodeAt(0)) >>> 0, 7)
    .toString(16);
  const dir = join(cacheDir, `teacher-${options.net ?? 'road-lite'}-${hash}`);
  const ck = latestCheckpoint(join(dir, 'checkpoints'));
  if (ck && existsSync(join(dir, 'pretrain.json'))) {
    const manifest = JSON.parse(readFileSync(join(ck, 'checkpoint.json'), 'utf8')) as { state: { accuracy?: number } };
    return { checkpoint: ck, cached: true, seconds: 0, accuracy: manifest.state.accuracy ?? null };
  }
  const r = await pretrainTeacher({ ...options, outDir: dir });
  return { checkpoint: r.checkpoint, cached: false, seconds: r.seconds, accuracy: r.accuracy };
}
