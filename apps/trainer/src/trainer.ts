import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CITYSCAPES_PALETTE, normalizeImage } from '@road/datasets';
import * as tf from '@tensorflow/tfjs-core';
import {
  type CheckpointFs,
  checkNetIdentity,
  configHash,
  latestCheckpoint,
  listStepCheckpoints,
  newestGoodCheckpoint,
  nodeCheckpointFs,
  pruneCheckpoints,
  recoverCheckpointDir,
  restoreSlots,
  type WeightSlot,
  writeCheckpoint,
} from './checkpoint.js';
import { configToJSON, type TrainConfig, validateConfig } from './config.js';
import { type Batch, type BatchStream, datasetNormalization, disposeBatch, openRef, trainStream } from './data.js';
import { type EngineInfo, ensureEngine } from './engine.js';
import { EXIT, NonFiniteLossError, RoadError } from './errors.js';
import { type EvalResult, evaluateNet, headlineMiou, writeEval } from './evaluate.js';
import { buildParts, netSlots, optimizerState, type RunParts, restoreOptimizer, variableSlots } from './parts.js';
import { createProgress } from './progress.js';
import { type GridRow, type MetricsRow, writeRunReport } from './report.js';
import type { ReportLink } from './report-page.js';
import { ensureRunDir, MetricsLog, readMetrics, writeFileAtomic } from './run-dir.js';
import { acquireRunLock } from './run-lock.js';
import { tfEventsWriter } from './tfevents.js';
import { createTrainStep, type StepResult } from './train-step.js';
import { startWatchdog, type Watchdog, type WatchdogOptions } from './watchdog.js';

/** Options of {@link trainRun} beyond the config. */
export interface TrainRunOptions {
  /** Run folder (created; for resume: the existing run). */
  outDir: string;
  /** Continue the run in `outDir` from its latest checkpoint. */
  resume?: boolean;
  /**
   * Resume when `outDir` already holds this run (its config.json), else start it: a requeued batch job reruns
   * the same command. The config given must equal the stored one except `steps`.
   */
  resumeIfExists?: boolean;
  /**
   * Handle SIGTERM/SIGINT (default false; `road train` turns it on): the first finishes the current step, writes a
   * checkpoint and returns with `interrupted` set; a second exits at once (checkpoints are atomic, nothing is
   * half-written).
   */
  handleSignals?: boolean;
  /** Teacher checkpoint overriding config.teacher.checkpoint. */
  teacherCheckpoint?: string | null;
  log?: (line: string) => void;
  /** No progress bar (lines still go to `log`). */
  quiet?: boolean;
  /** Stop after this step with a checkpoint, as if interrupted (time-sliced machines; resume tests). */
  stopAfter?: number;
  /** Write report.html (+ predictions.png) at the end (default true). */
  report?: boolean;
  /** Links the run's report.html shows to related reports (e.g. the demo's), relative to the run folder. */
  reportLinks?: ReportLink[];
  /** Rows of the qualitative grid in the report (default 4). */
  gridRows?: number;
  /** File operations for checkpoints (tests inject a failing writer to simulate a full disk). */
  checkpointFs?: CheckpointFs;
  /**
   * Step watchdog ({@link startWatchdog}): on by default; `false` turns it off (so does ROAD_WATCHDOG=0). A phase
   * that runs far past its recent median ends the process with exit code 75 (resumable).
   */
  watchdog?: Omit<WatchdogOptions, 'runDir'> | false;
  /** Called before each step with its number (after the batch is loaded): progress hooks, fault injection. */
  beforeStep?: (step: number) => void | Promise<void>;
}

/** What a finished (or stopped) run returns. */
export interface TrainSummary {
  runDir: string;
  steps: number;
  /** Step reached (== config.steps unless stopped early). */
  step: number;
  stopped: boolean;
  final: EvalResult | null;
  best: { step: number; miou: number } | null;
  seconds: number;
  imagesPerSec: number;
  backend: string;
  /** The signal that stopped the run (a checkpoint of `step` was written), or null. */
  interrupted: NodeJS.Signals | null;
}

interface RunState {
  best: { step: number; miou: number } | null;
  evals: { step: number; miou: number }[];
}

