/**
 * Class subsets used when comparing with published SYNTHIA → Cityscapes results.
 *
 * Indices are Cityscapes train ids: 0 road, 1 sidewalk, 2 building, 3 wall, 4 fence, 5 pole, 6 traffic light,
 * 7 traffic sign, 8 vegetation, 9 terrain, 10 sky, 11 person, 12 rider, 13 car, 14 truck, 15 bus, 16 train,
 * 17 motorcycle, 18 bicycle. (Class names live in @road/datasets; this package stays name-agnostic.)
 */

import { type IoUResult, nanMean } from './confusion-matrix.js';

/** All 19 Cityscapes train ids (mIoU19, GTA5 → Cityscapes protocol). */
export const MIOU19_CLASSES: readonly number[] = Object.freeze(Array.from({ length: 19 }, (_, i) => i));

/** mIoU16 (SYNTHIA → Cityscapes): the 19 classes minus terrain (9), truck (14) and train (16). */
export const MIOU16_CLASSES: readonly number[] = Object.freeze([0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]);

/** mIoU13 (SYNTHIA → Cityscapes): the 16 classes minus wall (3), fence (4) and pole (5). */
export const MIOU13_CLASSES: readonly number[] = Object.freeze([0, 1, 2, 6, 7, 8, 10, 11, 12, 13, 15, 17, 18]);

/**
 * Mean of the per-class scores at `classIndices`, skipping NaN (classes absent from both prediction and label):
 * mIoU_S = (1 / |S'|) Σ_{c ∈ S'} IoU_c with S' = { c ∈ S : IoU_c defined }. NaN when no class of S is defined.
 *
 * @param scores per-class scores (e.g. `result.iou`) or an {@link IoUResult}.
 * @param classIndices which classes to average (e.g. {@link MIOU16_CLASSES}).
 */
export function miouOver(scores: ArrayLike<number> | Pick<IoUResult, 'iou'>, classIndices: readonly number[]): number {
  const values = 'iou' in scores ? scores.iou : scores;
  const picked: number[] = [];
  for (const c of classIndices) {
    if (!Number.isInteger(c) || c < 0 || c >= values.length) {
      throw new RangeError(`miouOver: class index ${c} is outside [0, ${values.length})`);
    }
    picked.push(values[c]);
  }
  return nanMean(picked);
}
