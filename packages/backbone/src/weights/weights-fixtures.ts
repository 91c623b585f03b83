// Test helpers for the pretrained-weight fixtures (fixtures/weights, made by make_weights.py). Not exported.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const WEIGHTS_DIR = join(__dirname, '../../fixtures/weights');

/** The fixed RGB test image in [0, 255], NHWC [1, h, w, 3]: the formula of make_weights.py's `image`. */
export function fixedImage(h: number, w: number): Float32Array {
  const out = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        out[(y * w + x) * 3 + c] = (y * 73 + x * 151 + c * 233 + ((y * x) % 97) + (((x + 2 * c) * (y + 1)) % 61)) % 256;
      }
  return out;
}

export type Reference = Record<string, Record<string, number[] | string>>;

let cached: Reference | undefined;
/** reference.json: PyTorch outputs at named layers, NHWC flat. */
export function reference(): Reference {
  cached ??= JSON.parse(readFileSync(join(WEIGHTS_DIR, 'reference.json'), 'utf8')) as Reference;
  return cached;
}
