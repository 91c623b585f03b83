import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readCheckpoint } from './checkpoint.js';
import { EXIT } from './errors.js';
import { startWatchdog } from './watchdog.js';

// The watchdog ends the whole process, so a stall is injected into a training run in a child process (the built
// trainer: apps/trainer/dist, made by the root `pnpm test` or `pnpm --filter @road/trainer build`).
const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, '..', 'dist', 'index.js');
const backendDist = createRequire(import.meta.url).resolve('@road/backend');

/** Writes and runs a script that trains a tiny run on cpu and stalls before step `stallAt` in the way given. */
function stalledRun(kind: 'sync' | 'async' | 'native', env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), `road-watchdog-${kind}-`));
  const script = join(dir, 'run.mjs');
  writeFileSync(
    script,
    `
import { trainRun, loadConfig } from ${JSON.stringify(dist)};
import { nativeModuleEntry } from ${JSON.stringify(backendDist)};
import { createRequire } from 'node:module';
const kind = ${JSON.stringify(kind)};
const config = loadConfig('source-only', ['backend=cpu', 'net.width=0.25', 'crop=[16,32]', 'batch.source=1',
  'evalLimit=1', 'steps=40', 'checkpointEvery=2', 'keepLast=3']);
let addon = null;
if (kind === 'native') addon = createRequire(import.meta.url)(nativeModuleEntry()).loadNative().addon;
await trainRun(config, {
  outDir: ${JSON.stringify(join(dir, 'run'))},
  quiet: true,
  report: false,
  log: () => {},
  watchdog: { factor: 3, minSeconds: 1, firstSeconds: 60, checkSeconds: 0.2 },
  beforeStep: async (step) => {
    if (step !== 8) return;
    if (kind === 'sync') Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120000);
    if (kind === 'async') await new Promise(() => {});
    if (kind === 'native') {
      // a convolution far too large for the moment: the main thread sits inside the native call
      // (256×256×512 → 512, 3×3: ~300 GFLOP, seconds per call, so the check lands inside a call)
      const xs = 4 * 256 * 256 * 512;
      const heap = new ArrayBuffer(2 * xs + 4 * 9 * 512 * 512);
      const g = [1, 256, 256, 512, 256, 256, 512, 3, 3, 1, 1, 1, 1, 1, 1];
      const t = Date.now();
      while (Date.now() - t < 120000) addon.conv2d(heap, 0, 2 * xs, -1, xs, g, false);
    }
  },
});
console.log('finished without a stall');
`,
  );
  const t0 = Date.now();
  const r = spawnSync(process.execPath, [script], {
    encoding: 'utf8',
    timeout: 100000,
    env: { ...process.env, ...env },
  });
  return { r, dir: join(dir, 'run'), seconds: (Date.now() - t0) / 1000 };
}

function expectStalledAtStep8(run: ReturnType<typeof stalledRun>) {
  const { r, dir } = run;
  expect(r.stdout).not.toContain('finished without a stall');
  expect(r.status, r.stderr).toBe(EXIT.stalled);
  expect(r.stderr).toMatch(/watchdog: step 8, phase step, has run \d+\.\d s, more than 3x the recent median/);
  expect(r.stderr).toContain('Exiting with code 75');
  const report = JSON.parse(readFileSync(join(dir, 'stalled.json'), 'utf8'));
  expect(report).toMatchObject({ stalled: true, step: 8, phase: 'step', exitCode: 75 });
  // Nothing half-done: every checkpoint left is complete and readable, the latest from step 6.
  const cks = readdirSync(join(dir, 'checkpoints')).filter((f) => /^step-/.test(f));
  expect(cks.length).toBeGreaterThan(0);
  const steps = cks.map((c) => readCheckpoint(join(dir, 'checkpoints', c)).manifest.step).sort((a, b) => a - b);
  expect(steps[steps.length - 1]).toBe(6);
  expect(readdirSync(join(dir, 'checkpoints')).filter((f) => f.includes('.tmp'))).toEqual([]);
  return report;
}

describe('step watchdog', () => {
  it('limits: the first-phase allowance until 3 durations exist, then max(min, factor × median) per phase kind', async () => {
    const wd = startWatchdog({ factor: 4, minSeconds: 0.05, firstSeconds: 30, checkSeconds: 10 });
    try {
      expect(wd.limitSeconds('step')).toBe(30);
      // The limit is computed from the durations the watchdog saw; measure the same phases here, so the check does
      // not depend on how late the timers fire on a loaded machine.
      const seen: number[] = [];
      for (const ms of [20, 40, 30]) {
        const t0 = performance.now();
        wd.enter('step', 1);
        await new Promise((r) => setTimeout(r, ms));
        wd.idle();
        seen.push((performance.now() - t0) / 1000);
      }
      const median = [...seen].sort((a, b) => a - b)[1] as number;
      // max(min 0.05 s, 4 × median): the median is ≥ 30 ms, so 4 × median wins.
      const limit = wd.limitSeconds('step');
      expect(limit).toBeGreaterThanOrEqual(0.11);
      expect(Math.abs(limit - 4 * median)).toBeLessThan(0.02);
      // another kind keeps its own warm-up allowance
      expect(wd.limitSeconds('eval')).toBe(30);
    } finally {
      await wd.stop();
    }
  });

  it('rejects nonsense options with the option named', () => {
    expect(() => startWatchdog({ factor: 0 })).toThrow(/factor must be a positive number/);
  });

  it('main thread blocked in synchronous code at step 8: exits 75, says where, writes stalled.json, keeps good checkpoints', () => {
    expect(existsSync(dist), `${dist} missing: build the trainer first`).toBe(true);
    const run = stalledRun('sync');
    expectStalledAtStep8(run);
    expect(run.seconds).toBeLessThan(60);
  }, 120000);

  it('main thread awaiting forever (no native addon): exits 75 the same way', () => {
    const run = stalledRun('async', { ROAD_NATIVE: '0' });
    const report = expectStalledAtStep8(run);
    expect(report.kernel).toBeNull();
    expect(run.r.stderr).toContain('kernel unknown (native kernels not loaded)');
  }, 120000);

  const nativeEntry = (() => {
    try {
      const req = createRequire(import.meta.url);
      const backend = req(backendDist) as { nativeModuleEntry(): string | null };
      const entry = backend.nativeModuleEntry();
      return entry && (req(entry) as { loadNative(): { addon: unknown } }).loadNative().addon ? entry : null;
    } catch {
      return null;
    }
  })();
  it.skipIf(nativeEntry == null)(
    'stuck inside a native kernel: the report names the kernel and its geometry',
    () => {
      const run = stalledRun('native');
      const report = expectStalledAtStep8(run);
      expect(report.kernel).toMatchObject({
        kernel: 'conv2d',
        geometry: [1, 256, 256, 512, 256, 256, 512, 3, 3, 1, 1, 1, 1, 1, 1],
      });
      expect(run.r.stderr).toMatch(/inside native kernel conv2d \[1,256,256,512,/);
    },
    120000,
  );
});
