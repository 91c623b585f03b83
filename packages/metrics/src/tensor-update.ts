import * as tf from '@tensorflow/tfjs-core';
import type { ConfusionMatrix, IntArray } from './confusion-matrix.js';

function checkLabelShape(fn: string, nhw: number[], labels: tf.Tensor | IntArray): void {
  const [n, h, w] = nhw;
  if (!ArrayBuffer.isView(labels)) {
    const s = labels.shape;
    const ok = (s.length === 3 || (s.length === 4 && s[3] === 1)) && s[0] === n && s[1] === h && s[2] === w;
    if (!ok) {
      throw new RangeError(
        `${fn}: labels shape [${s}] does not match predictions [${n},${h},${w}] (want [N,H,W] or [N,H,W,1])`,
      );
    }
  } else if (labels.length !== n * h * w) {
    throw new RangeError(`${fn}: labels has ${labels.length} values, predictions have ${n}×${h}×${w} = ${n * h * w}`);
  }
}

async function labelValues(labels: tf.Tensor | IntArray): Promise<IntArray> {
  if (ArrayBuffer.isView(labels)) return labels;
  if (labels.dtype === 'int32') return (await labels.data()) as Int32Array;
  const asInt = tf.cast(labels, 'int32');
  try {
    return (await asInt.data()) as Int32Array;
  } finally {
    asInt.dispose();
  }
}

/**
 * Adds a batch of class-index predictions (`[N,H,W]` int tensor) and labels to `cm`.
 * Labels may be a `[N,H,W]` / `[N,H,W,1]` tensor (cast to int32 if float) or an integer typed array of N·H·W values.
 * Tensors passed in are not disposed; nothing is left allocated.
 */
export async function updateFromPredictions(
  cm: ConfusionMatrix,
  predictions: tf.Tensor3D,
  labels: tf.Tensor | IntArray,
): Promise<void> {
  if (predictions.rank !== 3)
    throw new RangeError(`updateFromPredictions: predictions must be [N,H,W], got [${predictions.shape}]`);
  checkLabelShape('updateFromPredictions', predictions.shape, labels);
  let pred: IntArray;
  if (predictions.dtype === 'int32') {
    pred = (await predictions.data()) as Int32Array;
  } else {
    const p = tf.cast(predictions, 'int32');
    try {
      pred = (await p.data()) as Int32Array;
    } finally {
      p.dispose();
    }
  }
  cm.update(pred, await labelValues(labels));
}

/**
 * Arg-max of `logits` (`[N,H,W,C]`, NHWC, C = cm.numClasses) over the class axis on the tensor's backend, then
 * counts against `labels` (same N,H,W; ignore pixels skipped). Logits must already be at label resolution
 * (upsample bilinearly first). Only the int32 class map travels to the CPU. Inputs are not disposed; no leak.
 *
 * @example
 * await updateFromLogits(cm, model.predict(images) as tf.Tensor4D, labels);
 */
export async function updateFromLogits(
  cm: ConfusionMatrix,
  logits: tf.Tensor4D,
  labels: tf.Tensor | IntArray,
): Promise<void> {
  if (logits.rank !== 4) throw new RangeError(`updateFromLogits: logits must be [N,H,W,C], got [${logits.shape}]`);
  if (logits.shape[3] !== cm.numClasses) {
    throw new RangeError(
      `updateFromLogits: logits have ${logits.shape[3]} channels but the matrix has ${cm.numClasses} classes`,
    );
  }
  checkLabelShape('updateFromLogits', logits.shape.slice(0, 3), labels);
  const pred = tf.argMax(logits, 3) as tf.Tensor3D;
  try {
    await updateFromPredictions(cm, pred, labels);
  } finally {
    pred.dispose();
  }
}
