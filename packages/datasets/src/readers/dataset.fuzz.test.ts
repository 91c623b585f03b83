import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DatasetError, encodePng } from '../image-io.js';
import { Rng } from '../rng.js';
import { gta5Dataset } from './gta5.js';

// Seeded fuzzing of a dataset on disk (GTA5 layout): random image sizes, labels of another size, random label ids
// (some unknown to the GTA5 map), truncated and empty files. Each sample decodes to a consistent image/label pair
// or fails with one DatasetError naming the file; with skipBad every get() returns a readable sample and the bad
// ones are listed. ROAD_FUZZ_CASES=N scales the number of pairs.
const SCALE = Number(process.env.ROAD_FUZZ_CASES ?? 1);

function makeDataset(seed: number, pairs: number): string {
  const rng = new Rng(seed);
  const root = mkdtempSync(join(tmpdir(), 'road-ds-fuzz-'));
  mkdirSync(join(root, 'images'));
  mkdirSync(join(root, 'labels'));
  for (let i = 0; i < pairs; i++) {
    const name = `${String(i).padStart(5, '0')}.png`;
    const w = rng.int(1, 24);
    const h = rng.int(1, 24);
    const image = Uint8Array.from({ length: w * h * 3 }, () => rng.int(0, 255));
    let img = encodePng({ data: image, width: w, height: h, channels: 3 });
    const mismatch = rng.bool(0.15);
    const lw = mismatch ? w + rng.int(1, 3) : w;
    const lh = mismatch && rng.bool() ? h + 1 : h;
    // ids 0..33 are GTA5's; a few samples carry ids the map does not know
    const maxId = rng.bool(0.1) ? 255 : 33;
    const label = Uint8Array.from({ length: lw * lh }, () => rng.int(0, maxId));
    let lab = encodePng({ data: label, width: lw, height: lh, channels: 1 });
    const damage = rng.uniform();
    if (damage < 0.05) img = img.subarray(0, rng.int(0, img.length - 1));
    else if (damage < 0.1) lab = lab.subarray(0, rng.int(0, lab.length - 1));
    writeFileSync(join(root, 'images', name), img);
    writeFileSync(join(root, 'labels', name), lab);
  }
  return root;
}

describe('dataset reader under seeded fuzzing (GTA5 layout)', () => {
  it('every sample: a consistent pair, or a DatasetError naming its file; skipBad skips exactly those', async () => {
    const pairs = 150 * SCALE;
    const root = makeDataset(11, pairs);
    const strict = await gta5Dataset({ root });
    const failed = new Set<number>();
    let ok = 0;
    for (let i = 0; i < strict.length; i++) {
      try {
        const s = await strict.get(i);
        expect(s.image.length).toBe(s.width * s.height * 3);
        expect(s.label?.length).toBe(s.width * s.height);
        ok++;
      } catch (e) {
        expect(e, String((e as Error)?.stack)).toBeInstanceOf(DatasetError);
        expect((e as DatasetError).file).toMatch(new RegExp(`${root}/(images|labels)/\\d{5}\\.png$`));
        failed.add(i);
      }
    }
    expect(failed.size).toBeGreaterThan(0);
    expect(ok).toBeGreaterThan(0);
    const warnings: string[] = [];
    const lenient = await gta5Dataset({ root, skipBad: true, onWarning: (m) => warnings.push(m) });
    for (let i = 0; i < lenient.length; i++) {
      const s = await lenient.get(i);
      expect(s.label?.length).toBe(s.width * s.height);
    }
    expect(lenient.bad.length).toBe(failed.size);
    expect(warnings.length).toBe(failed.size);
    process.stderr.write(
      `dataset fuzz: ${pairs} pairs, ${ok} read, ${failed.size} refused by name and skipped with skipBad\n`,
    );
  }, 120000);
});
