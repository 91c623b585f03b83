/**
 * Seeded, pure transforms on {@link Sample}s: resize, random scale, random crop (returning where the crop sits in the
 * full image), horizontal flip and colour normalisation. No tfjs: these run on plain typed arrays, in worker threads.
 *
 * Coordinate conventions (documented once, used everywhere):
 * - Resampling uses half-pixel centres: output pixel `o` samples input coordinate `(o + 0.5) · in/out − 0.5`.
 *   Images are bilinear (PyTorch `F.interpolate(mode='bilinear', align_corners=False, antialias=False)`), labels are
 *   nearest with the same centres (`floor((o + 0.5) · in/out)`, PyTorch's `'nearest-exact'`), so labels stay aligned
 *   with the image and keep their ids.
 * - A {@link Crop} is expressed in the pixels of the *rescaled* full image (after `resize` and random scale):
 *   crop row `y` is full-image row `top + y`, crop column `x` is full-image column `left + x` — or
 *   `left + width − 1 − x` when `flipped` is true (the flip is applied after cropping). `fullHeight`/`fullWidth` are
 *   the rescaled full image's size, so `top / fullHeight` etc. are relative positions independent of the scale.
 * - When the requested crop is larger than the rescaled image in a dimension, the image is placed at the top/left of
 *   the crop (`top`/`left` = 0) and the rest is padded: label `ignoreIndex` (255), image `padColor` (default: the
 *   normalisation mean, so padded pixels normalise to 0). Then `top + height > fullHeight`: rows at or past
 *   `fullHeight` are padding, not image.
 *
 * Flip and spatial-aware adaptation: a per-region domain classifier needs each crop pixel's region in the *unflipped*
 * camera frame (street scenes are not left-right symmetric for a classifier that has one head per region: e.g. parked
 * cars and sidewalks sit on a given side). So the flip is applied after cropping, `top`/`left` always refer to the
 * unflipped full image, and `flipped: true` tells the consumer to mirror columns — {@link cropToFull} does the mapping.
 */
import type { Rng } from './rng.js';
import type { Crop, Dataset, Sample } from './types.js';

/** ImageNet channel mean (RGB, on the 0..1 scale), as used by torchvision's pretrained models. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviation (RGB, on the 0..1 scale). */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** The label value that losses and metrics skip (same as label-maps' IGNORE_INDEX). */
const IGNORE_INDEX = 255;

/** Per-channel BGR means of Caffe/Keras `caffe` preprocessing (0..255 scale). */
export const CAFFE_BGR_MEAN: readonly [number, number, number] = [103.939, 116.779, 123.68];

/**
 * Colour normalisation: `'imagenet'` → `(x/255 − IMAGENET_MEAN) / IMAGENET_STD` (torchvision/timm weights);
 * `'unit'` → `x/255`; `'caffe'` → channels reversed to BGR, minus {@link CAFFE_BGR_MEAN}, on the 0..255 scale
 * (Caffe/DeepLab-v2 and Keras VGG16/ResNet weights); `'tf'` → `x/127.5 − 1`; or explicit per-channel `mean`/`std`
 * on the 0..1 scale (e.g. from {@link estimateMeanStd}).
 */
export type Normalization = 'imagenet' | 'unit' | 'caffe' | 'tf' | { mean: readonly number[]; std: readonly number[] };

/** Options for {@link augment}. Steps run in this order: resize → scale → crop → flip. */
export interface TransformSpec {
  /** Deterministic resize to `[height, width]` before anything else. */
  resize?: [number, number];
  /** Random scale factor, uniform in `[min, max]`, applied to both sides (sizes rounded to integers). */
  scale?: [number, number];
  /** Random crop `[height, width]` (padded when larger than the image). */
  crop?: [number, number];
  /** Random horizontal flip with probability 0.5 (after cropping; sets `crop.flipped`). */
  flip?: boolean;
  /** Colour normalisation applied by {@link normalizeImage} / the batch iterator (default `'imagenet'`). */
  normalize?: Normalization;
  /** RGB 0..255 used to pad images; default: the normalisation mean × 255, rounded. */
  padColor?: [number, number, number];
  /** Label value used to pad labels (default 255). */
  ignoreIndex?: number;
}

function checkSample(s: Sample): void {
  const { width, height } = s;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new Error(`sample ${s.name}: invalid size ${width}x${height}`);
  }
  if (s.image.length !== width * height * 3) {
    throw new Error(`sample ${s.name}: image has ${s.image.length} values, expected ${width}x${height}x3`);
  }
  if (s.label && s.label.length !== width * height) {
    throw new Error(`sample ${s.name}: label has ${s.label.length} values, expected ${width}x${height}`);
  }
}

