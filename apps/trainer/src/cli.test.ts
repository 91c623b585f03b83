import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { road } from './cli-in-process.js';

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-cli-${p}-`));

afterEach(() => vi.restoreAllMocks());

// A 2-image folder dataset: 4×2 images, labels with train ids 0, 13 and 255.
let folder = '';
beforeAll(async () => {
  folder = tmp('folder');
  mkdirSync(join(folder, 'images'));
  mkdirSync(join(folder, 'labels'));
  const rgb = Buffer.alloc(4 * 2 * 3, 120);
  for (const [name, ids] of [
    ['a', [0, 0, 13, 13, 0, 255, 13, 13]],
    ['b', [0, 0, 0, 0, 255, 255, 13, 0]],
  ] as const) {
    await sharp(rgb, { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toFile(join(folder, 'images', `${name}.png`));
    await sharp(Buffer.from(ids), { raw: { width: 4, height: 2, channels: 1 } })
      .toColourspace('b-w')
      .png()
      .toFile(join(folder, 'labels', `${name}.png`));
  }
});

describe('road CLI: bad input → one clear line, non-zero exit', () => {
  it('unknown preset', async () => {
    const r = await road('train', '--config', 'raod');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^road: unknown preset "raod" \(known: source-only, dst, spt, road, road-hydraplus, road-hydraplus-paper, oracle/,
    );
  });

  it('unknown config key', async () => {
    const r = await road('train', '--config', 'road', '--set', 'lambda.dts=1');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/road: preset "road": unknown config key "lambda.dts"/);
  });

  it('dataset root missing', async () => {
    const r = await road(
      'train',
      '--config',
      'source-only',
      '--set',
      'backend=cpu',
      '--set',
      'source=cityscapes:/nonexistent/cs',
      '--out',
      tmp('x'),
    );
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/road: dataset root missing: \/nonexistent\/cs/);
  });

  it('unknown command and missing required option are usage errors', async () => {
    expect((await road('trian')).code).not.toBe(0);
    expect((await road('predict', '--input', 'x')).code).not.toBe(0);
  });

  it('resume of a folder that is not a run', async () => {
    const r = await road('train', '--resume', tmp('empty'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/no config.json there \(not a run folder\)/);
  });
});

describe('road doctor', () => {
  it('prints the backend, the skipped ones, and a training self-check whose loss falls', async () => {
    const r = await road('doctor', '--backend', 'cpu', '--steps', '4');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^engine in use: cpu \(tf.getBackend\(\) = 'cpu'/m);
    expect(r.out).toMatch(/step 4\/4/);
    expect(r.out).toMatch(/falling, the engine trains/);
  });
});

describe('road data stats', () => {
  it('prints images and pixels per train id as JSON for a folder dataset', async () => {
    const r = await road('data', 'stats', '--dataset', 'folder', '--root', folder);
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.images).toBe(2);
    expect(s.labeledImages).toBe(2);
    expect(s.pixelsPerTrainId['0']).toBe(3 + 5);
    expect(s.pixelsPerTrainId['13']).toBe(4 + 1);
    expect(s.ignorePixels).toBe(1 + 2);
  });

  it('a colour-coded label is a clear error naming the file', async () => {
    const bad = tmp('badlabel');
    mkdirSync(join(bad, 'images'));
    mkdirSync(join(bad, 'labels'));
    await sharp(Buffer.alloc(24, 9), { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toFile(join(bad, 'images', 'x.png'));
    await sharp(Buffer.alloc(24, 9), { raw: { width: 4, height: 2, channels: 3 } })
      .png()
      .toFile(join(bad, 'labels', 'x.png'));
    const r = await road('data', 'stats', '--dataset', 'folder', '--root', bad);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/^road: .*labels\/x\.png/);
    expect(r.err).not.toMatch(/unexpected/);
  });

  it('names a missing root', async () => {
    const r = await road('data', 'stats', '--dataset', 'gta5', '--root', '/nonexistent/GTA5');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/\/nonexistent\/GTA5/);
  });

  it('works on built-in generators', async () => {
    const r = await road('data', 'stats', '--dataset', 'synthcity', '--split', 'target-val', '--limit', '2');
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(s.images).toBe(2);
    expect(
      Object.values(s.pixelsPerTrainId as Record<string, number>).reduce((a, b) => a + b, 0) + s.ignorePixels,
    ).toBe(2 * 160 * 80);
  });
});

describe('road train / eval / predict on a tiny run (cpu)', () => {
  it('trains, evaluates a checkpoint and writes colourised predictions', async () => {
    const run = tmp('run');
    const t = await road(
      'train',
      '--config',
      'source-only',
      '--out',
      run,
      '-q',
      '--backend', // the same as --set backend=cpu
      'cpu',
      '--set',
      'net.width=0.25',
      '--set',
      'crop=16x32',
      '--set',
      'batch.source=1',
      '--set',
      'steps=2',
      '--set',
      'evalLimit=1',
    );
    expect(t.err).not.toMatch(/error/);
    expect(t.code).toBe(0);
    expect(t.out).toMatch(/done: 2 steps, target mIoU [\d.]+/);
    expect(t.out).toMatch(/\(cpu\); run folder/);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).backend).toBe('cpu');
    const e = await road('eval', '--run', run, '--limit', '2', '--backend', 'cpu');
    expect(e.code).toBe(0);
    expect(e.out).toMatch(/\| 13 \| car \|/);
    expect(existsSync(join(run, 'eval', 'eval-synthcity-target-val.json'))).toBe(true);
    // the 19-class SynthCity net on an 11-class dataset is refused
    const bad = await road('eval', '--checkpoint', run, '--dataset', 'digits', '--limit', '2', '--backend', 'cpu');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/has 19 classes, the dataset has 11/);
    const out = tmp('pred');
    const p = await road(
      'predict',
      '--checkpoint',
      run,
      '--input',
      join(folder, 'images'),
      '--output',
      out,
      '--overlay',
      '--backend',
      'cpu',
    );
    expect(p.code).toBe(0);
    expect(readdirSync(out).sort()).toEqual(['a.png', 'a_overlay.png', 'b.png', 'b_overlay.png']);
    const meta = await sharp(join(out, 'a.png')).metadata();
    expect([meta.width, meta.height]).toEqual([4, 2]);
  });
});
