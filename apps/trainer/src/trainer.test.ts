import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { type CheckpointFs, latestCheckpoint, nodeCheckpointFs, readCheckpoint } from './checkpoint.js';
import { loadConfig } from './config.js';
import { ensureEngine } from './engine.js';
import { NonFiniteLossError, RoadError } from './errors.js';
import { loadNetFromCheckpoint } from './predict.js';
import { pretrainTeacher } from './pretrain.js';
import { readMetrics } from './run-dir.js';
import { readEvents } from './tfevents.js';
import { trainRun } from './trainer.js';

// Tiny runs on the cpu backend (the reference engine): a quarter-width road-lite on 16×32 crops, 1+1 images per step.
const TINY = [
  'backend=cpu',
  'net.width=0.25',
  'crop=[16,32]',
  'batch.source=1',
  'batch.target=1',
  'evalLimit=2',
  'steps=4',
  'grid=2x2',
];
const quiet = { log: () => {}, quiet: true, gridRows: 1 };
let teacher = '';
const tmp = (p: string) => mkdtempSync(join(tmpdir(), `road-${p}-`));

beforeAll(async () => {
  const r = await pretrainTeacher({
    steps: 2,
    batch: 1,
    crop: 16,
    width: 0.25,
    backend: 'cpu',
    outDir: tmp('teacher'),
    log: () => {},
    quiet: true,
  });
  teacher = r.checkpoint;
});

function tensorsOf(dir: string, group: string): number[][] {
  const ck = readCheckpoint(dir);
  const view = new DataView(ck.weights.buffer, ck.weights.byteOffset);
  return ck.manifest.tensors
    .filter((t) => t.group === group)
    .map((t) => Array.from({ length: t.length }, (_, k) => view.getUint32(t.offset + 4 * k, true)));
}