/**
 * Trains one run: data streams, the ROAD training step ({@link createTrainStep}), evaluation on the target
 * validation split, checkpoints (atomic; last K + best by val mIoU), metrics.jsonl, report.html.
 * With `resume`, restores weights, optimizer state, step and data-iterator positions and continues; on cpu/wasm
 * the result equals the uninterrupted run bit for bit.
 */
export async function trainRun(configIn: TrainConfig | null, options: TrainRunOptions): Promise<TrainSummary> {
  const log = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const ckFs = options.checkpointFs ?? nodeCheckpointFs;
  const paths = ensureRunDir(options.outDir);
  const lock = acquireRunLock(paths.dir);
  try {
    return await trainLocked(configIn, options, paths, log, ckFs);
  } finally {
    lock.release();
  }
}

async function trainLocked(
  configIn: TrainConfig | null,
  optionsIn: TrainRunOptions,
  paths: ReturnType<typeof ensureRunDir>,
  log: (line: string) => void,
  ckFs: CheckpointFs,
): Promise<TrainSummary> {
  for (const line of recoverCheckpointDir(paths.checkpoints)) log(line);
  let options = optionsIn;
  // A run's config records the teacher actually used (resolved), so that a resumed run finds it again; a rerun
  // with --resume-if-exists compares against that record, like with like.
  if (!options.resume && configIn && options.teacherCheckpoint)
    configIn = { ...configIn, teacher: { ...configIn.teacher, checkpoint: resolve(options.teacherCheckpoint) } };
  if (options.resumeIfExists && !options.resume && existsSync(paths.config)) {
    if (listStepCheckpoints(paths.checkpoints).length > 0) {
      log(`${paths.dir} holds this run already: resuming it`);
      options = { ...options, resume: true };
    } else {
      log(`${paths.dir} holds a run that wrote no checkpoint yet: starting it again`);
      rmSync(paths.metrics, { force: true });
    }
  }
  let config: TrainConfig;
  if (options.resume) {
    if (!existsSync(paths.config))
      throw new RoadError(`--resume ${options.outDir}: no config.json there (not a run folder)`, EXIT.badInput);
    const stored = validateConfig(JSON.parse(readFileSync(paths.config, 'utf8')), `run config ${paths.config}`);
    if (configIn) {
      // Only the length of a run may change on resume: anything else would make the resumed run a different
      // experiment than its checkpoints and metrics say. Refuse, naming the keys, rather than ignore them.
      // `auto` settings were resolved when the run started (the stored config holds what was used): compare
      // an `auto` with whatever it became.
      const incoming =
        configIn.net.normalization === 'auto'
          ? { ...configIn, net: { ...configIn.net, normalization: stored.net.normalization } }
          : configIn;
      const changed = changedKeys(stored, { ...incoming, steps: stored.steps });
      if (changed.length)
        throw new RoadError(
          `--resume ${options.outDir}: only 'steps' can be changed when resuming; --set also changes ${changed.join(', ')} (start a new run for that)`,
          EXIT.badInput,
        );
    }
    config = configIn ? { ...stored, steps: configIn.steps } : stored;
  } else {
    if (!configIn) throw new Error('trainRun: a config is needed unless resuming');
    config = configIn;
  }
  const engine = await ensureEngine(config.backend, log);
  const t0 = Date.now();

  // Data and label space.
  const supervised = config.trainOnTarget ? config.target : config.source;
  const sourceDs = await openRef(
    supervised,
    config.dataSeed,
    config.trainOnTarget ? 'target (oracle labels)' : 'source',
  );
  const numClasses = config.numClasses ?? sourceDs.numClasses;
  await openRef(config.val, config.dataSeed, 'val');
  const needTarget = config.lambda.dst > 0 || config.lambda.spt > 0;
  if (needTarget) await openRef(config.target, config.dataSeed, 'target');

  const parts: RunParts = buildParts(config, numClasses, {
    teacherCheckpoint: options.resume ? (options.teacherCheckpoint ?? null) : null,
    log,
  });
  // The resolved config records the input normalisation the weights chose, so eval, predict and resume use it.
  if (config.net.normalization === 'auto')
    config = { ...config, net: { ...config.net, normalization: parts.normalization } };
  const step = createTrainStep(config, parts);
  const slots = (): WeightSlot[] => [
    ...netSlots(parts.net),
    ...(parts.spatialAdaptation ? variableSlots(parts.spatialAdaptation.getWeights(), 'saa') : []),
  ];

  let startStep = 0;
  let sourceState: unknown;
  let targetState: unknown;
  const state: RunState = { best: null, evals: [] };
  const metrics = new MetricsLog(paths.metrics);
  if (options.resume) {
    const ck = newestGoodCheckpoint(paths.checkpoints, configHash(config), log, (c) =>
      checkNetIdentity(c, parts.identity),
    );
    if (!ck) throw new RoadError(`--resume ${options.outDir}: no checkpoint in ${paths.checkpoints}`, EXIT.badInput);
    const latest = ck.dir;
    checkNetIdentity(ck, parts.identity);
    restoreSlots(ck, 'net', netSlots(parts.net));
    if (parts.spatialAdaptation) restoreSlots(ck, 'saa', variableSlots(parts.spatialAdaptation.getWeights(), 'saa'));
    const s = ck.manifest.state as {
      optimizer: Record<string, number>;
      data: { source: unknown; target: unknown };
      run: RunState;
    };
    await restoreOptimizer(parts.optimizer, ck, s.optimizer);
    sourceState = s.data.source;
    targetState = s.data.target;
    Object.assign(state, s.run);
    startStep = ck.manifest.step;
    metrics.truncateAfter(startStep);
    log(`resuming ${options.outDir} from step ${startStep} (${latest})`);
  } else {
    writeFileAtomic(paths.config, JSON.stringify(configToJSON(config), null, 2));
  }

  const source = trainStream(config, supervised, 'source', config.batch.source, sourceState);
  const target: BatchStream | null = needTarget
    ? trainStream(config, config.target, 'target', config.batch.target, targetState)
    : null;
  // TensorBoard event files in the run folder, on every backend (`tensorboard --logdir RUN_DIR`).
  const tb = tfEventsWriter(paths.dir);
  if (config.upperBound)
    log('NOTE: this run trains on TARGET labels (oracle): an upper bound, not an adaptation method');

  const runConfigHash = configHash(config);
  const saveCheckpoint = async (label: number | string, at: number) => {
    const opt = await optimizerState(parts.optimizer);
    try {
      return await writeCheckpoint(
        paths.checkpoints,
        label,
        {
          step: at,
          net: parts.identity,
          configHash: runConfigHash,
          state: {
            optimizer: opt.scalars,
            data: { source: source.state(), target: target?.state() ?? null },
            run: state,
            backend: engine.name,
          },
        },
        [...slots(), ...opt.slots],
        ckFs,
      );
    } finally {
      opt.dispose();
    }
  };

  const evaluate = async (at: number): Promise<EvalResult> => {
    const r = await evaluateNet(parts.net, config.val, {
      numClasses,
      seed: config.dataSeed,
      limit: config.evalLimit || undefined,
      normalization: parts.normalization,
    });
    writeEval(paths.eval, `step-${String(at).padStart(7, '0')}`, r, `${config.name} at step ${at}`);
    const miou = headlineMiou(r);
    state.evals.push({ step: at, miou });
    metrics.append({ step: at, val_miou: miou, val_miou_all: r.miou, val_pixel_accuracy: r.pixelAccuracy });
    tb.scalar('val/miou', miou, at);
    if (!state.best || miou > state.best.miou) {
      state.best = { step: at, miou };
      await saveCheckpoint('best', at);
    }
    return r;
  };

  const watchdog: Watchdog | null =
    options.watchdog === false || process.env.ROAD_WATCHDOG === '0'
      ? null
      : startWatchdog({ ...(options.watchdog ?? {}), runDir: paths.dir });
  const progress = createProgress(config.name, { log, quiet: options.quiet });
  progress.start(config.steps, startStep);
  let images = 0;
  let computeMs = 0;
  let last: StepResult | null = null;
  let finalEval: EvalResult | null = null;
  let at = startStep;
  const stopAt = Math.min(config.steps, options.stopAfter ?? config.steps);
  let interrupted: NodeJS.Signals | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) {
      // second signal: leave now; every file the run writes is replaced atomically, so nothing is half-written
      process.stderr.write(`road: ${signal} again: exiting now (the last checkpoint stays)\n`);
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    interrupted = signal;
    log(`${signal}: finishing step ${at + 1}, then writing a checkpoint (send it again to exit at once)`);
  };
  const handleSignals = options.handleSignals ?? false;
  if (handleSignals) for (const sig of ['SIGTERM', 'SIGINT'] as const) process.on(sig, onSignal);
  try {
    while (at < stopAt && !interrupted) {
      const s = at + 1;
      let sb: Batch | undefined;
      let tbatch: Batch | undefined;
      try {
        watchdog?.enter('data', s);
        sb = await source.next();
        tbatch = target ? await target.next() : undefined;
        if (!sb.labels)
          throw new RoadError(`source dataset ${config.source.kind} yielded a batch without labels`, EXIT.badInput);
        watchdog?.enter('step', s);
        await options.beforeStep?.(s);
        const ts = Date.now();
        last = await step(
          {
            source: { images: sb.images, labels: sb.labels, crops: sb.crops },
            ...(tbatch ? { target: { images: tbatch.images, crops: tbatch.crops } } : {}),
          },
          s,
        );
        const ms = Date.now() - ts;
        watchdog?.idle();
        computeMs += ms;
        const n = sb.images.shape[0] + (tbatch ? tbatch.images.shape[0] : 0);
        images += n;
        const row: MetricsRow = {
          step: s,
          loss_total: last.total,
          loss_seg: last.seg,
          ...(step.uses.dst ? { loss_dst: last.dst } : {}),
          ...(step.uses.spt ? { loss_spt: last.spt, domain_accuracy: last.domainAccuracy } : {}),
          lambda_grl: last.lambdaGrl,
          lambda_dst: config.lambda.dst,
          lambda_spt: config.lambda.spt,
          lr: last.lr,
          images_per_sec: (1000 * n) / Math.max(1, ms),
        };
        metrics.append(row);
        for (const [k, v] of Object.entries(row)) if (k !== 'step' && typeof v === 'number') tb.scalar(k, v, s);
        progress.update(s, {
          losses: {
            seg: last.seg,
            ...(step.uses.dst ? { dst: last.dst } : {}),
            ...(step.uses.spt ? { spt: last.spt } : {}),
          },
          imagesPerSec: (1000 * images) / Math.max(1, computeMs),
        });
      } catch (e) {
        if (e instanceof NonFiniteLossError) {
          const lastGood = latestCheckpoint(paths.checkpoints);
          throw new NonFiniteLossError(e.term, e.step, e.value, lastGood ?? undefined);
        }
        throw e;
      } finally {
        disposeBatch(sb);
        disposeBatch(tbatch);
      }
      at = s;
      if (config.evalEvery > 0 && at % config.evalEvery === 0 && at < config.steps) {
        watchdog?.enter('eval', at);
        await evaluate(at);
      }
      if ((config.checkpointEvery > 0 && at % config.checkpointEvery === 0) || at === stopAt || interrupted) {
        watchdog?.enter('checkpoint', at);
        await saveCheckpoint(at, at);
        await pruneCheckpoints(paths.checkpoints, config.keepLast, ckFs);
      }
      watchdog?.idle();
    }
    if (at >= config.steps && !interrupted) {
      watchdog?.enter('eval', at);
      finalEval = await evaluate(at);
      watchdog?.idle();
    }
  } finally {
    if (handleSignals) for (const sig of ['SIGTERM', 'SIGINT'] as const) process.removeListener(sig, onSignal);
    await watchdog?.stop();
    progress.stop();
    await source.close();
    await target?.close();
    tb.flush();
  }
  const stopped = at < config.steps || interrupted !== null;
  if (interrupted)
    log(`${interrupted}: stopped after step ${at} with a checkpoint; resume with: road train --resume ${paths.dir}`);
  if (!stopped && finalEval) {
    writeEval(
      paths.eval,
      'final',
      finalEval,
      `${config.name}${config.upperBound ? ' (UPPER BOUND: trained on target labels)' : ''}`,
    );
    if (options.report ?? true) {
      await writeReport(paths.dir, config, parts, finalEval, state, numClasses, options.gridRows ?? 4, {
        engine,
        links: options.reportLinks,
      });
    }
    log(`${config.name}: target mIoU ${(100 * headlineMiou(finalEval)).toFixed(1)} after ${at} steps (${paths.dir})`);
  }
  const seconds = (Date.now() - t0) / 1000;
  parts.dispose();
  return {
    runDir: paths.dir,
    steps: config.steps,
    step: at,
    stopped,
    final: finalEval,
    best: state.best,
    seconds,
    imagesPerSec: (1000 * images) / Math.max(1, computeMs),
    backend: engine.name,
    interrupted,
  };
}

