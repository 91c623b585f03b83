/**
 * Image and label-map file I/O.
 *
 * - RGB images are decoded with sharp (libvips): any format sharp reads, alpha dropped, grey expanded to RGB,
 *   16-bit scaled to 8-bit.
 * - Label PNGs are decoded by a small exact PNG decoder here (zlib inflate + PNG row filters), because label values
 *   are ids, not colours: sharp/libvips expands palette PNGs (GTA5 labels) to their colours and converts
 *   16-bit images (SYNTHIA labels) to 8-bit sRGB unless told otherwise, and may apply an embedded colour profile.
 *   The decoder returns the stored sample values of one channel exactly (palette indices for palette PNGs),
 *   for every PNG colour type, bit depths 1–16, interlaced or not.
 * - Every failure (missing, empty, truncated, not a PNG, corrupt) is a {@link DatasetError} naming the file.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { deflateSync, inflate, inflateSync } from 'node:zlib';
import sharp from 'sharp';

// Made on first use, not at import: the browser build's stand-in for node:util throws when called.
const inflateAsync = (buf: Buffer, options: { maxOutputLength: number }): Promise<Buffer> =>
  (promisify(inflate) as (b: Buffer, o: { maxOutputLength: number }) => Promise<Buffer>)(buf, options);

/** Largest image (pixels) the PNG decoder accepts: 2^28, e.g. 16384 × 16384; datasets' images are far smaller. */
export const MAX_PIXELS = 2 ** 28;

/** An error about one file of a dataset: `file` names it, `reason` says what is wrong with it. */
export class DatasetError extends Error {
  readonly file: string;
  readonly reason: string;
  constructor(file: string, reason: string, options?: { cause?: unknown }) {
    super(`${file}: ${reason}`, options);
    this.name = 'DatasetError';
    this.file = file;
    this.reason = reason;
  }
}

/** A decoded RGB image: `data` is uint8, row-major HWC, length height·width·3. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** One channel of a decoded label PNG, values exactly as stored. */
export interface LabelImage {
  /** Uint16Array for 16-bit PNGs, Uint8Array otherwise; length height·width. */
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  bitDepth: number;
  /** PNG colour type: 0 grey, 2 RGB, 3 palette, 4 grey+alpha, 6 RGBA. */
  colorType: number;
  /** Channels stored in the file (1 for grey and palette). */
  channels: number;
  /** For palette PNGs: the PLTE colours as RGB triplets (index i at 3i..3i+2). */
  palette?: Uint8Array;
}

async function readBytes(file: string): Promise<Buffer> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new DatasetError(file, 'file not found', { cause: e });
    if (code === 'EISDIR') throw new DatasetError(file, 'is a directory, not an image file', { cause: e });
    throw new DatasetError(file, `cannot read file (${(e as Error).message})`, { cause: e });
  }
  if (buf.length === 0) throw new DatasetError(file, 'empty file');
  return buf;
}

// ---------------------------------------------------------------------------------------------------------------
// PNG container

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };
const DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

let crcTable: Uint32Array | null = null;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (crcTable === null) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** True when `bytes` starts with the 8-byte PNG signature. */
export function isPng(bytes: Uint8Array): boolean {
  if (bytes.length < 8) return false;
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) return false;
  return true;
}

interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
  channels: number;
}

interface PngParts {
  header: PngHeader;
  idat: Buffer;
  palette?: Uint8Array;
}

