import { mkdirSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CITYSCAPES_PALETTE } from '@road/datasets';
import { loadConfig, type TrainConfig } from './config.js';
import { ensureEngine } from './engine.js';
import { type EvalResult, headlineMiou, sideBySide } from './evaluate.js';
import { loadNetFromCheckpoint } from './predict.js';
import { cachedTeacher, type PretrainOptions } from './pretrain.js';
import { type GridRow, imageGridPng, writeDemoReport } from './report.js';
import { predictionRows, type TrainSummary, trainRun } from './trainer.js';

/**
 * The demo's training recipe on SynthCity (160×80 images, road-lite, default backend). Chosen so that the whole
 * demo (teacher pretraining included, when not cached) fits in 10 minutes on a 2-core CPU with the wasm backend;
 * `quick` is the CI smoke version (< 2 minutes; its numbers mean little). Tuned on the training recipe only
 * (steps, lr, λ, crop, teacher pretraining) — never on SynthCity's target look.
 */
export const DEMO_RECIPE = {
  full: {
    // Supervised segmentation on the labelled neutral pool, 1500 steps (chosen on target-val: distillation helps only
    // when the teacher's features are semantic; the 300-step rotation teacher's were not — see bench/results).
    pretrain: { task: 'segmentation', steps: 1500, batch: 4, crop: 64, lr: 0.002 } satisfies Partial<PretrainOptions>,
    train: [
      'steps=800',
      'batch.source=4',
      'batch.target=4',
      'crop=[64,128]',
      'optimizer.lr=0.002',
      'optimizer.lrSchedule=poly',
      'evalEvery=0',
    ],
  },
  quick: {
    pretrain: { task: 'segmentation', steps: 20, batch: 2, crop: 32, lr: 0.002 } satisfies Partial<PretrainOptions>,
    train: [
      'steps=20',
      'batch.source=2',
      'batch.target=2',
      'crop=[32,64]',
      'optimizer.lr=0.002',
      'optimizer.lrSchedule=poly',
      'evalLimit=24',
      'evalEvery=0',
    ],
  },
} as const;

/**
 * Marks a `--quick` result table as what it is: the header's first cell and a last row say it is a smoke test of
 * `steps` training steps whose numbers mean nothing (the table is what people copy; the label travels with it).
 */
