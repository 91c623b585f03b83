import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT } from './errors.js';

// A training run as a batch job, through the built CLI in child processes (apps/trainer/dist: the root `pnpm test`
// builds it): SIGTERM → checkpoint + exit 75 → the same command continues; kill -9 at random moments (checkpoints
// are written every step, so kills land inside checkpoint writes too) → the same command continues; either way
// the final weights are byte-identical to an uninterrupted run's (cpu).
// ROAD_KILL_TEST_KILLS=N (default 3) sets the number of kill -9s; ROAD_KILL_TEST_SEED the seed.
const cli = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli.js');
const STEPS = 40;
const kills = Number(process.env.ROAD_KILL_TEST_KILLS ?? 3);
const seed = Number(process.env.ROAD_KILL_TEST_SEED ?? 7);

const trainArgs = (out: string) => [
  cli,
  'train',
  '-c',
  'source-only',
  ...[
    'backend=cpu',
    'net.width=0.25',
    'crop=[16,32]',
    'batch.source=1',
    'evalLimit=1',
    `steps=${STEPS}`,
    'checkpointEvery=1',
    'keepLast=2',
  ].flatMap((s) => ['--set', s]),
  '--out',
  out,
  '--resume-if-exists',
  '-q',
];

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}
function start(out: string): { child: ChildProcess; done: Promise<Exit> } {
  const child = spawn(process.execPath, trainArgs(out), { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => {
    stdout += d;
  });
  child.stderr?.on('data', (d) => {
    stderr += d;
  });
  const done = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, done };
}
const finalWeights = (run: string) =>
  readFileSync(join(run, 'checkpoints', `step-${String(STEPS).padStart(7, '0')}`, 'weights.bin'));
const stepsLogged = (run: string) => {
  const p = join(run, 'metrics.jsonl');
  return existsSync(p)
    ? readFileSync(p, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"loss_total"')).length
    : 0;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('road train as a batch job', () => {
  const dir = mkdtempSync(join(tmpdir(), 'road-batch-'));
  let reference: Buffer;
  let refSeconds = 5;

  it('uninterrupted reference run', async () => {
    expect(existsSync(cli), `${cli} missing: build the trainer first`).toBe(true);
    const t0 = Date.now();
    const r = await start(join(dir, 'ref')).done;
    refSeconds = (Date.now() - t0) / 1000;
    expect(r.code, r.stderr).toBe(0);
    reference = finalWeights(join(dir, 'ref'));
    expect(existsSync(join(dir, 'ref', 'run.lock'))).toBe(false);
  }, 120000);

  it('SIGTERM: finishes the step, checkpoints, exits 75; the same command continues to identical weights', async () => {
    const run = join(dir, 'term');
    const first = start(run);
    while (stepsLogged(run) < 3) {
      if (first.child.exitCode !== null) break;
      await sleep(50);
    }
    first.child.kill('SIGTERM');
    const r = await first.done;
    expect(r.code, r.stderr).toBe(EXIT.resumable);
    expect(r.stderr).toMatch(/SIGTERM: finishing step \d+, then writing a checkpoint/);
    expect(r.stderr).toMatch(/road: SIGTERM: stopped at step (\d+) with a checkpoint; exit code 75 means resumable/);
    const stoppedAt = Number(/stopped at step (\d+) with a checkpoint/.exec(r.stderr)?.[1]);
    expect(stoppedAt).toBeGreaterThanOrEqual(3);
    expect(stoppedAt).toBeLessThan(STEPS);
    expect(JSON.parse(readFileSync(join(run, 'checkpoints', 'latest.json'), 'utf8')).step).toBe(stoppedAt);
    const again = await start(run).done;
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toContain('holds this run already: resuming it');
    expect(finalWeights(run).equals(reference)).toBe(true);
  }, 180000);

  it(`kill -9 at ${kills} seeded random moments (seed ${seed}): every rerun continues, final weights identical`, async () => {
    let s = seed >>> 0 || 1;
    const random = () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 4294967296;
    };
    let tried = 0;
    let landed = 0; // kills that hit a running trainer (not one that had already finished)
    let runs = 0;
    const resumedFrom: number[] = [];
    // Whole runs, one after another, each killed and rerun until it finishes, until all the kills are spent.
    while (tried < kills) {
      const run = join(dir, `kill-${runs++}`);
      for (;;) {
        const p = start(run);
        if (tried < kills) {
          tried++;
          // anywhere from start-up (loading tfjs) to the end of the run (as long as the reference run took)
          await Promise.race([p.done, sleep(200 + random() * refSeconds * 1000)]);
          if (p.child.exitCode === null && p.child.signalCode === null) {
            p.child.kill('SIGKILL');
            landed++;
          }
        }
        const r = await p.done;
        const m = /resuming .* from step (\d+)/.exec(r.stderr);
        if (m) resumedFrom.push(Number(m[1]));
        if (r.signal === 'SIGKILL') continue;
        expect(r.code, r.stderr).toBe(0);
        break;
      }
      expect(finalWeights(run).equals(reference), `${run}: final weights differ from the uninterrupted run`).toBe(true);
      // no temporary folder or stale lock left behind
      const left = readdirSync(join(run, 'checkpoints')).filter((f) => f.startsWith('.tmp-') || f.startsWith('.old-'));
      expect(left).toEqual([]);
      expect(existsSync(join(run, 'run.lock'))).toBe(false);
    }
    process.stderr.write(
      `kill -9 test: ${tried} kills tried, ${landed} landed on a running trainer, all survived in ${runs} runs ` +
        `(each ended byte-identical); resumed from steps [${resumedFrom.join(', ')}]\n`,
    );
    expect(landed).toBeGreaterThan(0);
  }, 1800000);
});