function checkSize(what: string, h: number, w: number): void {
  if (!Number.isInteger(h) || !Number.isInteger(w) || h <= 0 || w <= 0) {
    throw new Error(`${what}: size must be positive integers, got ${h}x${w}`);
  }
}

/** Mean of the normalisation on the 0..1 scale. */
function normMeanStd(norm: Normalization): { mean: number[]; std: number[] } {
  if (norm === 'imagenet') return { mean: [...IMAGENET_MEAN], std: [...IMAGENET_STD] };
  if (norm === 'unit') return { mean: [0, 0, 0], std: [1, 1, 1] };
  if (norm === 'tf') return { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5] };
  // caffe, in RGB order (normalizeImage reverses the channels)
  if (norm === 'caffe')
    return { mean: [...CAFFE_BGR_MEAN].reverse().map((m) => m / 255), std: [1 / 255, 1 / 255, 1 / 255] };
  if (typeof norm === 'string') throw new Error(`normalize: unknown normalisation '${norm}'`);
  const { mean, std } = norm;
  if (!mean || !std || mean.length !== 3 || std.length !== 3 || std.some((v) => !(v > 0))) {
    throw new Error(`normalize: expected mean and std with 3 values each (std > 0), got ${JSON.stringify(norm)}`);
  }
  return { mean: [...mean], std: [...std] };
}

/** Default pad colour for a normalisation: its mean × 255, rounded (so padding normalises to ~0). */
export function defaultPadColor(norm: Normalization = 'imagenet'): [number, number, number] {
  const { mean } = normMeanStd(norm);
  return [Math.round(mean[0] * 255), Math.round(mean[1] * 255), Math.round(mean[2] * 255)];
}

/**
 * Resamples a window of a virtually resized image, so scale + crop cost only the cropped pixels.
 * The virtual image is `src` (srcH×srcW×channels) resized to outH×outW; the window is rows `top..top+winH−1`,
 * columns `left..left+winW−1` of it; pixels outside the virtual image get `pad`.
 */
