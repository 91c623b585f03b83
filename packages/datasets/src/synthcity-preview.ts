/**
 * A contact sheet of SynthCity scenes: one row per index, for each split the image and (optionally) its label
 * coloured with the Cityscapes palette — to look at the two domains side by side.
 */
import { encodePng } from './image-io.js';
import { CITYSCAPES_PALETTE } from './label-maps.js';
import { renderSynthCity, type SynthCitySplit } from './synthcity/index.js';

/** Options of {@link renderSynthCityPreview}. */
export interface SynthCityPreviewOptions {
  seed?: number;
  /** First image index (default 0) and number of rows (default 4). */
  start?: number;
  count?: number;
  width?: number;
  height?: number;
  /** Columns, in order (default source, target-train). */
  splits?: SynthCitySplit[];
  /** Add a coloured label column after each image (default true). */
  labels?: boolean;
}

/**
 * Renders the sheet and returns it as RGB pixels plus a PNG encoding (write `png` to a file to look at it).
 * Rows: indices `start..start+count−1`; columns: for each split, image then label (Cityscapes colours).
 */
export function renderSynthCityPreview(options: SynthCityPreviewOptions = {}): {
  data: Uint8Array;
  width: number;
  height: number;
  png: Buffer;
} {
  const { seed = 0, start = 0, count = 4, width = 320, height = 160, labels = true } = options;
  const splits = options.splits ?? ['source', 'target-train'];
  const cols = splits.length * (labels ? 2 : 1);
  const W = cols * width;
  const H = count * height;
  const data = new Uint8Array(W * H * 3);
  for (let r = 0; r < count; r++) {
    let c = 0;
    for (const split of splits) {
      const s = renderSynthCity(split, seed, start + r, width, height);
      const panels: Array<(p: number) => ArrayLike<number>> = [(p) => s.image.subarray(3 * p, 3 * p + 3)];
      if (labels) panels.push((p) => CITYSCAPES_PALETTE[s.label![p]] ?? [0, 0, 0]);
      for (const panel of panels) {
        for (let y = 0; y < height; y++) {
          for (let x = 0; x < width; x++) {
            const o = ((r * height + y) * W + c * width + x) * 3;
            const v = panel(y * width + x);
            data[o] = v[0];
            data[o + 1] = v[1];
            data[o + 2] = v[2];
          }
        }
        c++;
      }
    }
  }
  return { data, width: W, height: H, png: encodePng({ data, width: W, height: H, channels: 3 }) };
}
