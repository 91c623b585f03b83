#!/usr/bin/env node
// Compiles test/pool-stress.cc against the thread pool (this tree's, or the one at a git revision) and runs it on a
// matrix of pool sizes and competing busy threads. Every configuration runs in its own process under a time limit,
// so a hang or a crash is a result, not a stuck test.
//
//   node scripts/pool-stress.mjs [--seconds S] [--seeds N] [--threads 2,4] [--busy 0,1] [--rev GITREV] [--json]
//
// --rev builds the pool of that revision instead (e.g. --rev ac2faed shows the race fixed after it).
// Exit 0 when every run passed, 1 otherwise; --json prints one JSON object (the runs) instead of the table.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function buildStress({ rev, cxx = process.env.CXX || 'g++' } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'road-pool-stress-'));
  mkdirSync(join(dir, 'src'));
  mkdirSync(join(dir, 'test'));
  for (const f of ['thread-pool.h', 'thread-pool.cc']) {
    let text;
    if (rev) {
      const r = spawnSync('git', ['show', `${rev}:packages/native/src/${f}`], { cwd: root, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git show ${rev}:packages/native/src/${f} failed: ${r.stderr.trim()}`);
      text = r.stdout;
    } else {
      text = readFileSync(join(root, 'src', f), 'utf8');
    }
    writeFileSync(join(dir, 'src', f), text);
  }
  writeFileSync(join(dir, 'test', 'pool-stress.cc'), readFileSync(join(root, 'test', 'pool-stress.cc'), 'utf8'));
  const exe = join(dir, 'pool-stress');
  const r = spawnSync(
    cxx,
    [
      '-O2',
      '-std=c++17',
      '-pthread',
      join(dir, 'test', 'pool-stress.cc'),
      join(dir, 'src', 'thread-pool.cc'),
      '-o',
      exe,
    ],
    { encoding: 'utf8' },
  );
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${cxx} failed to build the pool stress harness: ${(r.error?.message ?? r.stderr).trim()}`);
  }
  return { exe, dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Runs one configuration in a child process; a hang past the harness's own watchdog is cut by `timeout`. */
export function runStress(exe, { threads, busy, seconds, seed, hangMs = 5000, maxTasks = 64, gapUs = 120 }) {
  const args = [
    '--threads',
    threads,
    '--busy',
    busy,
    '--seconds',
    seconds,
    '--seed',
    seed,
    '--hang-ms',
    hangMs,
    '--max-tasks',
    maxTasks,
    '--gap-us',
    gapUs,
  ].map(String);
  const limitMs = seconds * 1000 + hangMs + 30000;
  const t0 = performance.now();
  const r = spawnSync(exe, args, { encoding: 'utf8', timeout: limitMs, killSignal: 'SIGKILL' });
  const wallS = (performance.now() - t0) / 1000;
  const line = r.stdout.trim().split('\n').filter(Boolean).pop() ?? '';
  let parsed = null;
  try {
    parsed = JSON.parse(line);
  } catch {}
  let verdict;
  if (r.signal === 'SIGKILL' && r.error) verdict = `hang (killed after ${limitMs} ms)`;
  else if (r.signal) verdict = `crash (${r.signal})`;
  else if (r.status === 0 && parsed?.ok) verdict = 'ok';
  else verdict = parsed?.failure ? parsed.failure : `exit ${r.status}`;
  return {
    threads,
    busy,
    seconds,
    seed,
    ok: verdict === 'ok',
    verdict,
    jobs: parsed?.jobs ?? null,
    tasks: parsed?.tasks ?? null,
    wallS,
  };
}

async function main() {
  const { values } = parseArgs({
    options: {
      seconds: { type: 'string', default: '5' },
      seeds: { type: 'string', default: '1' },
      threads: { type: 'string', default: '2,4' },
      busy: { type: 'string', default: '0,1' },
      rev: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const list = (s) => s.split(',').map((x) => Number.parseInt(x, 10));
  const { exe, dispose } = buildStress({ rev: values.rev });
  const runs = [];
  try {
    for (let seed = 1; seed <= Number(values.seeds); seed++)
      for (const threads of list(values.threads))
        for (const busy of list(values.busy)) {
          const r = runStress(exe, { threads, busy, seconds: Number(values.seconds), seed });
          runs.push(r);
          if (!values.json)
            console.log(
              `pool ${values.rev ?? 'tree'}  threads ${threads}  busy ${busy}  seed ${seed}: ${r.verdict}` +
                `  (${r.jobs ?? '?'} jobs, ${r.tasks ?? '?'} tasks, ${r.wallS.toFixed(1)} s)`,
            );
        }
  } finally {
    dispose();
  }
  const failed = runs.filter((r) => !r.ok).length;
  const jobs = runs.reduce((s, r) => s + (r.jobs ?? 0), 0);
  if (values.json) console.log(JSON.stringify({ rev: values.rev ?? null, runs }));
  else console.log(`pool stress: ${runs.length - failed} of ${runs.length} runs clean, ${jobs} jobs in all`);
  process.exit(failed === 0 ? 0 : 1);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
