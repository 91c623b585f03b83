import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { summarize } from './bench-common.js';
import { dumpSynthCity } from './bench-synthcity-dump.js';
import { PRESETS } from './config.js';
import { cacheDir, DEMO_EVAL_SPLIT, DEMO_RECIPE, DEMO_TEACHER_DATASET, demoConfig } from './demo.js';
import { ensureEngine } from './engine.js';
import { EXIT, RoadError } from './errors.js';
import { headlineMiou, SYNTHCITY_CLASS_IDS } from './evaluate.js';
import { cachedTeacher } from './pretrain.js';
import { writeMultiRunReport } from './report.js';
import { runTorchTwin } from './torch-twin.js';
import { trainRun } from './trainer.js';

/** Result of {@link benchSynthCity}. */
export interface SynthCityBench {
  seeds: number[];
  perPreset: Record<string, { miou: number[]; mean: number; sd: number; min: number; max: number }>;
  /** (road − source-only) / (oracle − source-only), from the means; null without those presets. */
  gapClosed: number | null;
  /** The same ratio per seed. */
  gapPerSeed: number[] | null;
  /** The paper's ordering: source-only < dst, source-only < spt, dst < road, spt < road (means). */
  ordering: Record<string, boolean>;
  /** The split every number is on (`target-test`; `target-val` only in selection mode). */
  split: string;
  /** The PyTorch twin's results on the same dumped images (first seed), why it did not run, or null (--no-torch). */
  torch: TorchSynthCity | { error: string } | null;
  markdown: string;
  seconds: number;
}

/** What bench/reference/road_synthcity.py prints. */
export interface TorchSynthCity {
  seeds: number[];
  miou: Record<string, number[]>;
  seconds: Record<string, number[]>;
  teacherAccuracy: number[];
  wallSeconds: number;
  torch: string;
}

/** Presets the PyTorch twin implements. */
export const TORCH_SYNTHCITY_PRESETS = ['source-only', 'dst', 'spt', 'road', 'oracle'];

/** Runs the PyTorch twin on a dump; an error object (with the reason) when it cannot run. */
function runSynthCityTwin(
  dataDir: string,
  seeds: number[],
  presets: string[],
  log: (l: string) => void,
): TorchSynthCity | { error: string } {
  return runTorchTwin<TorchSynthCity>(
    'road_synthcity.py',
    ['--data', dataDir, '--seeds', seeds.join(','), '--presets', presets.join(',')],
    log,
    (python, script) =>
      `bench synthcity: PyTorch twin: ${python} ${script} (seeds ${seeds.join(',')}, ${presets.join(',')})`,
  );
}

/** The SynthCity split every `road bench synthcity` number is measured on (nothing is tuned on it). */
export const SYNTHCITY_BENCH_EVAL = DEMO_EVAL_SPLIT;
/** The unlabeled pool the bench's teacher / initialisation is pretrained on: neither the source nor the target look. */
export const SYNTHCITY_BENCH_PRETRAIN = 'neutral';
/** The bench's teacher data: the labelled neutral pool (DEMO_RECIPE's `pretrain` says the task and steps). */
export const BENCH_TEACHER = {
  dataset: { ...DEMO_TEACHER_DATASET, options: { ...DEMO_TEACHER_DATASET.options } },
};
/**
 * Training settings of every preset on top of DEMO_RECIPE (the same for all presets), chosen on target-val only
 * (bench/results/*-selection-synthcity.json records the selection runs).
 */
export const BENCH_TRAIN: readonly string[] = [];

/**
 * `road bench synthcity`: the ROAD ablation (source-only, dst, spt, road, both HydraPlus forms, oracle) with the
 * demo's recipe, over several seeds (training seed; the SynthCity data stay the same), as mean ± sd (min–max).
 * Protocol: the teacher (and the students' initialisation) is trained with segmentation labels on the `neutral` pool,
 * never on target-look images, so `source-only` sees no target image at all; every number is on `target-test` (target-val is
 * left for selection and is not used here). `--set val=…` or `--set` of the teacher data are refused.
 */
