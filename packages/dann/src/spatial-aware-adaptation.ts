import * as tf from '@tensorflow/tfjs-core';
import { activate, batchedHeads, type HeadLayer } from './batched-heads.js';
import { domainLossSums } from './domain-adversarial-loss.js';
import type { DomainClassifierLike } from './domain-classifier.js';
import { gradientReversal, type LambdaSource, resolveLambda } from './gradient-reversal.js';
import { type Crop, checkCrop, checkGrid, type RegionGrid, regionAssignment } from './region-grid.js';

/** Options of {@link SpatialAwareAdaptation}. */
export interface SpatialAwareAdaptationOptions {
  /** [rows, cols] of regions over the full image. */
  grid: RegionGrid;
  /** Creates the domain classifier of region `regionIndex` (0 … rows·cols−1); called once per region. */
  classifier: (regionIndex: number) => DomainClassifierLike;
  /**
   * How a region's classifier sees its positions (default 'gather'):
   * - 'gather': the reversed features are flattened to [N·H·W, C] and the region's rows are taken with
   *   `tf.gather` (a precomputed int32 index); the classifier gets [P, C] (use an MLP head or a 1×1 conv
   *   head). Cost: each position goes through exactly one classifier.
   * - 'full': every classifier runs on the whole reversed map [N, H, W, C] → [N, H, W, 1] and its logits at
   *   the region's positions are gathered. Needed for heads with spatial context (3×3 convs); costs
   *   rows·cols classifier passes over the whole map.
   * - 'batched': as 'gather', with the per-region work cut to the matMuls: one gather and one split for all
   *   regions, each head run as plain 2-D matMuls on its own variables (no tfjs-layers call), one loss over all
   *   logits, statistics read in JS. Needs heads with `pointwiseLayers()` (1×1-conv or MLP DomainClassifiers
   *   of equal shapes, no dropout layer). road-lite's 3×3 grid on wasm: 329 instead of 931 kernel calls,
   *   forward + backward ~2× faster.
   * - 'auto' (default): 'batched' when every head allows it, else 'gather'.
   */
  mode?: 'auto' | 'gather' | 'full' | 'batched';
}

/** Options of {@link SpatialAwareAdaptation.loss}. */
export interface SpatialAwareLossOptions {
  /** Gradient-reversal coefficient λ, a number or a function read at call time (default 1). */
  lambda?: LambdaSource;
  /** Where the source feature map sits in its full image: one crop for the batch, or one per batch item. */
  sourceCrop?: Crop | Crop[];
  /** Same for the target feature map. */
  targetCrop?: Crop | Crop[];
  /** Passed to the classifiers (dropout on) — default true. */
  training?: boolean;
  /**
   * Read accuracy and per-region statistics back as numbers (one synchronous read, default true). Pass false
   * on backends without synchronous reads; the numbers are then NaN (counts are always filled in).
   */
  readStats?: boolean;
  /**
   * Also return the domain accuracy as a scalar tensor, `accuracyTensor` (computed on the device, no read; the
   * caller owns it) — for backends without synchronous reads (webgpu in Node): read it with `await t.data()`.
   * Default false. Independent of `readStats` (pass `readStats: false` to avoid the synchronous read).
   */
  accuracyTensor?: boolean;
}

/** Per-region statistics of one {@link SpatialAwareAdaptation.loss} call. */
export interface RegionStats {
  region: number;
  row: number;
  col: number;
  sourceCount: number;
  targetCount: number;
  /** This region's BCE (NaN if the region had no positions or stats were not read). */
  loss: number;
  /** This region's domain accuracy (NaN likewise). */
  accuracy: number;
}

/** Result of {@link SpatialAwareAdaptation.loss}. */
export interface SpatialAwareLossResult {
  /** Mean over regions with positions of each region's domain BCE (caller owns it). */
  loss: tf.Scalar;
  /** Domain accuracy over all positions of both domains (NaN if not read). */
  accuracy: number;
  /** The same accuracy as a scalar tensor, only with `options.accuracyTensor` (caller owns it). */
  accuracyTensor?: tf.Scalar;
  perRegion: RegionStats[];
  /** Number of regions that had positions (the denominator of `loss`). */
  activeRegions: number;
}

