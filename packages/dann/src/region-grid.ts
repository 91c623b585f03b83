// Region grid of spatial-aware adaptation: which region of the full image each feature position of a crop falls in.
/**
 * Where a crop sits in the full image it was cut from, in full-image pixels: the shape this package reads. The crops
 * themselves come from @road/datasets (its `Crop`, the home of the concept); this structural copy keeps @road/dann free
 * of a dependency on the data package, and the trainer's `shared-contracts.test.ts` checks the two types are equal.
 */
export interface Crop {
  top: number;
  left: number;
  /** Size of the crop in the (possibly rescaled) full image. */
  height: number;
  width: number;
  fullHeight: number;
  fullWidth: number;
  /**
   * True when the crop was mirrored left-right after cutting: feature column j then shows full-image
   * x = left + width − (j + 0.5)·width/W instead of left + (j + 0.5)·width/W.
   */
  flipped?: boolean;
}

/** A grid of regions over the full image: [rows, cols]. Region index = row·cols + col. */
export type RegionGrid = [number, number];

export function checkGrid(grid: unknown): RegionGrid {
  if (
    !Array.isArray(grid) ||
    grid.length !== 2 ||
    !grid.every((v) => typeof v === 'number' && Number.isInteger(v) && v > 0)
  ) {
    throw new Error(`@road/dann: grid must be [rows, cols] of positive integers, got ${JSON.stringify(grid)}`);
  }
  return grid as RegionGrid;
}

export function checkCrop(crop: Crop, what: string): void {
  const keys = ['top', 'left', 'height', 'width', 'fullHeight', 'fullWidth'] as const;
  for (const k of keys) {
    const v = (crop as unknown as Record<string, unknown>)?.[k];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      throw new Error(`@road/dann: ${what}.${k} must be a finite number, got ${JSON.stringify(crop)}`);
    }
  }
  for (const k of ['height', 'width', 'fullHeight', 'fullWidth'] as const) {
    if (crop[k] <= 0) throw new Error(`@road/dann: ${what}.${k} must be > 0, got ${JSON.stringify(crop)}`);
  }
}

/**
 * Assigns each position of an H×W feature map to a region of a `grid` over the *full* image (ROAD-Net,
 * Chen et al., "ROAD: Reality Oriented Adaptation for Semantic Segmentation of Urban Scenes", CVPR 2018,
 * https://arxiv.org/abs/1711.11556, spatial-aware adaptation).
 *
 * The feature map covers `crop` (full-image pixels). Position (i, j) has its centre at
 *
 *   y = top + (i + 0.5)·height/H,   x = left + (j + 0.5)·width/W
 *
 * (for a crop mirrored after cutting, `flipped: true`: x = left + width − (j + 0.5)·width/W)
 * and belongs to region row = clamp(⌊y·rows/fullHeight⌋, 0, rows−1), col = clamp(⌊x·cols/fullWidth⌋, 0, cols−1),
 * index row·cols + col. Without a crop the feature map covers the full image (top = left = 0,
 * height = fullHeight = H, width = fullWidth = W).
 *
 * @returns Int32Array of length H·W, row-major (index i·W + j), region index per position.
 */
export function regionAssignment(
  featureH: number,
  featureW: number,
  crop: Crop | null | undefined,
  grid: RegionGrid,
): Int32Array {
  for (const [name, v] of [
    ['featureH', featureH],
    ['featureW', featureW],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(`@road/dann: regionAssignment ${name} must be a positive integer, got ${v}`);
  }
  const [rows, cols] = checkGrid(grid);
  const c: Crop = crop ?? {
    top: 0,
    left: 0,
    height: featureH,
    width: featureW,
    fullHeight: featureH,
    fullWidth: featureW,
  };
  if (crop) checkCrop(crop, 'crop');
  const out = new Int32Array(featureH * featureW);
  const colOf = new Int32Array(featureW);
  for (let j = 0; j < featureW; j++) {
    const offset = ((j + 0.5) * c.width) / featureW;
    const x = c.flipped ? c.left + c.width - offset : c.left + offset;
    colOf[j] = Math.min(cols - 1, Math.max(0, Math.floor((x * cols) / c.fullWidth)));
  }
  for (let i = 0; i < featureH; i++) {
    const y = c.top + ((i + 0.5) * c.height) / featureH;
    const row = Math.min(rows - 1, Math.max(0, Math.floor((y * rows) / c.fullHeight)));
    for (let j = 0; j < featureW; j++) out[i * featureW + j] = row * cols + colOf[j];
  }
  return out;
}
