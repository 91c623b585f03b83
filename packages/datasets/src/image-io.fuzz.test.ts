import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DatasetError, decodePngChannel, encodePng, readLabelPng, readRgb } from './image-io.js';
import { Rng } from './rng.js';

// Seeded fuzzing of the image readers: every mutated file either decodes to an image consistent with its header
// or fails with one DatasetError naming the file. Never another exception, a hang, or a huge allocation.
// ROAD_FUZZ_CASES=N scales the case counts (default: a few thousand, seconds).
const SCALE = Number(process.env.ROAD_FUZZ_CASES ?? 1);
const dir = mkdtempSync(join(tmpdir(), 'road-fuzz-'));
// ~64 KB of zlib that inflates to 64 MB of zeros (made once)
const bomb = deflateSync(Buffer.alloc(64 << 20));
// random payloads for replaced IDAT chunks (made once)
const payloads = [0, 1, 10, 1000, 1 << 20].map((n) => {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i += 97) b[i] = (i * 131) & 255;
  return { raw: b, deflated: deflateSync(b) };
});

const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc(buf: Buffer, start: number, end: number): number {
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
/** Chunks of a PNG: [offset, length, type]. */
function chunks(png: Buffer): { at: number; len: number; type: string }[] {
  const out = [];
  let pos = 8;
  while (pos + 8 <= png.length) {
    const len = png.readUInt32BE(pos);
    out.push({ at: pos, len, type: png.toString('latin1', pos + 4, pos + 8) });
    pos += 12 + len;
  }
  return out;
}
function chunk(type: string, data: Buffer): Buffer {
  const b = Buffer.alloc(12 + data.length);
  b.writeUInt32BE(data.length, 0);
  b.write(type, 4, 'latin1');
  data.copy(b, 8);
  b.writeUInt32BE(crc(b, 4, 8 + data.length), 8 + data.length);
  return b;
}
function fixCrcs(png: Buffer): Buffer {
  for (const c of chunks(png))
    if (c.at + 12 + c.len <= png.length) png.writeUInt32BE(crc(png, c.at + 4, c.at + 8 + c.len), c.at + 8 + c.len);
  return png;
}

function seeds(): Buffer[] {
  const rng = new Rng(3);
  const px = (n: number, max: number) => Array.from({ length: n }, () => Math.floor(rng.uniform() * max));
  return [
    encodePng({ data: Uint8Array.from(px(12 * 9, 256)), width: 12, height: 9, channels: 1 }),
    encodePng({ data: Uint16Array.from(px(7 * 5, 65536)), width: 7, height: 5, channels: 1 }),
    encodePng({ data: Uint8Array.from(px(6 * 4 * 3, 256)), width: 6, height: 4, channels: 3 }),
    encodePng({ data: Uint8Array.from(px(5 * 5 * 4, 256)), width: 5, height: 5, channels: 4 }),
  ];
}

/** One mutation of a valid PNG, by kind. */
function mutate(png: Buffer, rng: Rng): Buffer {
  const b = Buffer.from(png);
  const kind = Math.floor(rng.uniform() * 7);
  const at = (n: number) => Math.floor(rng.uniform() * n);
  switch (kind) {
    case 0: // flip bits anywhere (CRCs left as they are)
      for (let k = 0, n = 1 + at(4); k < n; k++) b[at(b.length)] ^= 1 << at(8);
      return b;
    case 1: // flip bits anywhere, CRCs made right again (reaches the decoder)
      for (let k = 0, n = 1 + at(4); k < n; k++) b[8 + at(b.length - 8)] ^= 1 << at(8);
      return fixCrcs(b);
    case 2: // truncate
      return b.subarray(0, at(b.length));
    case 3: {
      // IHDR fields: sizes from 0 to 2^32−1, any depth/colour/interlace
      const sizes = [0, 1, 2, 65535, 1 << 20, 0x7fffffff, 0xffffffff, at(64)];
      b.writeUInt32BE(sizes[at(sizes.length)], 16);
      b.writeUInt32BE(sizes[at(sizes.length)], 20);
      if (rng.uniform() < 0.5) b[24] = [1, 2, 4, 8, 16, at(256)][at(6)];
      if (rng.uniform() < 0.5) b[25] = [0, 2, 3, 4, 6, at(256)][at(6)];
      if (rng.uniform() < 0.3) b[28] = at(3);
      return fixCrcs(b);
    }
    case 4: {
      // IDAT replaced: random bytes, or zlib of random data of a random (sometimes large) size
      const idat = chunks(b).find((c) => c.type === 'IDAT');
      if (!idat) return b;
      const p = payloads[at(payloads.length)];
      const body = rng.uniform() < 0.5 ? p.deflated : p.raw.subarray(0, at(p.raw.length + 1));
      return Buffer.concat([b.subarray(0, idat.at), chunk('IDAT', body), b.subarray(idat.at + 12 + idat.len)]);
    }
    case 5: {
      // a chunk length field set to something else
      const cs = chunks(b);
      const c = cs[at(cs.length)];
      b.writeUInt32BE([0, 1, 0x7fffffff, 0xffffffff, at(1000)][at(5)], c.at);
      return b;
    }
    default: {
      // a zip bomb: a 4×4 header with ~64 MB of zeros behind it
      const idat = chunks(b).find((c) => c.type === 'IDAT');
      if (!idat) return b;
      b.writeUInt32BE(4, 16);
      b.writeUInt32BE(4, 20);
      const head = fixCrcs(Buffer.from(b.subarray(0, idat.at)));
      return Buffer.concat([head, chunk('IDAT', bomb), b.subarray(idat.at + 12 + idat.len)]);
    }
  }
}

function expectSane(result: unknown, error: unknown, file: string): 'ok' | 'error' {
  if (error) {
    // one clear error naming the file, never anything else
    expect(error, String((error as Error)?.stack)).toBeInstanceOf(DatasetError);
    expect((error as Error).message.startsWith(`${file}: `)).toBe(true);
    return 'error';
  }
  const img = result as { data: ArrayLike<number>; width: number; height: number };
  expect(img.data.length).toBe(
    img.width * img.height * ((img as { channels?: number }).channels === undefined ? 3 : 1),
  );
  return 'ok';
}

describe('image readers under seeded fuzzing', () => {
  it('decodePngChannel: thousands of mutated PNGs, each decoded or refused by name', () => {
    const rng = new Rng(20261205);
    const base = seeds();
    const n = 3000 * SCALE;
    const tally = { ok: 0, error: 0 };
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const png = mutate(base[i % base.length], rng);
      const file = `fuzz-${i}.png`;
      let result: unknown;
      let error: unknown;
      try {
        result = decodePngChannel(png, file, 0);
      } catch (e) {
        error = e;
      }
      tally[expectSane(result, error, file)]++;
    }
    process.stderr.write(`png fuzz: ${n} cases, ${tally.ok} decoded, ${tally.error} refused, ${Date.now() - t0} ms\n`);
    expect(tally.error).toBeGreaterThan(n / 2);
  }, 120000);

  it('readLabelPng and readRgb (sharp) on files: mutated PNGs and JPEGs, empty and huge-dimension files', async () => {
    const rng = new Rng(7);
    const base = seeds();
    const jpeg = await sharp(Buffer.from(Array.from({ length: 16 * 16 * 3 }, (_, i) => (i * 37) % 256)), {
      raw: { width: 16, height: 16, channels: 3 },
    })
      .jpeg()
      .toBuffer();
    const n = 300 * SCALE;
    const tally = { ok: 0, error: 0 };
    for (let i = 0; i < n; i++) {
      const isJpeg = i % 3 === 2;
      let bytes: Buffer;
      if (isJpeg) {
        bytes = Buffer.from(jpeg);
        const k = Math.floor(rng.uniform() * 3);
        if (k === 0) bytes = bytes.subarray(0, Math.floor(rng.uniform() * bytes.length));
        else for (let j = 0; j < 1 + k * 3; j++) bytes[Math.floor(rng.uniform() * bytes.length)] ^= 0xff;
        // huge declared size in the SOF0 frame header (height, width at +5, +7)
        const sof = bytes.indexOf(Buffer.from([0xff, 0xc0]));
        if (k === 2 && sof >= 0 && sof + 9 < bytes.length) bytes.writeUInt32BE(0xfff0fff0, sof + 5);
      } else {
        bytes = i % 50 === 0 ? Buffer.alloc(0) : mutate(base[i % base.length], rng);
      }
      const file = join(dir, `case-${i}.${isJpeg ? 'jpg' : 'png'}`);
      writeFileSync(file, bytes);
      for (const read of isJpeg ? [readRgb] : [readRgb, readLabelPng]) {
        let result: unknown;
        let error: unknown;
        try {
          result = await read(file);
        } catch (e) {
          error = e;
        }
        tally[expectSane(result, error, file)]++;
      }
    }
    process.stderr.write(`file fuzz: ${n} files, ${tally.ok} decoded, ${tally.error} refused\n`);
  }, 300000);
});