export function labelSmokeTest(table: string, steps: number): string {
  const lines = table.trimEnd().split('\n');
  const cols = (lines[0].match(/\|/g)?.length ?? 2) - 1;
  lines[0] = lines[0].replace(/^\| class \|/, `| class — SMOKE TEST (--quick, ${steps} steps) |`);
  lines.push(
    `| *smoke test: ${steps} training steps check that the pipeline runs; these numbers mean nothing* |${' |'.repeat(cols - 1)}`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * The demo's (and `road bench synthcity`'s) clean protocol: the teacher / initialisation is pretrained (supervised
 * segmentation, DEMO_RECIPE's `pretrain`) on SynthCity's labelled `neutral` pool — neither the source nor the target
 * look: the stand-in for a labelled ImageNet-like corpus — and every reported number is on `target-test` (nothing is
 * tuned on it; `target-val` is for selection).
 */
export const DEMO_TEACHER_DATASET = { kind: 'synthcity', split: 'neutral', options: { labels: true } } as const;
export const DEMO_EVAL_SPLIT = 'target-test';

/** Where cached teachers live (`ROAD_CACHE` or ~/.cache/road). */
export function cacheDir(): string {
  return process.env.ROAD_CACHE ?? join(homedir(), '.cache', 'road');
}

/** Result of {@link runDemo}. */
export interface DemoResult {
  outDir: string;
  table: string;
  sourceOnly: EvalResult;
  road: EvalResult;
  /** road − source-only, mIoU points. */
  gainPoints: number;
  /** `--quick`: a smoke test (a few steps); its numbers mean nothing, and the table says so. */
  smokeTest: boolean;
  seconds: { pretrain: number; sourceOnly: number; road: number; total: number };
  teacher: { checkpoint: string; cached: boolean; accuracy: number | null };
  backend: string;
}

/** Builds the demo configs (exported for the benchmark and tests). */
export function demoConfig(preset: string, quick: boolean, seed: number, extra: string[] = []): TrainConfig {
  const recipe = quick ? DEMO_RECIPE.quick : DEMO_RECIPE.full;
  return loadConfig(preset, [...recipe.train, `seed=${seed}`, ...extra]);
}

/**
 * `road demo`: on SynthCity, (pretrains or reuses) the teacher pretrained on the labelled neutral pool, trains
 * `source-only` and `road` with the same recipe and seed, evaluates both on `target-test`, prints a side-by-side per-class table and
 * writes a report with both models' predictions.
 */
export async function runDemo(options: {
  quick?: boolean;
  outDir: string;
  seed?: number;
  backend?: string;
  log?: (line: string) => void;
  quiet?: boolean;
  noCache?: boolean;
  extra?: string[];
}): Promise<DemoResult> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const quick = options.quick ?? false;
  const seed = options.seed ?? 1;
  const t0 = Date.now();
  const backend = options.backend ?? 'auto';
  const engine = await ensureEngine(backend, log);
  mkdirSync(options.outDir, { recursive: true });
  const recipe = quick ? DEMO_RECIPE.quick : DEMO_RECIPE.full;
  log(`demo${quick ? ' (quick)' : ''}: SynthCity source → target, road-lite, seed ${seed}, backend ${engine.name}`);
  const tp = Date.now();
  const teacher = await cachedTeacher(options.noCache ? join(options.outDir, 'teacher-cache') : cacheDir(), {
    ...recipe.pretrain,
    dataset: { ...DEMO_TEACHER_DATASET, options: { ...DEMO_TEACHER_DATASET.options } },
    net: 'road-lite',
    seed,
    backend,
    log,
    quiet: options.quiet,
  });
  const pretrainSeconds = (Date.now() - tp) / 1000;
  log(
    teacher.cached
      ? `teacher: cached ${teacher.checkpoint}`
      : `teacher: pretrained in ${pretrainSeconds.toFixed(0)} s (${recipe.pretrain.task} accuracy ${teacher.accuracy === null ? '?' : (100 * teacher.accuracy).toFixed(1)}%)`,
  );
  const extra = [
    `val=${JSON.stringify({ kind: 'synthcity', split: DEMO_EVAL_SPLIT })}`,
    ...(options.extra ?? []),
    ...(backend !== 'auto' ? [`backend=${backend}`] : []),
  ];
  const runs: Record<string, TrainSummary> = {};
  for (const preset of ['source-only', 'road'] as const) {
    const config = demoConfig(preset, quick, seed, extra);
    runs[preset] = await trainRun(config, {
      outDir: join(options.outDir, preset),
      teacherCheckpoint: teacher.checkpoint,
      log,
      quiet: options.quiet,
      gridRows: 4,
      reportLinks: [{ href: '../report.html', label: '← demo report (both runs side by side)' }],
    });
  }
  const so = runs['source-only'].final as EvalResult;
  const road = runs.road.final as EvalResult;
  const sideBySideTable = sideBySide([
    { name: 'source-only', result: so },
    { name: 'road', result: road },
  ]);
  const table = quick ? labelSmokeTest(sideBySideTable, runs.road.steps) : sideBySideTable;
  const gainPoints = 100 * (headlineMiou(road) - headlineMiou(so));
  // Combined qualitative grid: target image | source-only | road | ground truth.
  const a = loadNetFromCheckpoint(join(options.outDir, 'source-only'));
  const b = loadNetFromCheckpoint(join(options.outDir, 'road'));
  const gridTitles = ['target image', 'source-only', 'road', 'ground truth'];
  let gridPng: Uint8Array | null = null;
  let gridRows: GridRow[] = [];
  try {
    const rows = await predictionRows([a.net, b.net], demoConfig('road', quick, seed, extra), 6);
    gridRows = rows;
    gridPng = await imageGridPng(
      rows,
      gridTitles,
      CITYSCAPES_PALETTE as readonly (readonly number[])[],
      join(options.outDir, 'predictions.png'),
    );
  } finally {
    a.net.dispose();
    b.net.dispose();
  }
  const seconds = {
    pretrain: pretrainSeconds,
    sourceOnly: runs['source-only'].seconds,
    road: runs.road.seconds,
    total: (Date.now() - t0) / 1000,
  };
  const md = [
    `# road demo${quick ? ' (quick)' : ''}`,
    '',
    `SynthCity source → ${DEMO_EVAL_SPLIT} (${so.images} images), road-lite, seed ${seed}, backend ${engine.name}; teacher/init pretrained (supervised segmentation) on the labelled neutral pool (neither look).`,
    '',
    table,
    `ROAD − source-only (mIoU over the 8 SynthCity classes): ${gainPoints >= 0 ? '+' : ''}${gainPoints.toFixed(1)} mIoU points${quick ? ` (smoke test: ${runs.road.steps} steps, not a result; run \`road demo\` without --quick)` : ''}.`,
    '',
    `Wall time: teacher ${teacher.cached ? 'cached' : `${seconds.pretrain.toFixed(0)} s`}, source-only ${seconds.sourceOnly.toFixed(0)} s, road ${seconds.road.toFixed(0)} s, total ${seconds.total.toFixed(0)} s.`,
    '',
    '![predictions](predictions.png)',
    '',
    'Per-run reports: [source-only](source-only/report.html), [road](road/report.html).',
  ].join('\n');
  writeFileSync(join(options.outDir, 'demo.md'), `${md}\n`);
  const gainLine = `ROAD − source-only (mIoU over the 8 SynthCity classes): ${gainPoints >= 0 ? '+' : ''}${gainPoints.toFixed(1)} mIoU points.`;
  writeDemoReport(options.outDir, {
    title: `road demo${quick ? ' (quick)' : ''}`,
    ...(quick
      ? {
          banner: `SMOKE TEST (--quick, ${runs.road.steps} training steps): it checks that the pipeline runs; these numbers mean nothing. Run \`road demo\` without --quick for a result.`,
        }
      : {}),
    intro: [
      `SynthCity source → target-val (${so.images} images), road-lite, seed ${seed}, backend ${engine.name}. Both runs use the same recipe and seed; road adds target-guided distillation and spatial-aware adaptation.`,
    ],
    columns: [
      { name: 'source-only', result: so },
      { name: 'road', result: road },
    ],
    outro: [
      gainLine,
      `Wall time: teacher ${teacher.cached ? 'cached' : `${seconds.pretrain.toFixed(0)} s`}, source-only ${seconds.sourceOnly.toFixed(0)} s, road ${seconds.road.toFixed(0)} s, total ${seconds.total.toFixed(0)} s.`,
    ],
    ...(gridPng ? { grid: { png: gridPng, titles: gridTitles, rows: gridRows } } : {}),
    palette: CITYSCAPES_PALETTE as readonly (readonly number[])[],
    runs: [
      { name: 'source-only', dir: join(options.outDir, 'source-only') },
      { name: 'road', dir: join(options.outDir, 'road') },
    ],
    engine,
  });
  const result: DemoResult = {
    outDir: options.outDir,
    table,
    sourceOnly: so,
    road,
    gainPoints,
    smokeTest: quick,
    seconds,
    teacher: { checkpoint: teacher.checkpoint, cached: teacher.cached, accuracy: teacher.accuracy },
    backend: engine.name,
  };
  writeFileSync(
    join(options.outDir, 'demo.json'),
    JSON.stringify({ ...result, sourceOnly: headlineMiou(so), road: headlineMiou(road) }, null, 2),
  );
  return result;
}
