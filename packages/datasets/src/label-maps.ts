/**
 * Label spaces and id → train-id maps for the on-disk datasets.
 *
 * All readers produce Cityscapes' 19 train ids (0..18) with 255 = ignore. Sources:
 * - Cityscapes `*_gtFine_labelIds.png` and GTA5 `labels/*.png` store Cityscapes label ids 0..33 (-1 = license plate,
 *   never drawn in label images); the map is the `trainId` column of cityscapesScripts' `labels.py`.
 * - SYNTHIA-RAND-CITYSCAPES `GT/LABELS/*.png` store a SYNTHIA class id 0..22 in the first channel of a 16-bit PNG;
 *   the map follows the dataset's README class list and the mapping used by AdaptSegNet / ADVENT / DACS / DAFormer
 *   (terrain 16, truck 18 and train 20 are listed by the README but do not occur in SYNTHIA images).
 */

/** Train id of pixels that are ignored in losses and metrics. */
export const IGNORE_INDEX = 255;

/** Marks ids that are not in a label map inside a lookup table from {@link makeLabelLut}. */
export const LUT_UNKNOWN = 254;

/** The 19 Cityscapes train classes, indexed by train id. */
export const CITYSCAPES_CLASSES: readonly string[] = Object.freeze([
  'road',
  'sidewalk',
  'building',
  'wall',
  'fence',
  'pole',
  'traffic light',
  'traffic sign',
  'vegetation',
  'terrain',
  'sky',
  'person',
  'rider',
  'car',
  'truck',
  'bus',
  'train',
  'motorcycle',
  'bicycle',
]);

/** Standard Cityscapes colours (RGB) of the 19 train ids, as in cityscapesScripts' `labels.py`. */
export const CITYSCAPES_PALETTE: readonly (readonly [number, number, number])[] = Object.freeze([
  [128, 64, 128],
  [244, 35, 232],
  [70, 70, 70],
  [102, 102, 156],
  [190, 153, 153],
  [153, 153, 153],
  [250, 170, 30],
  [220, 220, 0],
  [107, 142, 35],
  [152, 251, 152],
  [70, 130, 180],
  [220, 20, 60],
  [255, 0, 0],
  [0, 0, 142],
  [0, 0, 70],
  [0, 60, 100],
  [0, 80, 100],
  [0, 0, 230],
  [119, 11, 32],
] as const);

/** A source-id → train-id map: every known source id, with 255 for ids that are known but ignored. */
export type LabelMap = Readonly<Record<number, number>>;

/**
 * Cityscapes label id → train id (also used for GTA5, whose labels are Cityscapes ids).
 * Ids 0–6 (unlabeled, ego vehicle, rectification border, out of roi, static, dynamic, ground), 9 parking,
 * 10 rail track, 14 guard rail, 15 bridge, 16 tunnel, 18 polegroup, 29 caravan, 30 trailer and -1 license plate
 * are known and ignored (255).
 */
export const CITYSCAPES_ID_TO_TRAIN_ID: LabelMap = Object.freeze({
  [-1]: 255,
  0: 255,
  1: 255,
  2: 255,
  3: 255,
  4: 255,
  5: 255,
  6: 255,
  7: 0, // road
  8: 1, // sidewalk
  9: 255, // parking
  10: 255, // rail track
  11: 2, // building
  12: 3, // wall
  13: 4, // fence
  14: 255, // guard rail
  15: 255, // bridge
  16: 255, // tunnel
  17: 5, // pole
  18: 255, // polegroup
  19: 6, // traffic light
  20: 7, // traffic sign
  21: 8, // vegetation
  22: 9, // terrain
  23: 10, // sky
  24: 11, // person
  25: 12, // rider
  26: 13, // car
  27: 14, // truck
  28: 15, // bus
  29: 255, // caravan
  30: 255, // trailer
  31: 16, // train
  32: 17, // motorcycle
  33: 18, // bicycle
});

/** GTA5 labels use Cityscapes label ids (Richter et al., "Playing for Data", 2016). */
export const GTA5_ID_TO_TRAIN_ID: LabelMap = CITYSCAPES_ID_TO_TRAIN_ID;

/** SYNTHIA-RAND-CITYSCAPES class names by SYNTHIA class id (from the dataset README). */
export const SYNTHIA_CLASSES: readonly string[] = Object.freeze([
  'void',
  'sky',
  'building',
  'road',
  'sidewalk',
  'fence',
  'vegetation',
  'pole',
  'car',
  'traffic sign',
  'pedestrian',
  'bicycle',
  'motorcycle',
  'parking-slot',
  'road-work',
  'traffic light',
  'terrain',
  'rider',
  'truck',
  'bus',
  'train',
  'wall',
  'lanemarking',
]);