function resampleWindow(
  src: Uint8Array,
  srcH: number,
  srcW: number,
  channels: number,
  outH: number,
  outW: number,
  top: number,
  left: number,
  winH: number,
  winW: number,
  mode: 'bilinear' | 'nearest',
  pad: readonly number[],
): Uint8Array {
  const dst = new Uint8Array(winH * winW * channels);
  const sy = srcH / outH;
  const sx = srcW / outW;
  if (mode === 'nearest') {
    const colIdx = new Int32Array(winW);
    for (let x = 0; x < winW; x++) {
      const X = left + x;
      colIdx[x] = X < 0 || X >= outW ? -1 : Math.min(srcW - 1, Math.floor((X + 0.5) * sx));
    }
    for (let y = 0; y < winH; y++) {
      const Y = top + y;
      const rowOut = y * winW * channels;
      if (Y < 0 || Y >= outH) {
        for (let x = 0; x < winW; x++) for (let c = 0; c < channels; c++) dst[rowOut + x * channels + c] = pad[c];
        continue;
      }
      const rowIn = Math.min(srcH - 1, Math.floor((Y + 0.5) * sy)) * srcW * channels;
      for (let x = 0; x < winW; x++) {
        const o = rowOut + x * channels;
        const cx = colIdx[x];
        if (cx < 0) {
          for (let c = 0; c < channels; c++) dst[o + c] = pad[c];
        } else {
          const i = rowIn + cx * channels;
          for (let c = 0; c < channels; c++) dst[o + c] = src[i + c];
        }
      }
    }
    return dst;
  }
  // Bilinear with half-pixel centres; source coordinates below 0 clamp to 0 (as PyTorch does).
  const x0 = new Int32Array(winW);
  const x1 = new Int32Array(winW);
  const wx = new Float64Array(winW);
  for (let x = 0; x < winW; x++) {
    const X = left + x;
    if (X < 0 || X >= outW) {
      x0[x] = -1;
      continue;
    }
    const s = Math.max(0, (X + 0.5) * sx - 0.5);
    const i0 = Math.min(srcW - 1, Math.floor(s));
    x0[x] = i0;
    x1[x] = Math.min(srcW - 1, i0 + 1);
    wx[x] = s - i0;
  }
  for (let y = 0; y < winH; y++) {
    const Y = top + y;
    const rowOut = y * winW * channels;
    if (Y < 0 || Y >= outH) {
      for (let x = 0; x < winW; x++) for (let c = 0; c < channels; c++) dst[rowOut + x * channels + c] = pad[c];
      continue;
    }
    const s = Math.max(0, (Y + 0.5) * sy - 0.5);
    const y0 = Math.min(srcH - 1, Math.floor(s));
    const y1 = Math.min(srcH - 1, y0 + 1);
    const wy = s - y0;
    const r0 = y0 * srcW * channels;
    const r1 = y1 * srcW * channels;
    if (channels === 3) {
      // Same arithmetic as the generic loop below, unrolled for RGB.
      for (let x = 0; x < winW; x++) {
        const o = rowOut + x * 3;
        const a = x0[x];
        if (a < 0) {
          dst[o] = pad[0];
          dst[o + 1] = pad[1];
          dst[o + 2] = pad[2];
          continue;
        }
        const w = wx[x];
        const w1 = 1 - w;
        const ia = a * 3;
        const ib = x1[x] * 3;
        for (let c = 0; c < 3; c++) {
          const top0 = src[r0 + ia + c] * w1 + src[r0 + ib + c] * w;
          const bot0 = src[r1 + ia + c] * w1 + src[r1 + ib + c] * w;
          dst[o + c] = (top0 * (1 - wy) + bot0 * wy + 0.5) | 0; // = Math.round for values >= 0
        }
      }
      continue;
    }
    for (let x = 0; x < winW; x++) {
      const o = rowOut + x * channels;
      const a = x0[x];
      if (a < 0) {
        for (let c = 0; c < channels; c++) dst[o + c] = pad[c];
        continue;
      }
      const b = x1[x];
      const w = wx[x];
      for (let c = 0; c < channels; c++) {
        const top0 = src[r0 + a * channels + c] * (1 - w) + src[r0 + b * channels + c] * w;
        const bot0 = src[r1 + a * channels + c] * (1 - w) + src[r1 + b * channels + c] * w;
        dst[o + c] = Math.round(top0 * (1 - wy) + bot0 * wy); // Uint8Array clamps; values stay in 0..255
      }
    }
  }
  return dst;
}

/**
 * Resizes a sample to `height`×`width`: image bilinear, label nearest (both with half-pixel centres, see the module
 * comment). Label ids are preserved exactly (nearest never invents values).
 */
export function resize(sample: Sample, height: number, width: number): Sample {
  checkSample(sample);
  checkSize('resize', height, width);
  const { height: H, width: W } = sample;
  const image = resampleWindow(sample.image, H, W, 3, height, width, 0, 0, height, width, 'bilinear', [0, 0, 0]);
  const label = sample.label
    ? resampleWindow(sample.label, H, W, 1, height, width, 0, 0, height, width, 'nearest', [IGNORE_INDEX])
    : undefined;
  return { ...sample, image, label, height, width };
}

