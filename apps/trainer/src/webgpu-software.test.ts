// The trainer on a backend without synchronous reads: tfjs-backend-webgpu in Node (its dataSync needs
// OffscreenCanvas), here through Dawn's OpenGL backend on Mesa llvmpipe (software WebGPU, @road/backend's opt-in).
//
// Skip rule (as packages/backend's software WebGPU tests): skipped, with the reason printed, only when the Debian
// packages of the software path are missing AND the environment variable CI is unset; otherwise a failure to
// create the adapter fails the tests. Vitest runs each test file in its own process (pool 'forks'), so the global
// backend switch stays in this file.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSegmentationNet } from '@road/backbone';
import { initBackend, missingSoftwareWebgpuPackages, SOFTWARE_WEBGPU_PACKAGES } from '@road/backend';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from './config.js';
import { NonFiniteLossError } from './errors.js';
import { evaluateNet } from './evaluate.js';
import { pretrainTeacher } from './pretrain.js';
import { readMetrics } from './run-dir.js';
import { disposeBatch, tinyBatch, tinyStepParts } from './step-fixture.js';
import type { StepResult } from './train-step.js';
import { trainRun } from './trainer.js';

const missing = missingSoftwareWebgpuPackages();
const skip = missing.length > 0 && !process.env.CI;
if (skip) {
  console.warn(
    `trainer software WebGPU tests skipped: Debian packages missing (${missing.join(', ')}); ` +
      `apt-get install ${SOFTWARE_WEBGPU_PACKAGES.join(' ')} (with CI set, this is a failure instead)`,
  );
}

/** The ROAD step (seg + dst + spt) on tiny parts made on the current backend, with fixed seeds. */
function setup(sets: string[] = []) {
  const config = loadConfig('road', ['steps=10', ...sets]);
  const { net, step, dispose: disposeParts } = tinyStepParts(config);
  const batch = tinyBatch();
  const dispose = () => {
    disposeBatch(batch);
    disposeParts();
  };
  return { net, step, batch, dispose };
}

/** Values of variables, read asynchronously. */
const snapshot = async (vars: tf.Variable[]) => Promise.all(vars.map(async (v) => Array.from(await v.data())));

async function twoSteps(backend: string): Promise<{ results: StepResult[]; weights: number[][] }> {
  await tf.setBackend(backend);
  const s = setup();
  const results = [await s.step(s.batch, 1), await s.step(s.batch, 2)];
  const weights = await snapshot(s.step.variables);
  s.dispose();
  return { results, weights };
}