describe('trainRun', () => {
  it('writes the run folder: config, metrics, eval json/md, checkpoints, report, TensorBoard events', async () => {
    const dir = tmp('run');
    const r = await trainRun(loadConfig('road', TINY), { outDir: dir, teacherCheckpoint: teacher, ...quiet });
    expect(r.step).toBe(4);
    expect(r.stopped).toBe(false);
    expect(r.final?.images).toBe(2);
    for (const f of [
      'config.json',
      'metrics.jsonl',
      'eval/final.json',
      'eval/final.md',
      'report.html',
      'predictions.png',
    ]) {
      expect(existsSync(join(dir, f)), f).toBe(true);
    }
    const rows = readMetrics(join(dir, 'metrics.jsonl')).filter((m) => m.loss_total !== undefined);
    expect(rows.map((m) => m.step)).toEqual([1, 2, 3, 4]);
    for (const k of ['loss_seg', 'loss_dst', 'loss_spt', 'lambda_grl', 'lr', 'domain_accuracy', 'images_per_sec'])
      expect(typeof rows[0][k]).toBe('number');
    expect(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')).lambda).toEqual({ dst: 1, spt: 1 });
    expect(latestCheckpoint(join(dir, 'checkpoints'))).toMatch(/step-0000004$/);
    expect(existsSync(join(dir, 'checkpoints', 'best', 'checkpoint.json'))).toBe(true);
    expect(readFileSync(join(dir, 'eval', 'final.md'), 'utf8')).toMatch(/mIoU \(8 SynthCity classes\)/);
    const events = readdirSync(dir).filter((f) => f.startsWith('events.out.tfevents.'));
    expect(events.length).toBe(1);
    const seg = readEvents(join(dir, events[0])).flatMap((e) =>
      (e.scalars ?? []).filter((v) => v.tag === 'loss_seg').map((v) => [e.step, v.value]),
    );
    expect(seg).toEqual(rows.map((m) => [m.step, Math.fround(m.loss_seg as number)]));
  });

  it('resume reproduces the uninterrupted run bit for bit (cpu)', async () => {
    const config = loadConfig('road', TINY);
    const a = tmp('full');
    await trainRun(config, { outDir: a, teacherCheckpoint: teacher, ...quiet, report: false });
    const b = tmp('resumed');
    const first = await trainRun(config, {
      outDir: b,
      teacherCheckpoint: teacher,
      ...quiet,
      report: false,
      stopAfter: 2,
    });
    expect(first.stopped).toBe(true);
    expect(latestCheckpoint(join(b, 'checkpoints'))).toMatch(/step-0000002$/);
    const second = await trainRun(null, {
      outDir: b,
      resume: true,
      teacherCheckpoint: teacher,
      ...quiet,
      report: false,
    });
    expect(second.step).toBe(4);
    const ckA = join(a, 'checkpoints', 'step-0000004');
    const ckB = join(b, 'checkpoints', 'step-0000004');
    for (const g of ['net', 'saa', 'optimizer']) {
      const ta = tensorsOf(ckA, g);
      expect(ta.length).toBeGreaterThan(0);
      expect(tensorsOf(ckB, g)).toEqual(ta);
    }
    const losses = (d: string) =>
      readMetrics(join(d, 'metrics.jsonl'))
        .filter((m) => m.loss_total !== undefined)
        .map((m) => [m.step, m.loss_seg, m.loss_dst, m.loss_spt]);
    expect(losses(b)).toEqual(losses(a));
    expect(second.final?.miou).toBe(
      readCheckpoint(ckA) && JSON.parse(readFileSync(join(a, 'eval', 'final.json'), 'utf8')).miou,
    );
  });

  it('stops on a NaN loss naming the term; the last good checkpoint is kept', async () => {
    const dir = tmp('nan');
    const config = loadConfig('road', [...TINY, 'checkpointEvery=2', 'debug.nonFiniteAt={"term":"spt","step":3}']);
    const err = await trainRun(config, { outDir: dir, teacherCheckpoint: teacher, ...quiet }).catch((e) => e);
    expect(err).toBeInstanceOf(NonFiniteLossError);
    expect(err.exitCode).toBe(3);
    expect(err.message).toMatch(/loss term "spt" is NaN at step 3/);
    expect(err.message).toMatch(/last good checkpoint kept: .*step-0000002/);
    expect(latestCheckpoint(join(dir, 'checkpoints'))).toMatch(/step-0000002$/);
    expect(readCheckpoint(join(dir, 'checkpoints')).manifest.step).toBe(2);
  });

  it('a failing checkpoint write (disk full) is a clear error; the last good checkpoint stays intact', async () => {
    const dir = tmp('full-disk');
    const config = loadConfig('source-only', [...TINY, 'checkpointEvery=1', 'teacher.initStudent=false']);
    let writes = 0;
    const fs: CheckpointFs = {
      ...nodeCheckpointFs,
      writeFile: async (p, d) => {
        if (String(p).includes('step-0000002') && ++writes >= 1)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodeCheckpointFs.writeFile(p, d);
      },
    };
    const err = await trainRun(config, { outDir: dir, ...quiet, checkpointFs: fs }).catch((e) => e);
    expect(err).toBeInstanceOf(RoadError);
    expect(err.exitCode).toBe(4);
    expect(err.message).toMatch(/could not write checkpoint .*step-0000002: ENOSPC/);
    expect(err.message).toMatch(/last good checkpoint is kept: .*step-0000001/);
    const ck = latestCheckpoint(join(dir, 'checkpoints'));
    expect(ck).toMatch(/step-0000001$/);
    // intact: it loads, and the run resumes from it
    const loaded = loadNetFromCheckpoint(ck as string);
    loaded.net.dispose();
    const r = await trainRun(null, { outDir: dir, resume: true, ...quiet, report: false });
    expect(r.step).toBe(4);
  });

  it('refuses a checkpoint from another net or class count', async () => {
    const dir = tmp('other');
    await trainRun(loadConfig('source-only', [...TINY, 'steps=1', 'teacher.initStudent=false']), {
      outDir: dir,
      ...quiet,
      report: false,
    });
    // class count: the SynthCity net has 19 classes, the digits segmentation view 11
    expect(() => loadNetFromCheckpoint(dir, { numClasses: 11 })).toThrow(/has 19 classes, the dataset has 11/);
    expect(() => loadNetFromCheckpoint(dir, { name: 'vgg16-fcn' })).toThrow(
      /from another net: road-lite \(expected vgg16-fcn\)/,
    );
    // resuming with another net in config.json
    const cfg = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'));
    cfg.net.width = 0.5;
    cfg.steps = 2;
    writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg));
    const err = await trainRun(null, { outDir: dir, resume: true, ...quiet }).catch((e) => e);
    expect(err).toBeInstanceOf(RoadError);
    expect(err.message).toMatch(/another net: width 0.25 \(expected 0.5\)/);
    // a teacher of another width
    const err2 = await trainRun(loadConfig('road', [...TINY, 'net.width=0.5']), {
      outDir: tmp('t2'),
      teacherCheckpoint: teacher,
      ...quiet,
    }).catch((e) => e);
    expect(err2.message).toMatch(
      /teacher checkpoint .*\(width 0.25\) backbone, the student is road-lite \(width 0.5\)/,
    );
  });

  it('names a missing dataset root', async () => {
    const err = await trainRun(loadConfig('source-only', [...TINY, 'source=gta5:/nonexistent/GTA5']), {
      outDir: tmp('root'),
      ...quiet,
    }).catch((e) => e);
    expect(err).toBeInstanceOf(RoadError);
    expect(err.exitCode).toBe(2);
    expect(err.message).toMatch(/dataset root missing: \/nonexistent\/GTA5/);
  });

  it('needs a teacher for λ_dst > 0', async () => {
    const err = await trainRun(loadConfig('road', TINY), { outDir: tmp('noteacher'), ...quiet }).catch((e) => e);
    expect(err).toBeInstanceOf(RoadError);
    expect(err.message).toMatch(/lambda.dst > 0 needs a teacher/);
  });

  it('leaves no tensors behind', async () => {
    const before = tf.memory().numTensors;
    await trainRun(loadConfig('road', [...TINY, 'steps=2']), {
      outDir: tmp('leak'),
      teacherCheckpoint: teacher,
      ...quiet,
      report: false,
    });
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('pretrainTeacher, segmentation task', () => {
  it('trains a 19-class net on the labelled neutral pool without leaking tensors; a student starts from it', async () => {
    await ensureEngine('cpu', () => {});
    const before = tf.memory().numTensors;
    const r = await pretrainTeacher({
      task: 'segmentation',
      dataset: { kind: 'synthcity', split: 'neutral', options: { labels: true } },
      steps: 2,
      batch: 1,
      crop: 16,
      width: 0.25,
      backend: 'cpu',
      outDir: tmp('teacher-seg'),
      log: () => {},
      quiet: true,
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(r.accuracy).toBeGreaterThanOrEqual(0);
    expect(r.accuracy).toBeLessThanOrEqual(1);
    const ck = readCheckpoint(r.checkpoint);
    expect(ck.manifest.net.numClasses).toBe(19);
    expect((ck.manifest.state as { pretext: string }).pretext).toBe('segmentation');
    const run = await trainRun(loadConfig('road', [...TINY, 'steps=1']), {
      ...quiet,
      outDir: tmp('seg-teacher-run'),
      teacherCheckpoint: r.checkpoint,
      report: false,
    });
    expect(run.step).toBe(1);
  });

  it('refuses an unlabeled pool, naming it', async () => {
    await expect(
      pretrainTeacher({
        task: 'segmentation',
        dataset: 'synthcity#neutral',
        steps: 1,
        batch: 1,
        crop: 16,
        width: 0.25,
        backend: 'cpu',
        outDir: tmp('teacher-seg-bad'),
        log: () => {},
        quiet: true,
      }),
    ).rejects.toThrow(/needs labels: synthcity#neutral/);
  });
});