function cropsFor(crop: Crop | Crop[] | undefined, n: number, what: string): (Crop | undefined)[] {
  if (crop === undefined) return new Array(n).fill(undefined);
  if (Array.isArray(crop)) {
    if (crop.length !== n) {
      throw new Error(`@road/dann: ${what} has ${crop.length} crops but the batch has ${n} items`);
    }
    crop.forEach((c, i) => {
      checkCrop(c, `${what}[${i}]`);
    });
    return crop;
  }
  checkCrop(crop, what);
  return new Array(n).fill(crop);
}

/**
 * Spatial-aware adaptation of ROAD-Net (Chen, Li & Van Gool, CVPR 2018, https://arxiv.org/abs/1711.11556):
 * the full image is split into a grid of regions, and each region r has its own domain classifier D_r.
 * Positions of the source and target feature maps are assigned to regions by their centre in full-image
 * coordinates ({@link regionAssignment}); D_r sees only the positions of region r (from both domains), after
 * gradient reversal R_λ. With P_r the positions of region r (S_r source, T_r target) and A the regions with
 * P_r ≠ ∅:
 *
 *   L_r = ( Σ_{p∈S_r} softplus(D_r(R_λ f_p)) + Σ_{p∈T_r} softplus(−D_r(R_λ f_p)) ) / |P_r|
 *   L   = (1/|A|) Σ_{r∈A} L_r
 *
 * Regions without positions in the batch contribute nothing (no NaN). Minimising L trains the classifiers to
 * tell the domains apart per region while the reversed gradient pushes the features to be region-wise
 * domain-invariant.
 *
 * Implementation: a position → region index is computed in JS per (batch size, H, W, crops) and cached;
 * see {@link SpatialAwareAdaptationOptions.mode} for how positions reach the classifiers.
 */
export class SpatialAwareAdaptation {
  readonly grid: RegionGrid;
  readonly mode: 'gather' | 'full' | 'batched';
  /** The region classifiers, index = row·cols + col. */
  readonly classifiers: DomainClassifierLike[];
  private readonly indexCache = new Map<string, Int32Array[]>();

  constructor(options: SpatialAwareAdaptationOptions) {
    this.grid = checkGrid(options?.grid);
    if (typeof options.classifier !== 'function') {
      throw new Error('@road/dann: SpatialAwareAdaptation needs `classifier: (regionIndex) => DomainClassifierLike`');
    }
    const mode = options.mode ?? 'auto';
    if (mode !== 'auto' && mode !== 'gather' && mode !== 'full' && mode !== 'batched') {
      throw new Error(
        `@road/dann: SpatialAwareAdaptation mode must be 'auto', 'gather', 'full' or 'batched', got ${String(mode)}`,
      );
    }
    const n = this.grid[0] * this.grid[1];
    this.classifiers = [];
    for (let r = 0; r < n; r++) {
      const clf = options.classifier(r);
      if (!clf || typeof clf.apply !== 'function') {
        throw new Error(`@road/dann: classifier(${r}) did not return an object with apply(x, { training })`);
      }
      this.classifiers.push(clf);
    }
    const batchable = batchedHeads(this.classifiers) !== null;
    if (mode === 'batched' && !batchable) {
      throw new Error(
        "@road/dann: SpatialAwareAdaptation mode 'batched' needs heads with pointwiseLayers() of equal shapes (1×1-conv or MLP DomainClassifiers without dropout)",
      );
    }
    this.mode = mode === 'auto' ? (batchable ? 'batched' : 'gather') : mode;
  }

  /** Number of regions (rows·cols). */
  get numRegions(): number {
    return this.classifiers.length;
  }