/** Walks the chunks: checks signature, lengths, CRCs, IHDR and the final IEND; collects IDAT. */
function parsePng(buf: Buffer, file: string): PngParts {
  if (!isPng(buf)) throw new DatasetError(file, 'not a PNG file (no PNG signature)');
  let pos = 8;
  let header: PngHeader | null = null;
  const idat: Buffer[] = [];
  let palette: Uint8Array | undefined;
  let ended = false;
  while (pos < buf.length) {
    if (pos + 8 > buf.length) throw new DatasetError(file, `truncated PNG (chunk header cut off at byte ${pos})`);
    const len = buf.readUInt32BE(pos);
    const type = buf.toString('latin1', pos + 4, pos + 8);
    const dataStart = pos + 8;
    const dataEnd = dataStart + len;
    if (dataEnd + 4 > buf.length) {
      throw new DatasetError(file, `truncated PNG (${type} chunk of ${len} bytes at byte ${pos} is cut off)`);
    }
    if (crc32(buf, pos + 4, dataEnd) !== buf.readUInt32BE(dataEnd)) {
      throw new DatasetError(file, `corrupt PNG (CRC mismatch in ${type} chunk at byte ${pos})`);
    }
    if (header === null && type !== 'IHDR') throw new DatasetError(file, 'corrupt PNG (first chunk is not IHDR)');
    if (type === 'IHDR') {
      if (len !== 13) throw new DatasetError(file, 'corrupt PNG (IHDR length)');
      const width = buf.readUInt32BE(dataStart);
      const height = buf.readUInt32BE(dataStart + 4);
      const bitDepth = buf[dataStart + 8];
      const colorType = buf[dataStart + 9];
      const interlace = buf[dataStart + 12];
      if (width === 0 || height === 0) throw new DatasetError(file, `corrupt PNG (size ${width}x${height})`);
      if (width * height > MAX_PIXELS)
        throw new DatasetError(
          file,
          `PNG of ${width}x${height} pixels is larger than the ${MAX_PIXELS} pixels road reads`,
        );
      if (!(colorType in DEPTHS) || !DEPTHS[colorType].includes(bitDepth)) {
        throw new DatasetError(file, `corrupt PNG (colour type ${colorType} with bit depth ${bitDepth})`);
      }
      if (interlace > 1) throw new DatasetError(file, `corrupt PNG (interlace method ${interlace})`);
      header = { width, height, bitDepth, colorType, interlace, channels: CHANNELS[colorType] };
    } else if (type === 'PLTE') {
      palette = Uint8Array.from(buf.subarray(dataStart, dataEnd));
    } else if (type === 'IDAT') {
      idat.push(buf.subarray(dataStart, dataEnd));
    } else if (type === 'IEND') {
      ended = true;
      break;
    }
    pos = dataEnd + 4;
  }
  if (!ended || header === null) throw new DatasetError(file, 'truncated PNG (no IEND chunk)');
  if (idat.length === 0) throw new DatasetError(file, 'corrupt PNG (no image data)');
  if (header.colorType === 3 && !palette) throw new DatasetError(file, 'corrupt PNG (palette image without PLTE)');
  return { header, idat: idat.length === 1 ? idat[0] : Buffer.concat(idat), palette };
}

// ---------------------------------------------------------------------------------------------------------------
// PNG pixel data

/** Undoes the PNG row filters of `rows` scanlines starting at `start`, in place. Returns the end offset. */
function unfilter(raw: Uint8Array, start: number, rows: number, rowBytes: number, bpp: number, file: string): number {
  let pos = start;
  let prev = -1;
  for (let y = 0; y < rows; y++) {
    const f = raw[pos];
    const s = pos + 1;
    switch (f) {
      case 0:
        break;
      case 1:
        for (let x = bpp; x < rowBytes; x++) raw[s + x] += raw[s + x - bpp];
        break;
      case 2:
        if (prev >= 0) for (let x = 0; x < rowBytes; x++) raw[s + x] += raw[prev + x];
        break;
      case 3:
        for (let x = 0; x < rowBytes; x++) {
          const left = x >= bpp ? raw[s + x - bpp] : 0;
          const up = prev >= 0 ? raw[prev + x] : 0;
          raw[s + x] += (left + up) >> 1;
        }
        break;
      case 4:
        for (let x = 0; x < rowBytes; x++) {
          const a = x >= bpp ? raw[s + x - bpp] : 0;
          const b = prev >= 0 ? raw[prev + x] : 0;
          const c = x >= bpp && prev >= 0 ? raw[prev + x - bpp] : 0;
          const p = a + b - c;
          const pa = Math.abs(p - a);
          const pb = Math.abs(p - b);
          const pc = Math.abs(p - c);
          raw[s + x] += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
        }
        break;
      default:
        throw new DatasetError(file, `corrupt PNG (row filter type ${f} in row ${y})`);
    }
    prev = s;
    pos = s + rowBytes;
  }
  return pos;
}

/** Copies channel `ch` of `cols`×`rows` unfiltered pixels into `out` at (x0 + i·dx, y0 + j·dy). */
function extractChannel(
  raw: Uint8Array,
  start: number,
  cols: number,
  rows: number,
  rowBytes: number,
  h: PngHeader,
  ch: number,
  out: Uint8Array | Uint16Array,
  x0: number,
  y0: number,
  dx: number,
  dy: number,
): void {
  const { width, bitDepth, channels } = h;
  for (let j = 0; j < rows; j++) {
    const s = start + j * (rowBytes + 1) + 1;
    const o = (y0 + j * dy) * width + x0;
    if (bitDepth === 8) {
      if (dx === 1 && channels === 1) {
        out.set(raw.subarray(s, s + cols), o);
      } else {
        for (let i = 0, k = s + ch; i < cols; i++, k += channels) out[o + i * dx] = raw[k];
      }
    } else if (bitDepth === 16) {
      for (let i = 0, k = s + 2 * ch; i < cols; i++, k += 2 * channels) out[o + i * dx] = (raw[k] << 8) | raw[k + 1];
    } else {
      const mask = (1 << bitDepth) - 1;
      for (let i = 0; i < cols; i++) {
        const bit = i * bitDepth;
        out[o + i * dx] = (raw[s + (bit >> 3)] >> (8 - bitDepth - (bit & 7))) & mask;
      }
    }
  }
}