/**
 * Cuts the window rows `top..top+height−1`, columns `left..left+width−1` out of `sample` (any part outside the image
 * is padded), returning the cut sample and its {@link Crop} in the sample's own pixel coordinates.
 */
export function crop(
  sample: Sample,
  top: number,
  left: number,
  height: number,
  width: number,
  opts: { padColor?: readonly number[]; ignoreIndex?: number } = {},
): { sample: Sample; crop: Crop } {
  return scaleAndCrop(sample, sample.height, sample.width, top, left, height, width, opts);
}

function scaleAndCrop(
  sample: Sample,
  fullHeight: number,
  fullWidth: number,
  top: number,
  left: number,
  height: number,
  width: number,
  opts: { padColor?: readonly number[]; ignoreIndex?: number },
): { sample: Sample; crop: Crop } {
  checkSample(sample);
  checkSize('crop', height, width);
  if (!Number.isInteger(top) || !Number.isInteger(left)) throw new Error(`crop: offsets must be integers`);
  const pad = opts.padColor ?? defaultPadColor('imagenet');
  const ignore = opts.ignoreIndex ?? IGNORE_INDEX;
  const { height: H, width: W } = sample;
  const image = resampleWindow(sample.image, H, W, 3, fullHeight, fullWidth, top, left, height, width, 'bilinear', pad);
  const label = sample.label
    ? resampleWindow(sample.label, H, W, 1, fullHeight, fullWidth, top, left, height, width, 'nearest', [ignore])
    : undefined;
  return {
    sample: { ...sample, image, label, height, width },
    crop: { top, left, height, width, fullHeight, fullWidth },
  };
}

/** Mirrors a sample left-right (image and label). */
export function horizontalFlip(sample: Sample): Sample {
  checkSample(sample);
  const { width: W, height: H } = sample;
  const image = new Uint8Array(sample.image.length);
  const label = sample.label ? new Uint8Array(sample.label.length) : undefined;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const i = y * W + x;
      const j = y * W + (W - 1 - x);
      image[3 * i] = sample.image[3 * j];
      image[3 * i + 1] = sample.image[3 * j + 1];
      image[3 * i + 2] = sample.image[3 * j + 2];
      if (label) label[i] = sample.label![j];
    }
  }
  return { ...sample, image, label };
}

/**
 * Maps crop pixel (`y`, `x`) to full-image pixel coordinates (of the rescaled full image), honouring `flipped`:
 * `{ y: top + y, x: flipped ? left + width − 1 − x : left + x }`. Results outside `[0, fullHeight) × [0, fullWidth)`
 * are padding.
 */
export function cropToFull(c: Crop, y: number, x: number): { y: number; x: number } {
  return { y: c.top + y, x: c.flipped ? c.left + c.width - 1 - x : c.left + x };
}

/**
 * The random augmentation pipeline, seeded by `rng`: resize → random scale → random crop → random flip
 * (see {@link TransformSpec}). Random draws, in order: one `uniform` for the scale (if `scale`), `int` for top then
 * `int` for left (if `crop`), one `uniform` for the flip (if `flip`). Scale and crop are fused: only the cropped
 * window of the rescaled image is computed.
 *
 * Returns the uint8 sample (normalise with {@link normalizeImage}) and its {@link Crop}; without `crop` the crop is the
 * whole rescaled image.
 */