  /**
   * For a batch of N feature maps of H×W with the given crops, the flat positions (n·H·W + i·W + j) of each
   * region. Cached (the no-crop case is computed once per shape).
   */
  regionIndex(n: number, h: number, w: number, crop?: Crop | Crop[]): Int32Array[] {
    const crops = cropsFor(crop, n, 'crop');
    const key = `${n}x${h}x${w}|${JSON.stringify(crops)}`;
    const hit = this.indexCache.get(key);
    if (hit) return hit;
    const numRegions = this.numRegions;
    const counts = new Int32Array(numRegions);
    const assignments: Int32Array[] = [];
    const perCrop = new Map<string, Int32Array>();
    for (let b = 0; b < n; b++) {
      const ck = JSON.stringify(crops[b] ?? null);
      let a = perCrop.get(ck);
      if (!a) {
        a = regionAssignment(h, w, crops[b], this.grid);
        perCrop.set(ck, a);
      }
      assignments.push(a);
      for (let p = 0; p < a.length; p++) counts[a[p]]++;
    }
    const out = Array.from(counts, (c) => new Int32Array(c));
    const fill = new Int32Array(numRegions);
    for (let b = 0; b < n; b++) {
      const a = assignments[b];
      for (let p = 0; p < a.length; p++) out[a[p]][fill[a[p]]++] = b * h * w + p;
    }
    if (this.indexCache.size >= 64) this.indexCache.delete(this.indexCache.keys().next().value as string);
    this.indexCache.set(key, out);
    return out;
  }

  /**
   * The spatial-aware domain-adversarial loss of a source and a target feature map, both [N, H, W, C]
   * (N, H, W may differ between the domains; C may not). Call it inside `optimizer.minimize` /
   * `tf.variableGrads`: the classifiers get the gradient of L, the features get −λ times it.
   */
  loss(
    sourceFeatures: tf.Tensor,
    targetFeatures: tf.Tensor,
    options: SpatialAwareLossOptions = {},
  ): SpatialAwareLossResult {
    for (const [what, t] of [
      ['sourceFeatures', sourceFeatures],
      ['targetFeatures', targetFeatures],
    ] as const) {
      if (!(t instanceof tf.Tensor) || t.rank !== 4) {
        throw new Error(
          `@road/dann: SpatialAwareAdaptation.loss ${what} must be a [N, H, W, C] tensor, got ${
            t instanceof tf.Tensor ? `shape [${t.shape}]` : typeof t
          }`,
        );
      }
    }
    const [ns, hs, ws, cs] = sourceFeatures.shape;
    const [nt, ht, wt, ct] = targetFeatures.shape;
    if (cs !== ct) {
      throw new Error(
        `@road/dann: SpatialAwareAdaptation.loss channel mismatch: source [${sourceFeatures.shape}] vs target [${targetFeatures.shape}]`,
      );
    }
    const lambda = resolveLambda(options.lambda ?? 1, 'SpatialAwareAdaptation lambda');
    const training = options.training ?? true;
    const idxS = this.regionIndex(ns, hs, ws, options.sourceCrop);
    const idxT = this.regionIndex(nt, ht, wt, options.targetCrop);
    const [, cols] = this.grid;
    const perRegion: RegionStats[] = this.classifiers.map((_, r) => ({
      region: r,
      row: Math.floor(r / cols),
      col: r % cols,
      sourceCount: idxS[r].length,
      targetCount: idxT[r].length,
      loss: Number.NaN,
      accuracy: Number.NaN,
    }));
    const active = perRegion.filter((s) => s.sourceCount + s.targetCount > 0).map((s) => s.region);
    if (active.length === 0) {
      throw new Error(
        `@road/dann: SpatialAwareAdaptation.loss got no positions (source [${sourceFeatures.shape}], target [${targetFeatures.shape}])`,
      );
    }
    let accuracy = Number.NaN;
    if (this.mode === 'batched') {
      const r = this.batchedLoss(
        sourceFeatures,
        targetFeatures,
        lambda,
        idxS,
        idxT,
        active,
        perRegion,
        options.readStats ?? true,
        options.accuracyTensor ?? false,
      );
      return {
        loss: r.loss,
        accuracy: r.accuracy,
        ...(r.accuracyTensor ? { accuracyTensor: r.accuracyTensor } : {}),
        perRegion,
        activeRegions: active.length,
      };
    }
    let accuracyTensor: tf.Scalar | undefined;
    const loss = tf.tidy(() => {
      const rs = gradientReversal(sourceFeatures, lambda);
      const rt = gradientReversal(targetFeatures, lambda);
      const flatS = this.mode === 'gather' ? tf.reshape(rs, [ns * hs * ws, cs]) : null;
      const flatT = this.mode === 'gather' ? tf.reshape(rt, [nt * ht * wt, ct]) : null;
      const regionLosses: tf.Scalar[] = [];
      const regionCorrect: tf.Scalar[] = [];
      for (const r of active) {
        const clf = this.classifiers[r];
        const nS = idxS[r].length;
        const nT = idxT[r].length;
        let ls: tf.Tensor;
        let lt: tf.Tensor;
        if (this.mode === 'gather') {
          const parts: tf.Tensor[] = [];
          if (nS > 0) parts.push(tf.gather(flatS as tf.Tensor, tf.tensor1d(idxS[r], 'int32')));
          if (nT > 0) parts.push(tf.gather(flatT as tf.Tensor, tf.tensor1d(idxT[r], 'int32')));
          const x = parts.length === 1 ? parts[0] : tf.concat(parts, 0);
          const logits = tf.reshape(clf.apply(x, { training }), [-1]);
          if (logits.shape[0] !== nS + nT) {
            throw new Error(
              `@road/dann: region ${r} classifier returned ${logits.shape[0]} logits for ${nS + nT} positions (expected one per row)`,
            );
          }
          ls = tf.slice(logits, [0], [nS]);
          lt = tf.slice(logits, [nS], [nT]);
        } else {
          const pick = (feat: tf.Tensor, idx: Int32Array, n: number): tf.Tensor => {
            if (n === 0) return tf.zeros([0]);
            const logits = tf.reshape(clf.apply(feat, { training }), [-1]);
            const [fn, fh, fw] = feat.shape as number[];
            if (logits.shape[0] !== fn * fh * fw) {
              throw new Error(
                `@road/dann: region ${r} classifier returned shape of size ${logits.shape[0]} for input [${feat.shape}] (expected [N, H, W, 1])`,
              );
            }
            return tf.gather(logits, tf.tensor1d(idx, 'int32'));
          };
          ls = pick(rs, idxS[r], nS);
          lt = pick(rt, idxT[r], nT);
        }
        const { lossSum, correct } = domainLossSums(ls, lt);
        regionLosses.push(tf.div(lossSum, nS + nT) as tf.Scalar);
        regionCorrect.push(correct);
      }
      const total = tf.div(tf.addN(regionLosses), active.length) as tf.Scalar;
      if (options.accuracyTensor) {
        const count = active.reduce((a, r) => a + perRegion[r].sourceCount + perRegion[r].targetCount, 0);
        accuracyTensor = tf.keep(tf.div(tf.addN(regionCorrect), count) as tf.Scalar);
      }
      if (options.readStats ?? true) {
        const stats = tf.concat([tf.stack(regionLosses), tf.stack(regionCorrect)]).dataSync();
        let correctSum = 0;
        let count = 0;
        active.forEach((r, k) => {
          const s = perRegion[r];
          s.loss = stats[k];
          s.accuracy = stats[active.length + k] / (s.sourceCount + s.targetCount);
          correctSum += stats[active.length + k];
          count += s.sourceCount + s.targetCount;
        });
        accuracy = correctSum / count;
      }
      return total;
    });
    return { loss, accuracy, ...(accuracyTensor ? { accuracyTensor } : {}), perRegion, activeRegions: active.length };
  }

