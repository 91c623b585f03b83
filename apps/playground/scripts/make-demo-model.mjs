#!/usr/bin/env node
// Makes the Segment tab's bundled SynthCity demo model (demo-model/: model.json, weight shard, road-web.json): a short
// source-only run of road-lite on SynthCity (the demo recipe's batch and crop, fewer steps), exported with
// `road export --web`. Kept in git (≈ 0.6 MB); rerun after a change to road-lite or the export format.
//
//   node apps/playground/scripts/make-demo-model.mjs [--steps N]   (after pnpm build)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..', '..');
const cli = join(root, 'apps', 'trainer', 'dist', 'cli.js');
const i = process.argv.indexOf('--steps');
const steps = i > 0 ? Number(process.argv[i + 1]) : 400;
const run = mkdtempSync(join(tmpdir(), 'road-playground-demo-'));
const road = (...args) => {
  const r = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`road ${args.join(' ')} failed (exit ${r.status})`);
};
road(
  'train',
  '--config',
  'source-only',
  '--out',
  run,
  '--set',
  `steps=${steps}`,
  '--set',
  'batch.source=4',
  '--set',
  'crop=[64,128]',
  '--set',
  'optimizer.lr=0.002',
  '--set',
  'optimizer.lrSchedule=poly',
  '--set',
  'evalEvery=0',
  '--set',
  'evalLimit=24',
  '--set',
  'seed=1',
);
road('export', '--web', run, '--out', join(here, '..', 'demo-model'));
rmSync(run, { recursive: true, force: true });