const ADAM7: readonly (readonly [number, number, number, number])[] = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
];

/** Bytes of filtered scanlines the header calls for (all Adam7 passes when interlaced). */
function rawSize(h: PngHeader): number {
  const bitsPerPixel = h.bitDepth * h.channels;
  const passes = h.interlace === 1 ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let total = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const cols = Math.ceil((h.width - x0) / dx);
    const rows = Math.ceil((h.height - y0) / dy);
    if (cols > 0 && rows > 0) total += rows * (Math.ceil((cols * bitsPerPixel) / 8) + 1);
  }
  return total;
}

/**
 * The error for a failed IDAT inflate. Inflating is capped at the bytes the header's image needs, so a small file
 * that would inflate to gigabytes is refused early instead of being decoded into memory.
 */
function inflateError(e: unknown, h: PngHeader, limit: number, file: string): DatasetError {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError)
    return new DatasetError(
      file,
      `corrupt PNG (image data inflates to more than the ${limit} bytes a ${h.width}x${h.height} image needs)`,
      { cause: e },
    );
  return new DatasetError(file, `corrupt or truncated PNG data (${(e as Error).message})`, { cause: e });
}

function decodePixels(raw: Uint8Array, h: PngHeader, ch: number, file: string): Uint8Array | Uint16Array {
  const { width, height, bitDepth, channels } = h;
  if (raw.length < rawSize(h))
    throw new DatasetError(file, `corrupt PNG (image data too short for ${width}x${height})`);
  const out = bitDepth === 16 ? new Uint16Array(width * height) : new Uint8Array(width * height);
  const bitsPerPixel = bitDepth * channels;
  const bpp = Math.max(1, bitsPerPixel >> 3);
  const passes = h.interlace === 1 ? ADAM7 : ([[0, 0, 1, 1]] as const);
  let pos = 0;
  for (const [x0, y0, dx, dy] of passes) {
    const cols = Math.ceil((width - x0) / dx);
    const rows = Math.ceil((height - y0) / dy);
    if (cols <= 0 || rows <= 0) continue;
    const rowBytes = Math.ceil((cols * bitsPerPixel) / 8);
    if (pos + rows * (rowBytes + 1) > raw.length) {
      throw new DatasetError(file, `corrupt PNG (image data too short for ${width}x${height})`);
    }
    const end = unfilter(raw, pos, rows, rowBytes, bpp, file);
    extractChannel(raw, pos, cols, rows, rowBytes, h, ch, out, x0, y0, dx, dy);
    pos = end;
  }
  return out;
}

/**
 * Decodes one channel of a PNG held in memory, values exactly as stored (palette indices for palette PNGs).
 * Synchronous; {@link readLabelPng} is the async file version.
 */
export function decodePngChannel(buf: Buffer, file: string, channel = 0): LabelImage {
  const { header, idat, palette } = parsePng(buf, file);
  checkChannel(header, channel, file);
  const limit = rawSize(header);
  let raw: Buffer;
  try {
    raw = inflateSync(idat, { maxOutputLength: limit });
  } catch (e) {
    throw inflateError(e, header, limit, file);
  }
  return labelImage(header, decodePixels(raw, header, channel, file), palette);
}

function checkChannel(h: PngHeader, channel: number, file: string): void {
  if (!Number.isInteger(channel) || channel < 0 || channel >= h.channels) {
    throw new DatasetError(file, `label has ${h.channels} channel(s); channel ${channel} does not exist`);
  }
}

function labelImage(h: PngHeader, data: Uint8Array | Uint16Array, palette?: Uint8Array): LabelImage {
  return {
    ...(h.colorType === 3 ? { palette } : {}),
    data,
    width: h.width,
    height: h.height,
    bitDepth: h.bitDepth,
    colorType: h.colorType,
    channels: h.channels,
  };
}

/**
 * Reads one channel of a label PNG with exact values: 16-bit PNGs give a Uint16Array (values up to 65535),
 * palette PNGs give their palette indices, 1/2/4-bit grey their raw sample values.
 * Errors (missing, truncated, not a PNG, corrupt, channel out of range) are {@link DatasetError}s naming the file.
 */
