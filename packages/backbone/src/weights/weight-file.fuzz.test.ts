import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseWeightFile } from './read-weight-file.js';
import { WeightFileError } from './weight-file.js';

// Seeded fuzzing of the weight-file readers (safetensors, torch.save zip and legacy pickle, Keras HDF5): every
// mutated file either parses into tensors whose data length matches their shape, or is refused with one
// WeightFileError naming it. Never another exception, a hang or a huge allocation, and never code run from the file.
// ROAD_FUZZ_CASES=N scales the case count.
const SCALE = Number(process.env.ROAD_FUZZ_CASES ?? 1);
const fixtures = join(__dirname, '..', '..', 'fixtures', 'weights');
const seeds = ['dtypes.safetensors', 'dtypes.pth', 'dtypes.legacy.pth', 'vgg16-w16-keras-notop.h5'].map((f) => ({
  name: f,
  bytes: new Uint8Array(readFileSync(join(fixtures, f))),
}));

function rng(seed: number) {
  let s = seed >>> 0 || 1;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function mutate(src: Uint8Array, name: string, r: () => number): Uint8Array {
  const b = Uint8Array.from(src);
  const at = (n: number) => Math.floor(r() * n);
  const kind = at(5);
  if (kind === 0) return b.subarray(0, at(b.length));
  if (kind === 1) {
    for (let k = 0, n = 1 + at(8); k < n; k++) b[at(b.length)] ^= 1 << at(8);
    return b;
  }
  if (kind === 2) {
    // bytes of the first 4 KB (headers, pickle opcodes, zip directory starts) set to extreme values
    for (let k = 0, n = 1 + at(4); k < n; k++) b[at(Math.min(4096, b.length))] = [0, 0xff, 0x7f, 0x80][at(4)];
    return b;
  }
  if (kind === 3 && name.endsWith('.safetensors')) {
    // the JSON header rewritten: offsets, shapes and dtypes made wrong but still valid JSON
    const len = Number(new DataView(b.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(b.subarray(8, 8 + len)));
    const keys = Object.keys(header).filter((k) => k !== '__metadata__');
    const t = header[keys[at(keys.length)]];
    const wild = [0, -1, 1, 2 ** 31, 2 ** 53, 1e300, 'x', null, [], [1, 2, 3]];
    if (r() < 0.4) t.data_offsets = [wild[at(wild.length)], wild[at(wild.length)]];
    else if (r() < 0.7) t.shape = [wild[at(wild.length)], at(4)];
    else t.dtype = ['F32', 'F16', 'BF16', 'I64', 'F64', 'U8', 'Q4', '', 7][at(9)];
    const text = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + text.length + (b.length - 8 - len));
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    out.set(b.subarray(8 + len), 8 + text.length);
    return out;
  }
  // insert or delete a run of bytes
  const p = at(b.length);
  const n = 1 + at(64);
  if (r() < 0.5) return Uint8Array.from([...b.subarray(0, p), ...new Uint8Array(n).fill(at(256)), ...b.subarray(p)]);
  return Uint8Array.from([...b.subarray(0, p), ...b.subarray(Math.min(b.length, p + n))]);
}

describe('weight-file readers under seeded fuzzing', () => {
  it('mutated safetensors / pth (zip and legacy) / Keras h5: each parses consistently or is refused by name', () => {
    const r = rng(424242);
    const n = 1200 * SCALE;
    const tally = { parsed: 0, refused: 0 };
    const t0 = Date.now();
    for (let i = 0; i < n; i++) {
      const seed = seeds[i % seeds.length];
      const bytes = mutate(seed.bytes, seed.name, r);
      const source = `fuzz-${i}-${seed.name}`;
      try {
        const file = parseWeightFile(bytes, source);
        for (const [name, t] of file.tensors) {
          const count = t.shape.reduce((a, d) => a * d, 1);
          expect(t.data.length, `${source} ${name}`).toBe(count);
        }
        tally.parsed++;
      } catch (e) {
        expect(e, `${source}: ${String((e as Error)?.stack)}`).toBeInstanceOf(WeightFileError);
        expect((e as Error).message.startsWith(`${source}: `)).toBe(true);
        tally.refused++;
      }
    }
    process.stderr.write(
      `weight-file fuzz: ${n} cases, ${tally.parsed} parsed, ${tally.refused} refused, ${Date.now() - t0} ms\n`,
    );
    expect(tally.refused).toBeGreaterThan(n / 4);
  }, 300000);
});
