import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { configHash, newestGoodCheckpoint, readCheckpoint, type WeightSlot, writeCheckpoint } from './checkpoint.js';
import { readMetrics } from './run-dir.js';
import { acquireRunLock } from './run-lock.js';

const net = { name: 'road-lite', attention: 'none', numClasses: 3, inputChannels: 3 };

function slotsOf(values: number[]): { slots: WeightSlot[]; dispose(): void } {
  const v = tf.variable(tf.tensor(values));
  return {
    slots: [{ group: 'net', name: v.name, shape: v.shape, dtype: 'float32', read: () => v, write: (t) => v.assign(t) }],
    dispose: () => v.dispose(),
  };
}

async function threeCheckpoints(hash = 'h1') {
  const dir = mkdtempSync(join(tmpdir(), 'road-ck-int-'));
  for (const step of [1, 2, 3]) {
    const s = slotsOf([step, step + 0.5, -step]);
    await writeCheckpoint(dir, step, { step, net, state: {}, configHash: hash }, s.slots);
    s.dispose();
  }
  return dir;
}
const at = (dir: string, step: number) => join(dir, `step-${String(step).padStart(7, '0')}`);

describe('checkpoint integrity', () => {
  it('a flipped bit in weights.bin is caught and named', async () => {
    const dir = await threeCheckpoints();
    const w = join(at(dir, 3), 'weights.bin');
    const bytes = readFileSync(w);
    bytes[5] ^= 0x10;
    writeFileSync(w, bytes);
    expect(() => readCheckpoint(at(dir, 3))).toThrow(`checkpoint ${w} is corrupt: its SHA-256 does not match`);
  });

  it('a flipped digit in checkpoint.json (still valid JSON) is caught through checkpoint.sha256', async () => {
    const dir = await threeCheckpoints();
    const m = join(at(dir, 3), 'checkpoint.json');
    writeFileSync(m, readFileSync(m, 'utf8').replace('"step": 3', '"step": 4'));
    expect(() => readCheckpoint(at(dir, 3))).toThrow(/checkpoint\.json is corrupt: its SHA-256 does not match/);
  });

  it('a truncated weights.bin is caught and named', async () => {
    const dir = await threeCheckpoints();
    truncateSync(join(at(dir, 3), 'weights.bin'), 6);
    expect(() => readCheckpoint(at(dir, 3))).toThrow(/weights\.bin is truncated \(6 < 12 bytes\)/);
  });

  it('resume takes the newest good one, naming each bad one skipped; no good one left is a clear error', async () => {
    const dir = await threeCheckpoints();
    truncateSync(join(at(dir, 3), 'weights.bin'), 0);
    rmSync(join(at(dir, 2), 'checkpoint.sha256'));
    const warnings: string[] = [];
    const ck = newestGoodCheckpoint(dir, 'h1', (l) => warnings.push(l));
    expect(ck?.manifest.step).toBe(1);
    expect(warnings[0]).toContain(`${at(dir, 3)}/weights.bin is truncated`);
    expect(warnings[1]).toContain(`checkpoint ${at(dir, 2)} is incomplete`);
    expect(warnings[2]).toBe(`resuming from the previous good checkpoint ${at(dir, 1)}`);
    writeFileSync(join(at(dir, 1), 'checkpoint.json'), '{"format": "road-chec');
    expect(() => newestGoodCheckpoint(dir, 'h1', () => {})).toThrow(
      /no good checkpoint left in .*\n {2}.*step-0000003/,
    );
  });

  it('a checkpoint of another config is skipped on resume', async () => {
    const dir = await threeCheckpoints('other');
    expect(() => newestGoodCheckpoint(dir, 'mine', () => {})).toThrow(/written by another config \(hash other/);
  });

  it('configHash ignores key order and steps, and sees every other change', () => {
    const a = configHash({ steps: 10, lambda: { dst: 1, spt: 2 }, name: 'x' });
    expect(configHash({ name: 'x', lambda: { spt: 2, dst: 1 }, steps: 99 })).toBe(a);
    expect(configHash({ steps: 10, lambda: { dst: 1, spt: 3 }, name: 'x' })).not.toBe(a);
  });
});

describe('run lock', () => {
  it('one trainer per folder: a live holder is refused by name; release frees it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-lock-'));
    const lock = acquireRunLock(dir);
    expect(() => acquireRunLock(dir)).toThrow(
      new RegExp(`run folder ${dir} is in use by another trainer \\(pid ${process.pid} on `),
    );
    lock.release();
    acquireRunLock(dir).release();
  });

  it('a lock left by a killed process (dead pid), or a half-written lock file, is taken over', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-lock-'));
    const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
    const deadPid = Number(child.stdout.trim());
    writeFileSync(
      join(dir, 'run.lock'),
      JSON.stringify({ pid: deadPid, host: hostname(), startTicks: 1, since: '2026-01-01T00:00:00Z' }),
    );
    acquireRunLock(dir).release();
    writeFileSync(join(dir, 'run.lock'), '{"pid": 12');
    acquireRunLock(dir).release();
  });

  it('a live pid that started at another time (pid reused) is stale too', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-lock-'));
    writeFileSync(
      join(dir, 'run.lock'),
      JSON.stringify({ pid: process.pid, host: hostname(), startTicks: 12345678901, since: 'then' }),
    );
    acquireRunLock(dir).release();
  });
});

describe('metrics.jsonl after a kill', () => {
  it('drops a last row without its newline (half-written), errors on any other bad line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'road-metrics-'));
    const p = join(dir, 'metrics.jsonl');
    writeFileSync(p, '{"step":1}\n{"step":2}\n{"st');
    expect(readMetrics(p).map((r) => r.step)).toEqual([1, 2]);
    writeFileSync(p, '{"step":1}\n{"st\n{"step":3}\n');
    expect(() => readMetrics(p)).toThrow(`${p}: line 2 is not JSON`);
  });
});
