import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error plain ESM script without types
// biome-ignore lint/correctness/useImportExtensions: a plain .mjs script file keeps its own extension
import { buildStress, runStress } from '../scripts/pool-stress.mjs';

// The thread pool under random job sizes, task costs and descheduling (test/pool-stress.cc): every task of every
// job must run exactly once and every parallel_for must return. The default suite runs ~2 s per configuration;
// ROAD_POOL_STRESS_SECONDS=60 (and ROAD_POOL_STRESS_SEEDS=N) makes it the long run.
const cxx = process.env.CXX || 'g++';
const hasCompiler = spawnSync(cxx, ['--version']).status === 0;
const seconds = Number(process.env.ROAD_POOL_STRESS_SECONDS ?? 2);
const seeds = Number(process.env.ROAD_POOL_STRESS_SEEDS ?? 1);

type Run = { ok: boolean; verdict: string; jobs: number | null; tasks: number | null };

describe.skipIf(!hasCompiler)('ThreadPool stress (needs a C++ compiler)', () => {
  const built = hasCompiler ? (buildStress() as { exe: string; dispose: () => void }) : null;
  afterAll(() => built?.dispose());

  const configs = [
    { threads: 2, busy: 0 },
    { threads: 2, busy: 1 },
    { threads: 3, busy: 1 },
    { threads: 8, busy: 0 },
  ];
  for (const c of configs)
    for (let seed = 1; seed <= seeds; seed++)
      it(
        `${c.threads} threads, ${c.busy} busy thread(s), seed ${seed}: every task runs once, no hang`,
        () => {
          const r = runStress(built?.exe, { ...c, seconds, seed, hangMs: 5000 }) as Run;
          expect(r.verdict).toBe('ok');
          // it really stressed the pool: thousands of jobs per second even on a loaded 2-core machine
          expect(r.jobs ?? 0).toBeGreaterThan(2000 * seconds);
        },
        (seconds + 40) * 1000,
      );
});
