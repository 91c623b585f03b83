import { deriveSeed, Rng } from '../rng.js';
import type { Dataset, Sample } from '../types.js';
import type { Camera } from './camera.js';
import { Canvas } from './canvas.js';
import { colorize } from './colorize.js';
import { type Domain, SPLITS, SYNTHCITY_DEFAULT_LENGTHS, type SynthCitySplit, UNLABELED } from './constants.js';
import { neutralPalette, sourcePalette, targetPalette } from './palettes.js';
import { buildScene, type Look } from './scene.js';

// ---------------------------------------------------------------------------------------------------------------
// Camera and palette per domain, one rendered image, the Dataset.

function makeLook(domain: Domain, rng: Rng, W: number, H: number): Look {
  if (domain === 'source') {
    // Game-like camera: fixed height and lens, no roll, small pitch variation.
    const cam: Camera = { f: 0.85 * W, cx: W / 2, cy: H * rng.uniform(0.4, 0.44), hc: 1.6 };
    return { domain, cam, roll: 0, palette: sourcePalette(rng) };
  }
  // Target: a car-mounted camera — lower, longer lens, pitch (horizon) jitter and roll. Neutral: neither camera —
  // height, lens and horizon drawn over a range that covers both. Same draws in the same order for both.
  const neutral = domain === 'neutral';
  const cam: Camera = {
    f: (neutral ? rng.uniform(0.75, 1.15) : rng.uniform(0.92, 1.05)) * W,
    cx: W / 2 + rng.uniform(-0.03, 0.03) * W,
    cy: H * (neutral ? rng.uniform(0.36, 0.56) : rng.uniform(0.4, 0.52)),
    hc: neutral ? rng.uniform(1.1, 1.9) : rng.uniform(1.2, 1.4),
  };
  const roll = (rng.uniform(-3, 3) * Math.PI) / 180;
  return { domain, cam, roll, palette: neutral ? neutralPalette(rng) : targetPalette(rng) };
}

/** Maximum roll (radians) of the target camera; sets the render margin. */
const MAX_ROLL = (3 * Math.PI) / 180;

/**
 * Renders SynthCity image `index` of `split` under `seed` (synchronously). Prefer {@link synthCityDataset}.
 * Throws on a bad split or size.
 */
export function renderSynthCity(split: SynthCitySplit, seed: number, index: number, width = 160, height = 80): Sample {
  if (!SPLITS.includes(split)) throw new Error(`synthcity: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 16 || height < 8) {
    throw new Error(`synthcity: width/height must be integers >= 16x8, got ${width}x${height}`);
  }
  if (!Number.isSafeInteger(index) || index < 0) throw new Error(`synthcity: bad index ${index}`);
  const domain: Domain = split === 'source' ? 'source' : split === 'neutral' ? 'neutral' : 'target';
  const rng = new Rng(deriveSeed(seed, 'synthcity', split, index));
  const look = makeLook(domain, rng, width, height);
  const margin =
    look.roll === 0 && domain === 'source' ? 0 : Math.ceil(0.5 * Math.max(width, height) * Math.sin(MAX_ROLL)) + 1;
  const CW = width + 2 * margin;
  const CH = height + 2 * margin;
  const cam = { ...look.cam, cx: look.cam.cx + margin, cy: look.cam.cy + margin };
  const cv = new Canvas(CW, CH);
  buildScene(rng, cv, { ...look, cam });

  let label: Uint8Array;
  let mat: Uint8Array;
  if (margin === 0) {
    label = cv.label;
    mat = cv.mat;
  } else {
    // Roll: sample the canvas along rotated axes (nearest), around the image centre.
    label = new Uint8Array(width * height);
    mat = new Uint8Array(width * height);
    const c = Math.cos(look.roll);
    const s = Math.sin(look.roll);
    const ox = width / 2;
    const oy = height / 2;
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const dx = j + 0.5 - ox;
        const dy = i + 0.5 - oy;
        const sx = Math.floor(ox + c * dx - s * dy + margin);
        const sy = Math.floor(oy + s * dx + c * dy + margin);
        const q = Math.min(CH - 1, Math.max(0, sy)) * CW + Math.min(CW - 1, Math.max(0, sx));
        label[i * width + j] = cv.label[q];
        mat[i * width + j] = cv.mat[q];
      }
    }
  }
  // The neutral look is rendered flat like the source (no target textures, lighting, camera response or noise).
  const image = colorize(
    label,
    mat,
    width,
    height,
    cv.pal,
    look.palette,
    look.cam.cy,
    domain === 'target' ? 'target' : 'source',
    rng,
  );
  return { image, label, width, height, name: `synthcity/${split}/${String(index).padStart(5, '0')}` };
}

/** Options of {@link synthCityDataset}. */
export interface SynthCityOptions {
  split: SynthCitySplit;
  seed?: number;
  width?: number;
  height?: number;
  /** Number of images (default {@link SYNTHCITY_DEFAULT_LENGTHS}[split]). */
  length?: number;
  /**
   * Keep the rendered labels of the unlabeled pools (`neutral`, `pretrain`): supervised pretraining of a teacher on
   * the neutral look, the stand-in for a labelled ImageNet-like corpus. Default false (labelled splits keep theirs).
   */
  labels?: boolean;
}

/**
 * The SynthCity benchmark as a {@link Dataset} (19-class Cityscapes train-id space, 8 classes present).
 * `source` is labelled and rendered-looking; `target-train` (adaptation images; its labels exist but only an oracle
 * may use them), `target-val` (evaluation) and `pretrain` (unlabeled pool: labels are omitted) share the target look.
 * Images are generated on `get` from `(seed, split, index)`; nothing is cached.
 */
export function synthCityDataset(opts: SynthCityOptions): Dataset {
  const { split, seed = 0, width = 160, height = 80 } = opts;
  if (!SPLITS.includes(split)) throw new Error(`synthcity: unknown split '${split}' (expected ${SPLITS.join(', ')})`);
  if (!Number.isSafeInteger(seed)) throw new Error(`synthcity: seed must be an integer, got ${seed}`);
  const length = opts.length ?? SYNTHCITY_DEFAULT_LENGTHS[split];
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`synthcity: length must be a positive integer, got ${length}`);
  renderSynthCity(split, seed, 0, width, height); // validates size early (cheap)
  return {
    name: `synthcity/${split}`,
    length,
    numClasses: 19,
    async get(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new Error(`synthcity/${split}: index ${index} out of range [0, ${length})`);
      }
      const s = renderSynthCity(split, seed, index, width, height);
      if (UNLABELED.includes(split) && !opts.labels) return { ...s, label: undefined };
      return s;
    },
  };
}
