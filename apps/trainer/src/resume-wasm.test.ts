import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { pretrainTeacher } from './pretrain.js';
import { trainRun } from './trainer.js';

// The same exact-resume check as trainer.test.ts, on the wasm backend (with @road/backend's training kernels).
describe('resume on wasm', () => {
  it('reproduces the uninterrupted run bit for bit', async () => {
    // The IS_TEST kernel leak check (set by the shared test setup) trips on tfjs-backend-wasm's fusedConv2d
    // ("internal memory leak (3 data ids)"), which is outside this package; this test checks exactness only.
    tf.env().set('IS_TEST', false);
    const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-wasm-${p}-`));
    const quiet = { log: () => {}, quiet: true, report: false };
    const { checkpoint } = await pretrainTeacher({
      steps: 2,
      batch: 1,
      crop: 16,
      width: 0.25,
      backend: 'wasm',
      outDir: tmp('teacher'),
      ...quiet,
    });
    expect(tf.getBackend()).toBe('wasm');
    const config = loadConfig('road', [
      'backend=wasm',
      'net.width=0.25',
      'crop=[16,32]',
      'batch.source=2',
      'batch.target=2',
      'evalLimit=2',
      'steps=5',
      'grid=2x2',
    ]);
    const a = tmp('full');
    await trainRun(config, { outDir: a, teacherCheckpoint: checkpoint, ...quiet });
    const b = tmp('resumed');
    await trainRun(config, { outDir: b, teacherCheckpoint: checkpoint, ...quiet, stopAfter: 3 });
    await trainRun(null, { outDir: b, resume: true, ...quiet });
    const bytes = (d: string) => readFileSync(join(d, 'checkpoints', 'step-0000005', 'weights.bin'));
    expect(bytes(b).length).toBeGreaterThan(1000);
    expect(Buffer.compare(bytes(a), bytes(b))).toBe(0);
  });
});
