/**
 * Streaming confusion matrix for semantic segmentation, and the scores derived from it.
 *
 * Rows are ground truth, columns are predictions: `confusion[g][p]` counts the pixels whose label is `g` and whose
 * prediction is `p`. From it, per class c (TP = confusion[c][c], FP = column sum − TP, FN = row sum − TP):
 *
 *   IoU_c      = TP / (TP + FP + FN)
 *   Acc_c      = TP / (TP + FN)                 (per-class recall)
 *   mIoU       = mean of IoU_c over classes whose IoU is defined
 *   pixel acc. = Σ_c TP_c / Σ all counted pixels
 *
 * A class with TP + FP + FN = 0 (absent from both prediction and label) has IoU NaN and is left out of the mean,
 * as in the Cityscapes / mmsegmentation evaluation code.
 */

/** Integer typed arrays accepted by {@link ConfusionMatrix.update}. */
export type IntArray = Uint8Array | Uint8ClampedArray | Uint16Array | Uint32Array | Int8Array | Int16Array | Int32Array;

export interface ConfusionMatrixOptions {
  /** Label value that is skipped (prediction not looked at). Default 255. `null` disables it. */
  ignoreIndex?: number | null;
}

/** Scores computed by {@link ConfusionMatrix.compute}. All plain numbers/arrays (JSON-able except NaN). */
export interface IoUResult {
  /** Per-class IoU in [0, 1]; NaN for a class absent from both prediction and label. */
  iou: number[];
  /** Mean of the defined (non-NaN) IoUs; NaN if none is defined. */
  miou: number;
  /** Correct pixels / counted pixels; NaN if nothing was counted. */
  pixelAccuracy: number;
  /** Per-class accuracy TP / (TP + FN); NaN for a class absent from the labels. */
  accuracy: number[];
  /** Mean of the defined per-class accuracies. */
  meanAccuracy: number;
  /** numClasses × numClasses counts; rows = ground truth, columns = prediction. */
  confusion: number[][];
  /** Number of counted (non-ignored) pixels. */
  total: number;
}

const MAX_U8_PAIRS = 1 << 16;

function isByteArray(a: IntArray): a is Uint8Array | Uint8ClampedArray {
  return a instanceof Uint8Array || a instanceof Uint8ClampedArray;
}

/** Mean of the non-NaN entries of `values` (NaN if there are none). */
export function nanMean(values: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (!Number.isNaN(v)) {
      sum += v;
      n++;
    }
  }
  return n === 0 ? Number.NaN : sum / n;
}

/**
 * Accumulates a `numClasses × numClasses` confusion matrix over any number of prediction/label maps.
 *
 * Counting is one pass over the pixels with no per-pixel function calls: for byte maps (the common case) each pixel
 * increments one bin of a 65536-bin histogram of (label, prediction) byte pairs, which is folded into the matrix
 * (and checked for out-of-range values) afterwards; other integer arrays use a checked loop on the flat index
 * `label * numClasses + prediction`. Counts are kept in a Float64Array (exact up to 2^53 pixels).
 *
 * @example
 * const cm = new ConfusionMatrix(19);
 * cm.update(predictionMap, labelMap); // Uint8Array each, same length
 * const { iou, miou } = cm.compute();
 */
export class ConfusionMatrix {
  readonly numClasses: number;
  readonly ignoreIndex: number | null;
  /** Row-major counts, `counts[gt * numClasses + pred]`. */
  readonly counts: Float64Array;
  private pairs: Uint32Array | null = null;

  constructor(numClasses: number, options: ConfusionMatrixOptions = {}) {
    if (!Number.isInteger(numClasses) || numClasses < 1) {
      throw new RangeError(`ConfusionMatrix: numClasses must be a positive integer, got ${numClasses}`);
    }
    const ignoreIndex = options.ignoreIndex === undefined ? 255 : options.ignoreIndex;
    if (ignoreIndex !== null && !Number.isInteger(ignoreIndex)) {
      throw new RangeError(`ConfusionMatrix: ignoreIndex must be an integer or null, got ${ignoreIndex}`);
    }
    if (ignoreIndex !== null && ignoreIndex >= 0 && ignoreIndex < numClasses) {
      throw new RangeError(
        `ConfusionMatrix: ignoreIndex ${ignoreIndex} is a valid class index (numClasses ${numClasses})`,
      );
    }
    this.numClasses = numClasses;
    this.ignoreIndex = ignoreIndex;
    this.counts = new Float64Array(numClasses * numClasses);
  }

  /** Number of counted (non-ignored) pixels so far. */
  get total(): number {
    let t = 0;
    for (let i = 0; i < this.counts.length; i++) t += this.counts[i];
    return t;
  }

  /**
   * Adds one prediction map and its label map (same length, any shape flattened the same way).
   * Pixels whose label equals `ignoreIndex` are skipped. A label or prediction outside [0, numClasses) throws a
   * RangeError naming the value and its index; the matrix is then left unchanged.
   */
  update(pred: IntArray, label: IntArray): this {
    if (!ArrayBuffer.isView(pred) || !ArrayBuffer.isView(label)) {
      throw new TypeError('ConfusionMatrix.update: pred and label must be integer typed arrays');
    }
    if (pred.length !== label.length) {
      throw new RangeError(
        `ConfusionMatrix.update: pred has ${pred.length} values but label has ${label.length}; they must match`,
      );
    }
    if (isByteArray(pred) && isByteArray(label)) {
      this.updateBytes(pred, label);
    } else {
      this.updateGeneric(pred, label);
    }
    return this;
  }