const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-webgpu-${p}-`));

describe.skipIf(skip)('trainer on software WebGPU (no synchronous reads)', () => {
  beforeAll(async () => {
    // trainRun's `backend=webgpu` goes through ensureEngine → initBackend({ prefer: 'webgpu' }), which reads the
    // software opt-in from the environment.
    process.env.ROAD_WEBGPU = 'software';
    const info = await initBackend({ prefer: 'webgpu', webgpu: { software: true } });
    expect(info.name).toBe('webgpu');
  });

  it('webgpu here cannot read synchronously (what the trainer must avoid)', async () => {
    await tf.setBackend('webgpu');
    // Large enough to run on the GPU (tfjs-backend-webgpu computes small tensors on the CPU).
    const t = tf.tidy(() => tf.sum(tf.add(tf.ones([64, 64]), 2)));
    expect(() => t.dataSync()).toThrow(/OffscreenCanvas/);
    expect((await t.data())[0]).toBe(3 * 64 * 64);
    t.dispose();
  });

  it('createTrainStep: two ROAD steps give the cpu backend’s losses, accuracy and weights; no leak', async () => {
    const cpu = await twoSteps('cpu');
    await tf.setBackend('webgpu');
    const before = tf.memory().numTensors;
    const gpu = await twoSteps('webgpu');
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < 2; i++) {
      const [g, c] = [gpu.results[i], cpu.results[i]];
      for (const k of ['seg', 'dst', 'spt', 'total'] as const) {
        expect(Number.isFinite(g[k]), `${k} step ${i + 1}`).toBe(true);
        expect(Math.abs(g[k] - c[k]), `${k} step ${i + 1}: ${g[k]} vs ${c[k]}`).toBeLessThan(
          1e-3 * (1 + Math.abs(c[k])),
        );
      }
      expect(g.dst).toBeGreaterThan(0);
      expect(g.domainAccuracy).toBeGreaterThanOrEqual(0);
      expect(g.domainAccuracy).toBeLessThanOrEqual(1);
      // The accuracy is a count over positions: a logit within rounding of 0 could flip one position.
      expect(Math.abs(g.domainAccuracy - c.domainAccuracy)).toBeLessThan(0.05);
    }
    expect(gpu.weights.length).toBe(cpu.weights.length);
    for (let v = 0; v < cpu.weights.length; v++) {
      let d = 0;
      let m = 0;
      for (let j = 0; j < cpu.weights[v].length; j++) {
        d = Math.max(d, Math.abs(gpu.weights[v][j] - cpu.weights[v][j]));
        m = Math.max(m, Math.abs(cpu.weights[v][j]));
      }
      expect(d / (m || 1), `variable ${v}`).toBeLessThan(1e-3);
    }
  });

  it('createTrainStep: a NaN term throws NonFiniteLossError before any weight changes', async () => {
    await tf.setBackend('webgpu');
    const s = setup(['debug.nonFiniteAt={"term":"spt","step":2}']);
    await s.step(s.batch, 1);
    const before = await snapshot(s.step.variables);
    const err = await s.step(s.batch, 2).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect((err as NonFiniteLossError).message).toMatch(/loss term "spt" is NaN at step 2/);
    expect(await snapshot(s.step.variables)).toEqual(before);
    s.dispose();
  });

  it('pretrain, trainRun (3 steps, checkpoints, report) and evaluation run on webgpu', async () => {
    const log: string[] = [];
    const quiet = { log: (l: string) => log.push(l), quiet: true };
    const teacher = await pretrainTeacher({
      steps: 2,
      batch: 1,
      crop: 16,
      width: 0.25,
      backend: 'webgpu',
      outDir: tmp('teacher'),
      ...quiet,
    });
    expect(tf.getBackend()).toBe('webgpu');
    const dir = tmp('run');
    const config = loadConfig('road', [
      'backend=webgpu',
      'net.width=0.25',
      'crop=[16,32]',
      'batch.source=1',
      'batch.target=1',
      'evalLimit=2',
      'evalEvery=2',
      'checkpointEvery=2',
      'steps=3',
      'grid=2x2',
    ]);
    const r = await trainRun(config, { outDir: dir, teacherCheckpoint: teacher.checkpoint, ...quiet, gridRows: 1 });
    expect(r.backend).toBe('webgpu');
    expect(r.step).toBe(3);
    expect(r.final?.images).toBe(2);
    expect(Number.isFinite(r.final?.miou)).toBe(true);
    const rows = readMetrics(join(dir, 'metrics.jsonl')).filter((m) => m.loss_total !== undefined);
    expect(rows.map((m) => m.step)).toEqual([1, 2, 3]);
    for (const m of rows) {
      for (const k of ['loss_seg', 'loss_dst', 'loss_spt', 'loss_total', 'domain_accuracy'])
        expect(Number.isFinite(m[k]), `${k} at step ${m.step}`).toBe(true);
    }
    // Evaluation on its own (the confusion matrix is filled from asynchronous reads).
    const net = createSegmentationNet('road-lite', { numClasses: 19, seed: 1, widthMultiplier: 0.25 });
    const e = await evaluateNet(net, config.val, { numClasses: 19, seed: 0, limit: 2, batchSize: 2 });
    expect(e.images).toBe(2);
    expect(e.total).toBeGreaterThan(0);
    net.dispose();
  });
});
