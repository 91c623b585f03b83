import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { CITYSCAPES_CLASSES, SYNTHCITY_CLASSES } from '@road/datasets';
import {
  ConfusionMatrix,
  formatIoUTable,
  type IoUResult,
  MIOU13_CLASSES,
  MIOU16_CLASSES,
  miouOver,
  updateFromLogits,
} from '@road/metrics';
import * as tf from '@tensorflow/tfjs-core';
import type { DatasetRef } from './config.js';
import { type Batch, disposeBatch, EndOfData, evalStream } from './data.js';
import { writeFileAtomic } from './run-dir.js';

/** What the evaluator needs from a net: upsampled logits. */
export interface PredictNet {
  predict(x: tf.Tensor4D): tf.Tensor4D;
}

/** Result of one evaluation. */
export interface EvalResult {
  dataset: string;
  images: number;
  numClasses: number;
  classNames: string[];
  iou: number[];
  miou: number;
  /**
   * SynthCity only: mIoU over the 8 classes SynthCity draws (road, sidewalk, building, pole, vegetation, sky,
   * person, car) — its label set, as mIoU16/13 are SYNTHIA's. `miou` (all 19 train ids, the usual rule: a class
   * absent from labels *and* predictions is left out, a class predicted but absent counts as 0) is kept too.
   */
  miouPresent?: number;
  /** mIoU over the SYNTHIA 16/13-class subsets (only for 19-class label spaces). */
  miou16?: number;
  miou13?: number;
  pixelAccuracy: number;
  /** Per-class accuracy (recall). */
  accuracy: number[];
  meanAccuracy: number;
  confusion: number[][];
  total: number;
}

/** The train ids SynthCity uses. */
export const SYNTHCITY_CLASS_IDS: readonly number[] = Object.values(SYNTHCITY_CLASSES).sort((a, b) => a - b);

/** The headline mIoU of a result: over the dataset's own classes where it has a subset (SynthCity), else all. */
export function headlineMiou(r: EvalResult): number {
  return r.miouPresent ?? r.miou;
}

/** Class names for a label space of `numClasses` (the Cityscapes names for 19 classes). */
export function classNamesFor(numClasses: number, names?: readonly string[]): string[] {
  if (names && names.length === numClasses) return [...names];
  if (numClasses === 19) return [...(CITYSCAPES_CLASSES as readonly string[])];
  return Array.from({ length: numClasses }, (_, i) => `class ${i}`);
}

/**
 * Runs the net over a labelled dataset (one pass, no augmentation), accumulating a confusion matrix on the
 * argmax of the upsampled logits (@road/metrics). `limit` evaluates the first N images only.
 */
export async function evaluateNet(
  net: PredictNet,
  ref: DatasetRef,
  options: {
    numClasses: number;
    seed: number;
    limit?: number;
    batchSize?: number;
    classNames?: readonly string[];
    /** Input normalisation the net was trained with (`caffe` | `torch` | `tf`; default `torch`). */
    normalization?: string;
  },
): Promise<EvalResult> {
  const cm = new ConfusionMatrix(options.numClasses, { ignoreIndex: 255 });
  const batch = Math.max(1, Math.min(options.batchSize ?? 4, options.limit || Number.POSITIVE_INFINITY));
  const stream = evalStream(ref, options.seed, batch, 'val', options.normalization);
  let images = 0;
  try {
    for (;;) {
      if (options.limit && images >= options.limit) break;
      let b: Batch;
      try {
        b = await stream.next();
      } catch (e) {
        if (e instanceof EndOfData) break;
        throw e;
      }
      try {
        if (!b.labels) throw new Error(`evaluation dataset ${ref.kind} has no labels`);
        const logits = tf.tidy(() => net.predict(b.images));
        await updateFromLogits(cm, logits, b.labels);
        logits.dispose();
        images += b.images.shape[0];
      } finally {
        disposeBatch(b);
      }
    }
  } finally {
    await stream.close();
  }
  const r: IoUResult = cm.compute();
  const out: EvalResult = {
    dataset: `${ref.kind}${ref.split ? `#${ref.split}` : ''}`,
    images,
    numClasses: options.numClasses,
    classNames: classNamesFor(options.numClasses, options.classNames),
    iou: r.iou,
    miou: r.miou,
    pixelAccuracy: r.pixelAccuracy,
    accuracy: r.accuracy,
    meanAccuracy: r.meanAccuracy,
    confusion: r.confusion,
    total: r.total,
  };
  if (ref.kind === 'synthcity' && options.numClasses === 19) out.miouPresent = miouOver(r.iou, SYNTHCITY_CLASS_IDS);
  if (options.numClasses === 19) {
    out.miou16 = miouOver(r.iou, MIOU16_CLASSES);
    out.miou13 = miouOver(r.iou, MIOU13_CLASSES);
  }
  return out;
}

/** Markdown per-class table of one result (with mIoU16/13 rows for 19-class label spaces). */
export function evalMarkdown(r: EvalResult, title?: string): string {
  const subsets: Record<string, readonly number[]> | undefined =
    r.miouPresent !== undefined
      ? { 'mIoU (8 SynthCity classes)': SYNTHCITY_CLASS_IDS }
      : r.numClasses === 19
        ? { mIoU16: MIOU16_CLASSES, mIoU13: MIOU13_CLASSES }
        : undefined;
  const table = formatIoUTable(r, r.classNames, subsets ? { subsets } : {});
  return `${title ? `## ${title}\n\n` : ''}${r.dataset}, ${r.images} images\n\n${table}`;
}

/** Writes eval/<name>.json and eval/<name>.md. */
export function writeEval(dir: string, name: string, r: EvalResult, title?: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileAtomic(
    join(dir, `${name}.json`),
    JSON.stringify(r, (_, v) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 1),
  );
  writeFileAtomic(join(dir, `${name}.md`), evalMarkdown(r, title));
}

/**
 * A side-by-side markdown table of several results on the same label space (per-class IoU in %), e.g.
 * source-only vs road. The last row gives mIoU.
 */
export function sideBySide(columns: { name: string; result: EvalResult }[], digits = 1): string {
  const first = columns[0].result;
  const names = first.classNames;
  const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(digits) : 'n/a');
  const lines = [
    `| class | ${columns.map((c) => c.name).join(' | ')} |`,
    `|:---|${columns.map(() => '---:').join('|')}|`,
  ];
  const rows = first.miouPresent !== undefined ? [...SYNTHCITY_CLASS_IDS] : names.map((_, i) => i);
  for (const i of rows) lines.push(`| ${names[i]} | ${columns.map((c) => pct(c.result.iou[i])).join(' | ')} |`);
  if (first.miouPresent !== undefined) {
    lines.push(`| **mIoU (8 classes)** | ${columns.map((c) => `**${pct(headlineMiou(c.result))}**`).join(' | ')} |`);
    lines.push(`| mIoU (19, predicted-but-absent count 0) | ${columns.map((c) => pct(c.result.miou)).join(' | ')} |`);
  } else {
    lines.push(`| **mIoU** | ${columns.map((c) => `**${pct(c.result.miou)}**`).join(' | ')} |`);
  }
  lines.push(`| pixel acc. | ${columns.map((c) => pct(c.result.pixelAccuracy)).join(' | ')} |`);
  return `${lines.join('\n')}\n`;
}