export async function readLabelPng(file: string, options: { channel?: number } = {}): Promise<LabelImage> {
  const channel = options.channel ?? 0;
  const buf = await readBytes(file);
  const { header, idat, palette } = parsePng(buf, file);
  checkChannel(header, channel, file);
  const limit = rawSize(header);
  let raw: Buffer;
  try {
    raw = await inflateAsync(idat, { maxOutputLength: limit });
  } catch (e) {
    throw inflateError(e, header, limit, file);
  }
  return labelImage(header, decodePixels(raw, header, channel, file), palette);
}

/**
 * Reads an image as 8-bit RGB (HWC) with sharp: alpha dropped, grey and palette expanded to RGB, 16-bit scaled
 * to 8-bit. PNGs are checked for completeness first (sharp may otherwise return partly decoded data).
 */
export async function readRgb(file: string): Promise<RgbImage> {
  const buf = await readBytes(file);
  if (isPng(buf)) parsePng(buf, file);
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await sharp(buf).removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    const msg = (e as Error).message;
    const reason = /unsupported image format/i.test(msg) ? 'not an image file sharp can decode' : msg;
    throw new DatasetError(file, `cannot decode image (${reason})`, { cause: e });
  }
  const { data, info } = out;
  if (info.channels !== 3) throw new DatasetError(file, `decoded to ${info.channels} channels, expected 3`);
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.length), width: info.width, height: info.height };
}

// ---------------------------------------------------------------------------------------------------------------
// Writing

/** Pixels to write: Uint8Array → 8-bit PNG, Uint16Array → 16-bit PNG. */
export interface PngImage {
  data: Uint8Array | Uint16Array;
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. Default 1 (or 3 when data.length = 3·width·height). */
  channels?: number;
  /**
   * Write a palette PNG: `data` (8-bit, 1 channel) holds the indices, `palette` their RGB colours
   * (e.g. `CITYSCAPES_PALETTE` for coloured train-id maps, or GTA5-style id maps).
   */
  palette?: readonly (readonly [number, number, number])[];
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'latin1');
  out.set(data, 8);
  out.writeUInt32BE(crc32(out, 4, 8 + data.length), 8 + data.length);
  return out;
}

/**
 * Encodes pixels as a PNG (no row filters, zlib level 6): exact for labels of any depth, including 16-bit
 * values and palette indices.
 */
export function encodePng(image: PngImage): Buffer {
  const { data, width, height, palette } = image;
  const channels = image.channels ?? (data.length === width * height * 3 ? 3 : 1);
  const bitDepth = data instanceof Uint16Array ? 16 : 8;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`encodePng: bad size ${width}x${height}`);
  }
  if (!(channels >= 1 && channels <= 4)) throw new RangeError(`encodePng: channels must be 1..4, got ${channels}`);
  if (data.length !== width * height * channels) {
    throw new RangeError(`encodePng: ${data.length} values for ${width}x${height}x${channels}`);
  }
  let colorType = { 1: 0, 2: 4, 3: 2, 4: 6 }[channels] as number;
  if (palette) {
    if (channels !== 1 || bitDepth !== 8) throw new RangeError('encodePng: a palette PNG needs 1-channel 8-bit data');
    if (palette.length < 1 || palette.length > 256) throw new RangeError('encodePng: palette must have 1..256 colours');
    for (let i = 0; i < data.length; i++) {
      if (data[i] >= palette.length) {
        throw new RangeError(`encodePng: index ${data[i]} at ${i} is outside the ${palette.length}-colour palette`);
      }
    }
    colorType = 3;
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = bitDepth;
  ihdr[9] = colorType;
  const rowValues = width * channels;
  const rowBytes = rowValues * (bitDepth / 8);
  const raw = Buffer.alloc(height * (rowBytes + 1));
  for (let y = 0; y < height; y++) {
    const o = y * (rowBytes + 1) + 1;
    if (bitDepth === 8) {
      raw.set((data as Uint8Array).subarray(y * rowValues, (y + 1) * rowValues), o);
    } else {
      for (let i = 0; i < rowValues; i++) raw.writeUInt16BE(data[y * rowValues + i], o + 2 * i);
    }
  }
  const parts = [Buffer.from(SIGNATURE), chunk('IHDR', ihdr)];
  if (palette) parts.push(chunk('PLTE', Uint8Array.from(palette.flatMap((c) => [c[0], c[1], c[2]]))));
  parts.push(chunk('IDAT', deflateSync(raw)), chunk('IEND', new Uint8Array(0)));
  return Buffer.concat(parts);
}

/** Writes {@link encodePng}'s output to `file`. */
export async function writePng(file: string, image: PngImage): Promise<void> {
  await writeFile(file, encodePng(image));
}
