import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DatasetError, decodePngChannel, encodePng, readLabelPng, readRgb, writePng } from './image-io.js';
import { tempDir } from './readers/make-fixtures.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => {
  ({ dir, cleanup } = await tempDir('image-io'));
});
afterAll(() => cleanup());

/** sharp's own decode of one channel at full depth (the independent reference for our decoder). */
async function sharpChannel(file: string, depth16: boolean, colourspace: string, channel: number): Promise<number[]> {
  const { data, info } = await sharp(file)
    .toColourspace(colourspace)
    .raw({ depth: depth16 ? 'ushort' : 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const all = depth16 ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : data;
  const out: number[] = [];
  for (let i = channel; i < all.length; i += info.channels) out.push(all[i]);
  return out;
}

/** CRC-32 (PNG chunk checksum), bit by bit. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

function noise(n: number, seed: number, max = 256): number[] {
  let s = seed;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return (s >>> 8) % max;
  });
}

describe('readLabelPng (exact PNG decoding)', () => {
  it('16-bit grey written by writePng decodes exactly, and sharp agrees', async () => {
    const values = [3, 259, 515, 65535, 256, 0]; // 259 and 515 share their low byte with 3
    const file = join(dir, 'grey16.png');
    await writePng(file, { data: Uint16Array.from(values), width: 3, height: 2 });
    const got = await readLabelPng(file);
    expect(got.data).toBeInstanceOf(Uint16Array);
    expect(Array.from(got.data)).toEqual(values);
    expect([got.width, got.height, got.bitDepth, got.colorType]).toEqual([3, 2, 16, 0]);
    expect(await sharpChannel(file, true, 'grey16', 0)).toEqual(values);
  });

  it('16-bit RGB written by sharp decodes exactly per channel (SYNTHIA style)', async () => {
    const w = 7;
    const h = 5;
    const vals = noise(w * h * 3, 3, 65536);
    const file = join(dir, 'rgb16.png');
    await sharp(Uint16Array.from(vals), { raw: { width: w, height: h, channels: 3 } })
      .toColourspace('rgb16')
      .png({ adaptiveFiltering: true })
      .toFile(file);
    for (const ch of [0, 1, 2]) {
      const got = await readLabelPng(file, { channel: ch });
      expect(Array.from(got.data)).toEqual(vals.filter((_, i) => i % 3 === ch));
    }
    await expect(readLabelPng(file, { channel: 3 })).rejects.toThrow('channel 3 does not exist');
  });

  it('all row filters and Adam7 interlacing match sharp, for 8-bit grey, RGBA and 16-bit RGB', async () => {
    const w = 13;
    const h = 9;
    const cases: [string, number, boolean, string][] = [
      ['grey8', 1, false, 'b-w'],
      ['rgba8', 4, false, 'srgb'],
      ['rgb16', 3, true, 'rgb16'],
    ];
    for (const [name, channels, deep, space] of cases) {
      // Smooth ramps + noise, so that the adaptive filter choice uses several filter types.
      const vals = noise(w * h * channels, 9, deep ? 65536 : 256).map((v, i) =>
        i % 5 === 0 ? v : (i * 7) % (deep ? 65536 : 256),
      );
      const data = deep ? Uint16Array.from(vals) : Uint8Array.from(vals);
      for (const progressive of [false, true]) {
        const file = join(dir, `${name}-${progressive}.png`);
        let s = sharp(data, { raw: { width: w, height: h, channels: channels as 1 | 3 | 4 } });
        s = s.toColourspace(deep ? 'rgb16' : channels === 1 ? 'b-w' : 'srgb');
        await s.png({ progressive, adaptiveFiltering: true, compressionLevel: 9 }).toFile(file);
        const bytes = await readFile(file);
        expect(bytes[28]).toBe(progressive ? 1 : 0); // IHDR interlace byte
        for (let ch = 0; ch < channels; ch++) {
          const got = await readLabelPng(file, { channel: ch });
          expect([name, progressive, ch, Array.from(got.data)]).toEqual([
            name,
            progressive,
            ch,
            vals.filter((_, i) => i % channels === ch),
          ]);
          expect(Array.from(decodePngChannel(bytes, file, ch).data)).toEqual(Array.from(got.data));
        }
        expect(await sharpChannel(file, deep, space, 0)).toEqual(vals.filter((_, i) => i % channels === 0));
      }
    }
  });

  it('every row filter type (None, Sub, Up, Average, Paeth) decodes exactly; sharp agrees', async () => {
    // sharp's encoder only picks filters 0-2, so this test filters rows itself (forward filters written from the
    // PNG spec), cycling through the five types, and wraps the result in a PNG with encodePng's chunks.
    const w = 9;
    const h = 10;
    for (const [channels, deep, ramp] of [
      [3, false, 0],
      [3, false, 1],
      [3, false, 2],
      [2, true, 0],
    ] as const) {
      // Ramps exercise Paeth's tie-breaking: with a = left, b = up, c = up-left, v = 17·(x − y) gives
      // |p − a| = |p − b| (a ≠ b) and v = 7·(y − 2x) gives |p − b| = |p − c| (b ≠ c).
      const vals = ramp
        ? Array.from({ length: w * h * channels }, (_, i) => {
            const px = Math.floor(i / channels);
            const [x, y] = [px % w, Math.floor(px / w)];
            return ((ramp === 1 ? 17 * (x - y) : 7 * (y - 2 * x)) + 40 * (i % channels)) & 255;
          })
        : noise(w * h * channels, 21, deep ? 65536 : 256);
      const bps = deep ? 2 : 1;
      const rowBytes = w * channels * bps;
      const bpp = channels * bps;
      const bytes = new Uint8Array(h * rowBytes);
      vals.forEach((v, i) => {
        if (deep) {
          bytes[2 * i] = v >> 8;
          bytes[2 * i + 1] = v & 255;
        } else bytes[i] = v;
      });
      const filtered = Buffer.alloc(h * (rowBytes + 1));
      for (let y = 0; y < h; y++) {
        const f = y % 5;
        filtered[y * (rowBytes + 1)] = f;
        for (let x = 0; x < rowBytes; x++) {
          const cur = bytes[y * rowBytes + x];
          const a = x >= bpp ? bytes[y * rowBytes + x - bpp] : 0;
          const b = y > 0 ? bytes[(y - 1) * rowBytes + x] : 0;
          const c = x >= bpp && y > 0 ? bytes[(y - 1) * rowBytes + x - bpp] : 0;
          const p = a + b - c;
          const paeth =
            Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
              ? a
              : Math.abs(p - b) <= Math.abs(p - c)
                ? b
                : c;
          const pred = [0, a, b, Math.floor((a + b) / 2), paeth][f];
          filtered[y * (rowBytes + 1) + 1 + x] = (cur - pred) & 255;
        }
      }
      // Take IHDR from encodePng's output of the same image and swap in our IDAT.
      const reference = encodePng({
        data: deep ? Uint16Array.from(vals) : Uint8Array.from(vals),
        width: w,
        height: h,
        channels,
      });
      const ihdrEnd = 8 + 25;
      const idatBody = deflateSync(filtered);
      const idat = Buffer.alloc(12 + idatBody.length);
      idat.writeUInt32BE(idatBody.length, 0);
      idat.write('IDAT', 4, 'latin1');
      idatBody.copy(idat, 8);
      idat.writeUInt32BE(crc32(idat.subarray(4, 8 + idatBody.length)), 8 + idatBody.length);
      const png = Buffer.concat([reference.subarray(0, ihdrEnd), idat, reference.subarray(reference.length - 12)]);
      const file = join(dir, `filters-${channels}-${deep}-${ramp}.png`);
      await writeFile(file, png);
      for (let ch = 0; ch < channels; ch++) {
        const want = vals.filter((_, i) => i % channels === ch);
        expect(Array.from((await readLabelPng(file, { channel: ch })).data)).toEqual(want);
      }
      expect(await sharpChannel(file, deep, deep ? 'grey16' : 'srgb', 0)).toEqual(
        vals.filter((_, i) => i % channels === 0),
      );
    }
  });

  it('palette PNGs give indices; the PLTE colours are what sharp decodes (8-bit and 2-bit)', async () => {
    const palette: [number, number, number][] = [
      [10, 20, 30],
      [200, 0, 0],
      [0, 200, 0],
      [0, 0, 200],
      [5, 5, 5],
    ];
    const idx = noise(6 * 4, 5, 5);
    const file = join(dir, 'pal.png');
    await writePng(file, { data: Uint8Array.from(idx), width: 6, height: 4, palette });
    const got = await readLabelPng(file);
    expect(Array.from(got.data)).toEqual(idx);
    expect(got.colorType).toBe(3);
    const { data } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
    expect(Array.from(data)).toEqual(idx.flatMap((i) => palette[i]));
    // sharp writes a 2-bit palette PNG for 4 colours: indices → PLTE colours must reproduce the image.
    const rgb = Uint8Array.from(noise(11 * 3, 8, 4).flatMap((i) => palette[i]));
    const file2 = join(dir, 'pal2.png');
    await sharp(rgb, { raw: { width: 11, height: 3, channels: 3 } })
      .png({ palette: true, colours: 4, dither: 0 })
      .toFile(file2);
    const low = await readLabelPng(file2);
    expect(low.bitDepth).toBe(2);
    const pal = low.palette as Uint8Array;
    expect(Array.from(low.data).flatMap((i) => [pal[3 * i], pal[3 * i + 1], pal[3 * i + 2]])).toEqual(Array.from(rgb));
  });

  it('bad files: one DatasetError naming the file', async () => {
    const good = encodePng({ data: Uint8Array.from(noise(64 * 64, 1)), width: 64, height: 64 });
    const cases: [string, Buffer | string, RegExp][] = [
      ['text.png', 'hello, not a png', /not a PNG file/],
      ['empty.png', Buffer.alloc(0), /empty file/],
      ['cut-header.png', good.subarray(0, 20), /truncated PNG/],
      ['cut-data.png', good.subarray(0, Math.floor(good.length / 2)), /truncated PNG/],
      ['no-iend.png', good.subarray(0, good.length - 12), /no IEND/],
    ];
    const flipped = Buffer.from(good);
    flipped[60] ^= 0xff; // inside IDAT
    cases.push(['crc.png', flipped, /CRC mismatch in IDAT/]);
    for (const [name, bytes, re] of cases) {
      const file = join(dir, name);
      await writeFile(file, bytes);
      const err = await readLabelPng(file).catch((e) => e);
      expect(err).toBeInstanceOf(DatasetError);
      expect([name, err.file, err.message]).toEqual([name, file, expect.stringMatching(re)]);
      expect(err.message.startsWith(file)).toBe(true);
    }
    const missing = join(dir, 'nope.png');
    await expect(readLabelPng(missing)).rejects.toThrow(`${missing}: file not found`);
  });
});

describe('readRgb', () => {
  it('RGB, grey, RGBA and 16-bit PNGs become 8-bit RGB HWC', async () => {
    const rgb = Uint8Array.from(noise(4 * 3 * 3, 2));
    const f1 = join(dir, 'rgb.png');
    await sharp(rgb, { raw: { width: 4, height: 3, channels: 3 } })
      .png()
      .toFile(f1);
    const a = await readRgb(f1);
    expect([a.width, a.height]).toEqual([4, 3]);
    expect(Array.from(a.data)).toEqual(Array.from(rgb));

    const grey = Uint8Array.from([0, 50, 100, 255]);
    const f2 = join(dir, 'grey.png');
    await writePng(f2, { data: grey, width: 2, height: 2 });
    expect(Array.from((await readRgb(f2)).data)).toEqual([0, 0, 0, 50, 50, 50, 100, 100, 100, 255, 255, 255]);

    const f3 = join(dir, 'rgba.png');
    await writePng(f3, { data: Uint8Array.from([1, 2, 3, 0, 4, 5, 6, 255]), width: 2, height: 1, channels: 4 });
    expect(Array.from((await readRgb(f3)).data)).toEqual([1, 2, 3, 4, 5, 6]);

    // 16-bit: v → round(v / 257); 257·k is exactly k.
    const f4 = join(dir, 'rgb16-image.png');
    await writePng(f4, {
      data: Uint16Array.from([0, 257 * 100, 65535, 257 * 7, 257 * 200, 257]),
      width: 2,
      height: 1,
      channels: 3,
    });
    expect(Array.from((await readRgb(f4)).data)).toEqual([0, 100, 255, 7, 200, 1]);
  });

  it('bad files: one DatasetError naming the file', async () => {
    const rgb = Uint8Array.from(noise(32 * 32 * 3, 4));
    const png = await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } })
      .png()
      .toBuffer();
    const jpg = await sharp(rgb, { raw: { width: 32, height: 32, channels: 3 } })
      .jpeg()
      .toBuffer();
    const cases: [string, Buffer | string, RegExp][] = [
      ['text.png', 'not an image', /cannot decode image \(not an image file sharp can decode\)/],
      ['cut.png', png.subarray(0, png.length - 30), /truncated PNG/],
      ['cut.jpg', jpg.subarray(0, Math.floor(jpg.length / 2)), /cannot decode image/],
    ];
    for (const [name, bytes, re] of cases) {
      const file = join(dir, `img-${name}`);
      await writeFile(file, bytes);
      const err = await readRgb(file).catch((e) => e);
      expect(err).toBeInstanceOf(DatasetError);
      expect([name, err.file, err.message]).toEqual([name, file, expect.stringMatching(re)]);
    }
    await expect(readRgb(join(dir, 'missing.jpg'))).rejects.toThrow('missing.jpg: file not found');
    await expect(readRgb(dir)).rejects.toThrow('is a directory');
  });
});

describe('encodePng', () => {
  it('rejects inconsistent input', () => {
    expect(() => encodePng({ data: new Uint8Array(5), width: 2, height: 2 })).toThrow('5 values for 2x2x1');
    expect(() => encodePng({ data: Uint8Array.of(3), width: 1, height: 1, palette: [[0, 0, 0]] })).toThrow(
      'index 3 at 0 is outside the 1-colour palette',
    );
  });
});