/** SYNTHIA class id → Cityscapes train id. Void (0), parking-slot (13), road-work (14), lanemarking (22) → 255. */
export const SYNTHIA_ID_TO_TRAIN_ID: LabelMap = Object.freeze({
  0: 255, // void
  1: 10, // sky
  2: 2, // building
  3: 0, // road
  4: 1, // sidewalk
  5: 4, // fence
  6: 8, // vegetation
  7: 5, // pole
  8: 13, // car
  9: 7, // traffic sign
  10: 11, // pedestrian → person
  11: 18, // bicycle
  12: 17, // motorcycle
  13: 255, // parking-slot
  14: 255, // road-work
  15: 6, // traffic light
  16: 9, // terrain (not in SYNTHIA images)
  17: 12, // rider
  18: 14, // truck (not in SYNTHIA images)
  19: 15, // bus
  20: 16, // train (not in SYNTHIA images)
  21: 3, // wall
  22: 255, // lanemarking
});

/**
 * A 65536-entry lookup table `lut[sourceId] = trainId` for 8- and 16-bit label images.
 * Ids missing from `map` get {@link LUT_UNKNOWN} so that {@link applyLabelLut} can report them instead of silently
 * ignoring them. A negative id k (Cityscapes' -1) is also entered at its 8- and 16-bit wrap-arounds (255, 65535)
 * unless those ids are in the map themselves.
 */
export function makeLabelLut(map: LabelMap): Uint8Array {
  const lut = new Uint8Array(65536).fill(LUT_UNKNOWN);
  const entries = Object.entries(map).map(([k, v]) => [Number(k), v] as const);
  for (const [id, train] of entries) {
    if (!Number.isInteger(id) || id < -65536 || id > 65535) throw new RangeError(`makeLabelLut: bad source id ${id}`);
    if (!Number.isInteger(train) || train < 0 || train > 255 || train === LUT_UNKNOWN) {
      throw new RangeError(`makeLabelLut: source id ${id} maps to ${train}; train ids must be 0..253 or 255`);
    }
  }
  for (const [id, train] of entries) {
    if (id < 0) {
      for (const wrapped of [id & 0xff, id & 0xffff]) if (!(wrapped in map)) lut[wrapped] = train;
    }
  }
  for (const [id, train] of entries) if (id >= 0) lut[id] = train;
  return lut;
}

/**
 * Identity table for labels that already hold train ids: 0..numClasses-1 and 255 map to themselves, anything
 * else is unknown.
 */
export function trainIdLut(numClasses: number): Uint8Array {
  if (!Number.isInteger(numClasses) || numClasses < 1 || numClasses > 254) {
    throw new RangeError(`trainIdLut: numClasses must be 1..254, got ${numClasses}`);
  }
  const map: Record<number, number> = { 255: 255 };
  for (let c = 0; c < numClasses; c++) map[c] = c;
  return makeLabelLut(map);
}

/** Thrown by {@link applyLabelLut} for an id missing from the map. */
export class UnknownLabelIdError extends RangeError {
  constructor(
    readonly id: number,
    readonly x: number,
    readonly y: number,
  ) {
    super(`label id ${id} at pixel (x ${x}, y ${y}) is not in the label map`);
    this.name = 'UnknownLabelIdError';
  }
}

/**
 * Maps source ids to train ids through `lut` (one table read per pixel). An id the table marks
 * {@link LUT_UNKNOWN} throws {@link UnknownLabelIdError} naming the id and its pixel, unless `unknown` is
 * `'ignore'` (then such pixels become 255).
 */
export function applyLabelLut(
  ids: Uint8Array | Uint16Array,
  lut: Uint8Array,
  width: number,
  unknown: 'error' | 'ignore' = 'error',
): Uint8Array {
  const n = ids.length;
  const out = new Uint8Array(n);
  let sawUnknown = false;
  for (let i = 0; i < n; i++) {
    const t = lut[ids[i]];
    out[i] = t;
    if (t === LUT_UNKNOWN) sawUnknown = true;
  }
  if (sawUnknown) {
    for (let i = 0; i < n; i++) {
      if (out[i] !== LUT_UNKNOWN) continue;
      if (unknown === 'error') throw new UnknownLabelIdError(ids[i], i % width, Math.floor(i / width));
      out[i] = IGNORE_INDEX;
    }
  }
  return out;
}
