/** One decoded example, as every reader and built-in benchmark yields it. */
export interface Sample {
  /** RGB, uint8, row-major HWC (length = height * width * 3). */
  image: Uint8Array;
  /** Train ids (0..numClasses-1, 255 = ignore), length = height * width. Absent for unlabeled data. */
  label?: Uint8Array;
  width: number;
  height: number;
  /** A stable name (file stem, or `synthcity/target/val/00012`). */
  name: string;
  /** Image-level class (classification views such as `digitsClassification`); absent for segmentation data. */
  classId?: number;
}

/**
 * Where a crop sits in the full image it was cut from, in full-image pixels. Spatial-aware adaptation
 * (@road/dann) assigns feature positions to regions of the *full* image with it.
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
   * True when the crop was mirrored left-right *after* cutting (transforms.ts flips after cropping). Then crop column
   * `x` shows full-image column `left + width - 1 - x`; `top`/`left` still describe the unflipped full image.
   * Use `cropToFull` from transforms.ts rather than doing this by hand.
   */
  flipped?: boolean;
}

/** A random-access collection of samples. Readers and built-in benchmarks implement it. */
export interface Dataset {
  readonly name: string;
  readonly length: number;
  /** Number of train-id classes of the label space (19 for Cityscapes/GTA5/SYNTHIA). */
  readonly numClasses: number;
  /** Decodes sample `index` (0 <= index < length). Errors name the file. */
  get(index: number): Promise<Sample>;
}

/**
 * A serialisable description of a dataset, so worker threads can open it themselves.
 * `kind` picks the reader; `root` is the folder for on-disk layouts; built-ins take `seed`/`split`.
 */
export interface DatasetSpec {
  kind: 'cityscapes' | 'gta5' | 'synthia' | 'folder' | 'synthcity' | 'digits';
  root?: string;
  split?: string;
  seed?: number;
  /** Skip unreadable samples with a warning instead of throwing. */
  skipBad?: boolean;
  /** Reader/generator specific options (must be structured-cloneable). */
  options?: Record<string, unknown>;
}