export function augment(sample: Sample, rng: Rng, spec: TransformSpec = {}): { sample: Sample; crop: Crop } {
  checkSample(sample);
  let s = sample;
  if (spec.resize) s = resize(s, spec.resize[0], spec.resize[1]);
  let fullH = s.height;
  let fullW = s.width;
  if (spec.scale) {
    const [lo, hi] = spec.scale;
    if (!(lo > 0) || !(hi >= lo)) throw new Error(`transform.scale: expected 0 < min <= max, got [${lo}, ${hi}]`);
    const f = rng.uniform(lo, hi);
    fullH = Math.max(1, Math.round(s.height * f));
    fullW = Math.max(1, Math.round(s.width * f));
  }
  let out: { sample: Sample; crop: Crop };
  const padOpts = {
    padColor: spec.padColor ?? defaultPadColor(spec.normalize ?? 'imagenet'),
    ignoreIndex: spec.ignoreIndex ?? IGNORE_INDEX,
  };
  if (spec.crop) {
    const [ch, cw] = spec.crop;
    checkSize('transform.crop', ch, cw);
    const top = rng.int(0, Math.max(fullH - ch, 0) + 1);
    const left = rng.int(0, Math.max(fullW - cw, 0) + 1);
    out = scaleAndCrop(s, fullH, fullW, top, left, ch, cw, padOpts);
  } else if (fullH !== s.height || fullW !== s.width) {
    out = scaleAndCrop(s, fullH, fullW, 0, 0, fullH, fullW, padOpts);
  } else {
    out = { sample: s, crop: { top: 0, left: 0, height: fullH, width: fullW, fullHeight: fullH, fullWidth: fullW } };
  }
  if (spec.flip && rng.uniform() < 0.5) {
    out = { sample: horizontalFlip(out.sample), crop: { ...out.crop, flipped: true } };
  }
  return out;
}

/**
 * Converts an RGB uint8 HWC image to float32 HWC: `out = (x / 255 − mean[c]) / std[c]` (see {@link Normalization}).
 * Writes into `out` at `offset` when given (to fill a batch buffer without a copy).
 */
export function normalizeImage(
  image: Uint8Array,
  norm: Normalization = 'imagenet',
  out?: Float32Array,
  offset = 0,
): Float32Array {
  const { mean, std } = normMeanStd(norm);
  if (image.length % 3 !== 0) throw new Error(`normalizeImage: length ${image.length} is not a multiple of 3`);
  const dst = out ?? new Float32Array(image.length);
  if (dst.length < offset + image.length) throw new Error('normalizeImage: output buffer too small');
  const lut = new Float32Array(768);
  if (norm === 'caffe') {
    // BGR out: channel c of the output is input channel 2 − c, minus the BGR mean
    for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = v - CAFFE_BGR_MEAN[c];
    for (let i = 0; i < image.length; i += 3) {
      dst[offset + i] = lut[image[i + 2]];
      dst[offset + i + 1] = lut[256 + image[i + 1]];
      dst[offset + i + 2] = lut[512 + image[i]];
    }
    return dst;
  }
  for (let c = 0; c < 3; c++) for (let v = 0; v < 256; v++) lut[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  for (let i = 0; i < image.length; i += 3) {
    dst[offset + i] = lut[image[i]];
    dst[offset + i + 1] = lut[256 + image[i + 1]];
    dst[offset + i + 2] = lut[512 + image[i + 2]];
  }
  return dst;
}

/**
 * Per-channel mean and standard deviation (0..1 scale) over the first `count` samples of a dataset (all pixels
 * pooled), for a per-dataset {@link Normalization}.
 */
export async function estimateMeanStd(
  dataset: Dataset,
  count = Math.min(dataset.length, 100),
): Promise<{ mean: [number, number, number]; std: [number, number, number] }> {
  const n = Math.min(count, dataset.length);
  if (n <= 0) throw new Error(`estimateMeanStd: dataset ${dataset.name} is empty`);
  const sum = [0, 0, 0];
  const sq = [0, 0, 0];
  let pixels = 0;
  for (let i = 0; i < n; i++) {
    const { image } = await dataset.get(i);
    for (let p = 0; p < image.length; p += 3) {
      for (let c = 0; c < 3; c++) {
        const v = image[p + c] / 255;
        sum[c] += v;
        sq[c] += v * v;
      }
    }
    pixels += image.length / 3;
  }
  const mean = sum.map((s) => s / pixels) as [number, number, number];
  const std = sq.map((s, c) => Math.sqrt(Math.max(s / pixels - mean[c] * mean[c], 1e-12))) as [number, number, number];
  return { mean, std };
}
