// MNIST digits for the page (a fixed subset written at build time, data/mnist.bin) and MNIST-M made from them in the
// page: @road/datasets' mnistMBlend over a random patch of a background (procedural textures, or the user's photos).
import { type BackgroundImage, mnistMBlend, Rng } from '@road/datasets';

export const SIZE = 28;
export const PIXELS = SIZE * SIZE * 3;

/** Grey MNIST digits (uint8, 784 per digit) and their labels. */
export interface DigitPool {
  pixels: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** RGB images (N × 28 × 28 × 3, uint8) and labels. */
export interface ImageSet {
  images: Uint8Array;
  labels: Uint8Array;
  n: number;
}

/** Layout of data/mnist.bin (see scripts/build.mjs): `train` labels, `train` digits, `test` labels, `test` digits. */
export interface MnistHeader {
  train: number;
  test: number;
}

/** Fetches data/mnist.json + data/mnist.bin; one clear error naming the file on failure. */
export async function fetchMnist(base: string): Promise<{ train: DigitPool; test: DigitPool }> {
  const headerUrl = new URL('data/mnist.json', base);
  const binUrl = new URL('data/mnist.bin', base);
  const hr = await fetch(headerUrl);
  if (!hr.ok) throw new Error(`cannot load ${headerUrl}: HTTP ${hr.status}`);
  const header = (await hr.json()) as MnistHeader;
  const br = await fetch(binUrl);
  if (!br.ok) throw new Error(`cannot load ${binUrl}: HTTP ${br.status}`);
  const bytes = new Uint8Array(await br.arrayBuffer());
  const expected = (header.train + header.test) * 785;
  if (bytes.length !== expected) throw new Error(`${binUrl} has ${bytes.length} bytes, expected ${expected}`);
  const split = (offset: number, n: number): DigitPool => ({
    labels: bytes.subarray(offset, offset + n),
    pixels: bytes.subarray(offset + n, offset + n * 785),
    n,
  });
  return { train: split(0, header.train), test: split(header.train * 785, header.test) };
}

/** Digit `i` of `pool` as grey-on-black RGB (MNIST). */
export function mnistImage(pool: DigitPool, i: number): Uint8Array {
  const out = new Uint8Array(PIXELS);
  for (let p = 0; p < 784; p++) out[3 * p] = out[3 * p + 1] = out[3 * p + 2] = pool.pixels[i * 784 + p];
  return out;
}

/** A random 28×28 RGB patch of a random background. */
function randomPatch(rng: Rng, backgrounds: readonly BackgroundImage[]): Uint8Array {
  const bg = backgrounds[rng.int(0, backgrounds.length)];
  const x0 = rng.int(0, bg.width - SIZE + 1);
  const y0 = rng.int(0, bg.height - SIZE + 1);
  const out = new Uint8Array(PIXELS);
  for (let y = 0; y < SIZE; y++) {
    const from = ((y0 + y) * bg.width + x0) * 3;
    out.set(bg.data.subarray(from, from + SIZE * 3), y * SIZE * 3);
  }
  return out;
}

/** Digit `i` of `pool` as MNIST-M: blended over a random background patch drawn from `rng`. */
export function mnistMImage(pool: DigitPool, i: number, backgrounds: readonly BackgroundImage[], rng: Rng): Uint8Array {
  return mnistMBlend(pool.pixels.subarray(i * 784, (i + 1) * 784), randomPatch(rng, backgrounds));
}

/** The first `n` digits of `pool` as MNIST-M, with a fixed seed (the target test set). */
export function mnistMSet(pool: DigitPool, n: number, backgrounds: readonly BackgroundImage[], seed: string): ImageSet {
  const rng = new Rng(seed);
  const count = Math.min(n, pool.n);
  const images = new Uint8Array(count * PIXELS);
  for (let i = 0; i < count; i++) images.set(mnistMImage(pool, i, backgrounds, rng), i * PIXELS);
  return { images, labels: pool.labels.slice(0, count), n: count };
}

/** Decodes an image file into an RGB background (scaled so its longer side is at most `maxSide`). */
export async function decodeBackground(file: File, maxSide = 256): Promise<BackgroundImage> {
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch (e) {
    throw new Error(`${file.name} is not an image this browser can decode (${(e as Error).message})`);
  }
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  if (width < SIZE || height < SIZE) throw new Error(`${file.name} is ${width}×${height}: at least 28×28 needed`);
  const canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d');
  if (!ctx) throw new Error('no 2D canvas context');
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const data = new Uint8Array(width * height * 3);
  for (let p = 0, q = 0; p < rgba.length; p += 4, q += 3) {
    data[q] = rgba[p];
    data[q + 1] = rgba[p + 1];
    data[q + 2] = rgba[p + 2];
  }
  return { data, width, height, name: file.name };
}