export async function benchSynthCity(o: {
  seeds: number;
  presets: string[];
  quick?: boolean;
  backend?: string;
  outDir: string;
  log: (l: string) => void;
  quiet?: boolean;
  extra?: string[];
  /** Selection mode: evaluate on `target-val` instead (hyper-parameters are chosen there, never on target-test). */
  split?: 'target-test' | 'target-val';
  /** Run the PyTorch twin (bench/reference/road_synthcity.py) on the same images, first seed (default true). */
  torch?: boolean;
}): Promise<SynthCityBench> {
  const split = o.split ?? SYNTHCITY_BENCH_EVAL;
  if (split !== 'target-test' && split !== 'target-val')
    throw new RoadError(`bench synthcity: --split must be target-test or target-val, got ${split}`, EXIT.badInput);
  for (const p of o.presets) {
    if (!PRESETS[p])
      throw new RoadError(
        `unknown preset "${p}" in --presets (known: ${Object.keys(PRESETS).join(', ')})`,
        EXIT.badInput,
      );
  }
  const t0 = Date.now();
  const backend = o.backend ?? 'auto';
  const engine = await ensureEngine(backend, o.log);
  mkdirSync(o.outDir, { recursive: true });
  const recipe = o.quick ? DEMO_RECIPE.quick : DEMO_RECIPE.full;
  const seeds = Array.from({ length: o.seeds }, (_, i) => i + 1);
  const miou: Record<string, number[]> = Object.fromEntries(o.presets.map((p) => [p, []]));
  for (const e of o.extra ?? []) {
    if (/^val\b/.test(e))
      throw new RoadError(
        `bench synthcity evaluates on ${SYNTHCITY_BENCH_EVAL} (or --split target-val for selection); --set ${e} is refused`,
        EXIT.badInput,
      );
  }
  const extra = [
    ...(o.extra ?? []),
    ...BENCH_TRAIN,
    `val=${JSON.stringify({ kind: 'synthcity', split })}`,
    ...(o.quick ? [] : ['evalLimit=0']),
    ...(backend !== 'auto' ? [`backend=${backend}`] : []),
  ];
  for (const seed of seeds) {
    const teacher = await cachedTeacher(cacheDir(), {
      ...recipe.pretrain,
      ...BENCH_TEACHER,
      net: 'road-lite',
      seed,
      backend,
      log: o.log,
      quiet: o.quiet,
    });
    for (const preset of o.presets) {
      const config = demoConfig(preset, Boolean(o.quick), seed, extra);
      const r = await trainRun(config, {
        outDir: join(o.outDir, `seed-${seed}`, preset),
        teacherCheckpoint: teacher.checkpoint,
        log: o.log,
        quiet: o.quiet,
        gridRows: 2,
        reportLinks: [{ href: '../../report.html', label: '← bench report (all presets overlaid)' }],
      });
      const v = r.final ? headlineMiou(r.final) : Number.NaN;
      miou[preset].push(v);
      o.log(`bench synthcity: seed ${seed} ${preset}: mIoU ${(100 * v).toFixed(1)}`);
    }
  }
  const perPreset: SynthCityBench['perPreset'] = {};
  for (const p of o.presets) perPreset[p] = { miou: miou[p], ...summarize(miou[p]) };
  const m = (p: string) => perPreset[p]?.mean;
  const gapPerSeed =
    perPreset.road && perPreset['source-only'] && perPreset.oracle
      ? seeds.map((_, i) => (miou.road[i] - miou['source-only'][i]) / (miou.oracle[i] - miou['source-only'][i]))
      : null;
  const gapClosed =
    m('road') !== undefined && m('source-only') !== undefined && m('oracle') !== undefined
      ? (m('road')! - m('source-only')!) / (m('oracle')! - m('source-only')!)
      : null;
  const ordering: Record<string, boolean> = {};
  const cmp = (a: string, b: string) => {
    if (m(a) !== undefined && m(b) !== undefined) ordering[`${a} < ${b}`] = m(a)! < m(b)!;
  };
  cmp('source-only', 'dst');
  cmp('source-only', 'spt');
  cmp('dst', 'road');
  cmp('spt', 'road');
  let torch: SynthCityBench['torch'] = null;
  if (o.torch !== false) {
    const twinPresets = o.presets.filter((p) => TORCH_SYNTHCITY_PRESETS.includes(p));
    const dataDir = join(o.outDir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const c = demoConfig('road', Boolean(o.quick), 1, extra);
    await dumpSynthCity(dataDir, {
      labelled: recipe.pretrain.task === 'segmentation' ? [SYNTHCITY_BENCH_PRETRAIN] : [],
      splits: ['source', 'target-train', split as 'target-test' | 'target-val', SYNTHCITY_BENCH_PRETRAIN],
      dataSeed: c.dataSeed,
      limits: o.quick
        ? { source: 64, 'target-train': 64, [split]: 24, neutral: 64 }
        : { neutral: recipe.pretrain.steps * recipe.pretrain.batch },
      classIds: SYNTHCITY_CLASS_IDS,
      recipe: {
        evalSplit: split,
        pretrain: recipe.pretrain,
        train: {
          steps: c.steps,
          batchSource: c.batch.source,
          batchTarget: c.batch.target,
          crop: c.crop,
          lr: c.optimizer.lr,
          bn: c.net.bn,
        },
        lambda: c.lambda,
        grid: c.grid,
      },
    });
    torch = twinPresets.length
      ? runSynthCityTwin(dataDir, [seeds[0]], twinPresets, o.log)
      : { error: `none of ${o.presets.join(', ')} has a PyTorch twin` };
    if ('error' in torch) o.log(`bench synthcity: PyTorch twin did not run: ${torch.error}`);
  }
  const pct = (v: number) => (100 * v).toFixed(1);
  const twin = torch && !('error' in torch) ? torch : null;
  const lines = [
    `# road bench synthcity${o.quick ? ' (quick)' : ''}`,
    '',
    `SynthCity source → ${split} (${o.quick ? 'first images' : `all ${split === 'target-val' ? 200 : 500} images`}; ${split === 'target-val' ? 'SELECTION MODE: target-val, not a reported number' : 'nothing is tuned on it'}), teacher/init pretrained (${recipe.pretrain.task}, ${recipe.pretrain.steps} steps) on the ${SYNTHCITY_BENCH_PRETRAIN} pool (neither look), road-lite, ${seeds.length} seed(s) (${seeds.join(', ')}), backend ${engine.name}. mIoU (%) over the 8 SynthCity classes.`,
    '',
    `| preset | mean ± sd | min – max | per seed |${twin ? ` PyTorch twin (seed ${twin.seeds[0]}) | ours seed ${twin.seeds[0]} − twin |` : ''}`,
    `|:---|---:|---:|:---|${twin ? '---:|---:|' : ''}`,
    ...o.presets.map((p) => {
      const s = perPreset[p];
      const name = p === 'oracle' ? 'oracle (UPPER BOUND: target labels)' : p;
      const t = twin?.miou[p]?.[0];
      const cols = twin ? (t === undefined ? ' – | – |' : ` ${pct(t)} | ${(100 * (s.miou[0] - t)).toFixed(1)} |`) : '';
      return `| ${name} | ${pct(s.mean)} ± ${pct(s.sd)} | ${pct(s.min)} – ${pct(s.max)} | ${s.miou.map(pct).join(', ')} |${cols}`;
    }),
    ...(torch && 'error' in torch ? ['', `PyTorch twin: did not run (${torch.error}).`] : []),
    ...(twin
      ? [
          '',
          `PyTorch twin: bench/reference/road_synthcity.py (torch ${twin.torch}) on the same dumped images and recipe (its own random crops and init), teacher accuracy ${twin.teacherAccuracy.map((a) => (100 * a).toFixed(0)).join(', ')}%, ${twin.wallSeconds.toFixed(0)} s.`,
        ]
      : []),
    '',
    gapClosed === null
      ? ''
      : `Gap closed by road on ${split}: (road − source-only) / (oracle − source-only) = ${(100 * gapClosed).toFixed(1)}% of the means${gapPerSeed ? ` (per seed: ${gapPerSeed.map((g) => `${(100 * g).toFixed(1)}%`).join(', ')})` : ''}; target ≥ 40%: ${gapClosed >= 0.4 ? 'met ✓' : 'not met ✗'}.`,
    '',
    Object.keys(ordering).length
      ? `Paper ordering: ${Object.entries(ordering)
          .map(([k, v]) => `${k} ${v ? '✓' : '✗'}`)
          .join(', ')}.`
      : '',
  ];
  const seconds = (Date.now() - t0) / 1000;
  lines.push(
    '',
    `Wall time ${seconds.toFixed(0)} s (load average at the end: ${loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}; the machine may be shared).`,
  );
  const markdown = lines.join('\n');
  const result: SynthCityBench = { seeds, perPreset, gapClosed, gapPerSeed, ordering, split, torch, markdown, seconds };
  writeFileSync(join(o.outDir, 'bench-synthcity.md'), `${markdown}\n`);
  writeFileSync(join(o.outDir, 'bench-synthcity.json'), JSON.stringify(result, null, 2));
  // report.html: the table above and every run's curves overlaid (one colour per preset), linking each run's report
  writeMultiRunReport(o.outDir, {
    title: 'road bench synthcity',
    markdown,
    runs: seeds.flatMap((seed) =>
      o.presets.map((p) => ({ name: `${p} seed ${seed}`, group: p, seed, dir: join(o.outDir, `seed-${seed}`, p) })),
    ),
    engine,
  });
  return result;
}

export { DANN_PAPER_DIGITS, summarize } from './bench-common.js';
export { benchDigits, type DigitsBench } from './bench-digits.js';