  /** Byte maps: histogram of (label << 8 | pred), then fold + range check on the 65536 bins. */
  private updateBytes(pred: Uint8Array | Uint8ClampedArray, label: Uint8Array | Uint8ClampedArray): void {
    if (this.pairs === null) this.pairs = new Uint32Array(MAX_U8_PAIRS);
    const h = this.pairs;
    const len = label.length;
    for (let i = 0; i < len; i++) {
      h[(label[i] << 8) | pred[i]]++;
    }
    const n = this.numClasses;
    const ign = this.ignoreIndex;
    // Validate before touching counts, so a failed update leaves the matrix unchanged.
    let bad = false;
    for (let g = 0; g < 256 && !bad; g++) {
      if (g === ign) continue;
      const row = g << 8;
      if (g >= n) {
        for (let p = 0; p < 256; p++) {
          if (h[row | p] !== 0) {
            bad = true;
            break;
          }
        }
      } else {
        for (let p = n; p < 256; p++) {
          if (h[row | p] !== 0) {
            bad = true;
            break;
          }
        }
      }
    }
    if (bad) {
      h.fill(0);
      this.throwRangeError(pred, label);
    }
    const c = this.counts;
    const rows = Math.min(n, 256);
    for (let g = 0; g < rows; g++) {
      const row = g << 8;
      const out = g * n;
      for (let p = 0; p < rows; p++) {
        const v = h[row | p];
        if (v !== 0) c[out + p] += v;
      }
    }
    h.fill(0);
  }

  private updateGeneric(pred: IntArray, label: IntArray): void {
    const n = this.numClasses;
    const ign = this.ignoreIndex === null ? Number.NaN : this.ignoreIndex;
    const len = label.length;
    const c = this.counts;
    // One pass; `>>> 0` makes negative values huge so one unsigned compare checks both ends of the range.
    // On a bad value the (small) matrix is restored from a snapshot, so a failed update changes nothing.
    const snapshot = c.slice();
    for (let i = 0; i < len; i++) {
      const g = label[i];
      if (g === ign) continue;
      const p = pred[i];
      if (g >>> 0 >= n || p >>> 0 >= n) {
        c.set(snapshot);
        this.throwRangeError(pred, label);
      }
      c[g * n + p]++;
    }
  }

  /** Slow path, only on error: finds the first offending pixel and throws naming it. */
  private throwRangeError(pred: IntArray, label: IntArray): never {
    const n = this.numClasses;
    for (let i = 0; i < label.length; i++) {
      const g = label[i];
      if (g === this.ignoreIndex) continue;
      if (g < 0 || g >= n) {
        throw new RangeError(
          `ConfusionMatrix.update: label value ${g} at index ${i} is outside [0, ${n}) and is not the ignore index ${this.ignoreIndex}`,
        );
      }
      const p = pred[i];
      if (p < 0 || p >= n) {
        throw new RangeError(`ConfusionMatrix.update: prediction value ${p} at index ${i} is outside [0, ${n})`);
      }
    }
    throw new Error('ConfusionMatrix.update: internal error (range error without an offending pixel)');
  }

  /** Adds the counts of another matrix with the same numClasses and ignoreIndex (e.g. from another worker). */
  merge(other: ConfusionMatrix): this {
    if (other.numClasses !== this.numClasses || other.ignoreIndex !== this.ignoreIndex) {
      throw new RangeError(
        `ConfusionMatrix.merge: shapes differ (numClasses ${this.numClasses} vs ${other.numClasses}, ignoreIndex ${this.ignoreIndex} vs ${other.ignoreIndex})`,
      );
    }
    for (let i = 0; i < this.counts.length; i++) this.counts[i] += other.counts[i];
    return this;
  }

  /** Sets every count to zero. */
  reset(): this {
    this.counts.fill(0);
    return this;
  }

  /** Per-class IoU / accuracy, their NaN-skipping means, pixel accuracy and the matrix itself. */
  compute(): IoUResult {
    const n = this.numClasses;
    const c = this.counts;
    const rowSum = new Float64Array(n);
    const colSum = new Float64Array(n);
    let total = 0;
    let correct = 0;
    for (let g = 0; g < n; g++) {
      for (let p = 0; p < n; p++) {
        const v = c[g * n + p];
        rowSum[g] += v;
        colSum[p] += v;
        total += v;
      }
      correct += c[g * n + g];
    }
    const iou: number[] = [];
    const accuracy: number[] = [];
    for (let k = 0; k < n; k++) {
      const tp = c[k * n + k];
      const union = rowSum[k] + colSum[k] - tp;
      iou.push(union === 0 ? Number.NaN : tp / union);
      accuracy.push(rowSum[k] === 0 ? Number.NaN : tp / rowSum[k]);
    }
    const confusion: number[][] = [];
    for (let g = 0; g < n; g++) confusion.push(Array.from(c.subarray(g * n, (g + 1) * n)));
    return {
      iou,
      miou: nanMean(iou),
      pixelAccuracy: total === 0 ? Number.NaN : correct / total,
      accuracy,
      meanAccuracy: nanMean(accuracy),
      confusion,
      total,
    };
  }
}