/** Predicted train ids of the first `count` validation images, plus the images and labels (for report grids). */
export async function predictionRows(
  nets: { predict(x: tf.Tensor4D): tf.Tensor4D }[],
  config: Pick<TrainConfig, 'val' | 'dataSeed'> & { net?: { normalization?: string } },
  count: number,
): Promise<GridRow[]> {
  const ds = await openRef(config.val, config.dataSeed, 'val');
  const rows: GridRow[] = [];
  for (let i = 0; i < Math.min(count, ds.length); i++) {
    const s = await ds.get(i);
    const x = tf.tensor4d(normalizeImage(s.image, datasetNormalization(config.net?.normalization)), [
      1,
      s.height,
      s.width,
      3,
    ]);
    const predictions: Uint8Array[] = [];
    for (const net of nets) {
      const ids = tf.tidy(() => tf.cast(tf.argMax(net.predict(x), 3), 'int32'));
      try {
        predictions.push(new Uint8Array(await ids.data()));
      } finally {
        ids.dispose();
      }
    }
    x.dispose();
    rows.push({
      image: s.image,
      width: s.width,
      height: s.height,
      predictions,
      ...(s.label ? { label: s.label } : {}),
    });
  }
  return rows;
}

async function writeReport(
  dir: string,
  config: TrainConfig,
  parts: RunParts,
  finalEval: EvalResult,
  state: RunState,
  numClasses: number,
  gridRows: number,
  extra: { engine: EngineInfo; links?: ReportLink[] },
): Promise<void> {
  const palette = CITYSCAPES_PALETTE as readonly (readonly number[])[];
  const rows = gridRows > 0 && numClasses <= palette.length ? await predictionRows([parts.net], config, gridRows) : [];
  await writeRunReport(dir, {
    title: `road run: ${config.name}`,
    ...(config.upperBound
      ? { banner: 'UPPER BOUND: this run trained on target labels (oracle), not an adaptation method' }
      : {}),
    metrics: readMetrics(join(dir, 'metrics.jsonl')).filter((r) => r.loss_total !== undefined),
    evals: state.evals,
    final: finalEval,
    palette,
    notes: [
      `preset ${config.preset ?? '(custom)'}, net ${config.net.name}${config.net.attention === 'hydraplus' ? ' + HydraPlus' : ''}, ${config.steps} steps, λ_dst ${config.lambda.dst}, λ_spt ${config.lambda.spt}, grid ${config.grid.join('×')}, seed ${config.seed}`,
    ],
    ...(rows.length ? { grid: { rows, titles: ['target image', config.name, 'ground truth'] } } : {}),
    config: configToJSON(config),
    engine: extra.engine,
    ...(extra.links ? { links: extra.links } : {}),
  });
}

/** Dotted paths of the leaves where `b` differs from `a` (JSON semantics: key order ignored). */
function changedKeys(a: unknown, b: unknown, prefix = ''): string[] {
  const isObj = (x: unknown): x is Record<string, unknown> => x !== null && typeof x === 'object' && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => changedKeys(a[k], b[k], prefix ? `${prefix}.${k}` : k));
  }
  return JSON.stringify(a) === JSON.stringify(b) ? [] : [prefix || '(config)'];
}