  /**
   * Mode 'batched': the loss of all active regions as one computation (same L as 'gather'). One gather puts
   * the positions in region order (region k's source positions, then its target positions); one split gives
   * each head its rows; each head is a chain of 2-D matMuls on its own weights (no tfjs-layers call); one
   * concat of the logits and a single weighted softplus sum give L, with w = 1/(|P_r|·|A|) and the sign
   * +1 (source: softplus(l)) / −1 (target: softplus(−l)). Per-region statistics are read from the logits in JS.
   */
  private batchedLoss(
    sourceFeatures: tf.Tensor,
    targetFeatures: tf.Tensor,
    lambda: number,
    idxS: Int32Array[],
    idxT: Int32Array[],
    active: number[],
    perRegion: RegionStats[],
    readStats: boolean,
    wantAccuracyTensor: boolean,
  ): { loss: tf.Scalar; accuracy: number; accuracyTensor?: tf.Scalar } {
    const [ns, hs, ws, c] = sourceFeatures.shape;
    const [nt, ht, wt] = targetFeatures.shape;
    const ps = ns * hs * ws;
    const k = active.length;
    const counts = active.map((r) => idxS[r].length + idxT[r].length);
    const offsets = counts.map((_, a) => counts.slice(0, a).reduce((x, y) => x + y, 0));
    const total = offsets[k - 1] + counts[k - 1];
    const order = new Int32Array(total);
    const sign = new Float32Array(total);
    const weight = new Float32Array(total);
    active.forEach((r, a) => {
      const o = offsets[a];
      const nS = idxS[r].length;
      order.set(idxS[r], o);
      const it = idxT[r];
      for (let i = 0; i < it.length; i++) order[o + nS + i] = ps + it[i];
      const w = 1 / (counts[a] * k);
      for (let i = 0; i < counts[a]; i++) {
        sign[o + i] = i < nS ? 1 : -1;
        weight[o + i] = w;
      }
    });
    const heads = batchedHeads(active.map((r) => this.classifiers[r])) as HeadLayer[][];
    let logitsOut: tf.Tensor | null = null;
    let accuracyTensor: tf.Scalar | undefined;
    const loss = tf.tidy(() => {
      const rs = gradientReversal(sourceFeatures, lambda);
      const rt = gradientReversal(targetFeatures, lambda);
      const all = tf.concat([tf.reshape(rs, [ps, c]), tf.reshape(rt, [nt * ht * wt, c])], 0);
      const rows = tf.gather(all, tf.tensor1d(order, 'int32'));
      const xs = k === 1 ? [rows] : tf.split(rows, counts, 0);
      const parts = heads.map((layers, a) => {
        let h = xs[a];
        for (const layer of layers) {
          const cout = layer.kernel.shape[layer.kernel.rank - 1];
          const w = layer.kernel.rank === 2 ? layer.kernel : tf.reshape(layer.kernel, [layer.kernel.size / cout, cout]);
          h = tf.matMul(h, w);
          if (layer.bias) h = tf.add(h, layer.bias);
          h = activate(h, layer.activation);
        }
        return h;
      });
      const logits = tf.reshape(k === 1 ? parts[0] : tf.concat(parts, 0), [total]);
      if (readStats) logitsOut = tf.keep(logits);
      if (wantAccuracyTensor) {
        // Correct ⇔ (logit > 0) = "is a target position" (as domainLossSums: source correct when logit ≤ 0).
        const isTarget = tf.tensor1d(sign.map((v) => (v < 0 ? 1 : 0)));
        const saysTarget = tf.cast(tf.greater(logits, 0), 'float32');
        accuracyTensor = tf.keep(
          tf.div(tf.sum(tf.cast(tf.equal(saysTarget, isTarget), 'float32')), total) as tf.Scalar,
        );
      }
      return tf.sum(tf.mul(tf.softplus(tf.mul(logits, tf.tensor1d(sign))), tf.tensor1d(weight))) as tf.Scalar;
    });
    let accuracy = Number.NaN;
    if (readStats && logitsOut) {
      const lg = (logitsOut as tf.Tensor).dataSync();
      (logitsOut as tf.Tensor).dispose();
      let correctSum = 0;
      active.forEach((r, a) => {
        let sum = 0;
        let correct = 0;
        for (let i = 0; i < counts[a]; i++) {
          const l = lg[offsets[a] + i];
          const z = sign[offsets[a] + i] * l;
          sum += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))); // softplus(z), stable
          if (i < idxS[r].length ? l <= 0 : l > 0) correct++; // as domainLossSums: logit > 0 ⇔ "target"
        }
        perRegion[r].loss = sum / counts[a];
        perRegion[r].accuracy = correct / counts[a];
        correctSum += correct;
      });
      accuracy = correctSum / total;
    }
    return { loss, accuracy, ...(accuracyTensor ? { accuracyTensor } : {}) };
  }

  /** Trainable variables of all region classifiers, region by region. */
  get trainableWeights(): tf.Variable[] {
    return this.classifiers.flatMap((c) => c.trainableWeights);
  }

  /** All variables of all region classifiers (falls back to `trainableWeights` for classifiers without `getWeights`). */
  getWeights(): tf.Variable[] {
    return this.classifiers.flatMap((c) => (c.getWeights ? c.getWeights() : c.trainableWeights));
  }

  /** Disposes every region classifier that has `dispose()`. */
  dispose(): void {
    for (const c of this.classifiers) c.dispose?.();
    this.indexCache.clear();
  }
}
