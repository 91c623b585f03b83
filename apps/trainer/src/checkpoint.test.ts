import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  type CheckpointFs,
  checkNetIdentity,
  latestCheckpoint,
  listStepCheckpoints,
  nodeCheckpointFs,
  pruneCheckpoints,
  readCheckpoint,
  restoreSlots,
  type WeightSlot,
  writeCheckpoint,
} from './checkpoint.js';
import { RoadError } from './errors.js';

function varSlots(vars: tf.Variable[], group = 'net'): WeightSlot[] {
  return vars.map((v) => ({
    group,
    name: v.name,
    shape: v.shape,
    dtype: v.dtype as 'float32' | 'int32',
    read: () => v,
    write: (t) => v.assign(t),
  }));
}

const net = { name: 'road-lite', attention: 'none', numClasses: 3, inputChannels: 3 };

describe('checkpoint', () => {
  it('round-trips float32 and int32 tensors bit-exactly and names the latest', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-ck-'));
    const a = tf.variable(tf.tensor([0.1, -2.5e-7, 3.4e38, Number.MIN_VALUE * 1e40], [2, 2]));
    const b = tf.variable(tf.tensor([7, -3], [2], 'int32'));
    await writeCheckpoint(dir, 5, { step: 5, net, state: { foo: 1 } }, varSlots([a, b]));
    expect(latestCheckpoint(dir)).toBe(join(dir, 'step-0000005'));
    const before = [a.dataSync().slice(), b.dataSync().slice()];
    a.assign(tf.zerosLike(a));
    b.assign(tf.zerosLike(b));
    const ck = readCheckpoint(dir);
    expect(ck.manifest.step).toBe(5);
    expect(ck.manifest.state).toEqual({ foo: 1 });
    restoreSlots(ck, 'net', varSlots([a, b]));
    expect(Array.from(a.dataSync())).toEqual(Array.from(before[0]));
    expect(Array.from(b.dataSync())).toEqual([7, -3]);
    a.dispose();
    b.dispose();
  });

  it('keeps the last good checkpoint when a write fails (disk full)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-ck-'));
    const v = tf.variable(tf.tensor([1, 2, 3]));
    await writeCheckpoint(dir, 1, { step: 1, net, state: {} }, varSlots([v]));
    v.assign(tf.tensor([9, 9, 9]));
    let calls = 0;
    const full: CheckpointFs = {
      ...nodeCheckpointFs,
      writeFile: async (p, d) => {
        calls++;
        if (calls === 2) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        return nodeCheckpointFs.writeFile(p, d);
      },
    };
    const err = await writeCheckpoint(dir, 2, { step: 2, net, state: {} }, varSlots([v]), full).catch((e) => e);
    expect(err).toBeInstanceOf(RoadError);
    expect(err.exitCode).toBe(4);
    expect(err.message).toMatch(/ENOSPC/);
    expect(err.message).toMatch(/last good checkpoint is kept: .*step-0000001/);
    expect(latestCheckpoint(dir)).toBe(join(dir, 'step-0000001'));
    expect(readdirSync(dir).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect(existsSync(join(dir, 'step-0000002'))).toBe(false);
    restoreSlots(readCheckpoint(dir), 'net', varSlots([v]));
    expect(Array.from(v.dataSync())).toEqual([1, 2, 3]);
    v.dispose();
  });

  it('prunes to the last K step checkpoints', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-ck-'));
    const v = tf.variable(tf.tensor([1]));
    for (const s of [1, 2, 3, 4]) await writeCheckpoint(dir, s, { step: s, net, state: {} }, varSlots([v]));
    await writeCheckpoint(dir, 'best', { step: 2, net, state: {} }, varSlots([v]));
    await pruneCheckpoints(dir, 2);
    expect(listStepCheckpoints(dir).map((p) => p.slice(-12))).toEqual(['step-0000003', 'step-0000004']);
    expect(existsSync(join(dir, 'best', 'checkpoint.json'))).toBe(true);
    v.dispose();
  });

  it('refuses a checkpoint of another net or class count, naming what differs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-ck-'));
    const v = tf.variable(tf.zeros([3, 3]));
    await writeCheckpoint(dir, 1, { step: 1, net, state: {} }, varSlots([v]));
    const ck = readCheckpoint(dir);
    expect(() => checkNetIdentity(ck, { ...net, numClasses: 19 })).toThrow(/another net: numClasses 3 \(expected 19\)/);
    expect(() => checkNetIdentity(ck, { ...net, name: 'vgg16-fcn' })).toThrow(
      /name "road-lite" \(expected "vgg16-fcn"\)/,
    );
    const w = tf.variable(tf.zeros([3, 4]));
    expect(() => restoreSlots(ck, 'net', varSlots([w]))).toThrow(/shape \[3,3\].*\[3,4\]/);
    expect(() => restoreSlots(ck, 'net', varSlots([v, w]))).toThrow(/has 1 weights, the model has 2/);
    expect(() => readCheckpoint(join(dir, 'nope'))).toThrow(/no checkpoint found/);
    v.dispose();
    w.dispose();
  });

  it('does not leak tensors', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-ck-'));
    const v = tf.variable(tf.ones([4]));
    const before = tf.memory().numTensors;
    await writeCheckpoint(dir, 1, { step: 1, net, state: {} }, varSlots([v]));
    restoreSlots(readCheckpoint(dir), 'net', varSlots([v]));
    expect(tf.memory().numTensors).toBe(before);
    v.dispose();
  });
});
