import { Worker } from 'node:worker_threads';
import { nativeModuleEntry } from '@road/backend';
import { EXIT, RoadError } from './errors.js';

/**
 * What a training loop is doing, as the watchdog sees it. Each phase kind has its own history of durations, so a
 * slow evaluation is judged against evaluations, not steps.
 */
export type WatchPhase = 'data' | 'step' | 'eval' | 'checkpoint';
const PHASES: readonly WatchPhase[] = ['data', 'step', 'eval', 'checkpoint'];

/** Options of {@link startWatchdog}. */
export interface WatchdogOptions {
  /** A phase stalls when it runs longer than `factor` × the median of its kind's recent durations … (default 20). */
  factor?: number;
  /** … and at least this many seconds (default 300). */
  minSeconds?: number;
  /** Limit for a phase kind with fewer than 3 finished durations yet (warm-up, first eval; default 1800 s). */
  firstSeconds?: number;
  /** Recent durations kept per phase kind (default 50). */
  window?: number;
  /** Where `stalled.json` goes (the run folder); none when omitted. */
  runDir?: string;
  /** Exit code on a stall (default {@link EXIT.stalled}). */
  exitCode?: number;
  /** Seconds between checks (default 1). */
  checkSeconds?: number;
}

/** A running watchdog: the loop reports each phase it enters; {@link Watchdog.stop} ends the watch. */
export interface Watchdog {
  /** Enters `phase` of `step` (ends the phase before it, whose duration joins its kind's history). */
  enter(phase: WatchPhase, step: number): void;
  /** Ends the current phase without entering another (time between phases is not watched). */
  idle(): void;
  /** Stops watching and ends the worker thread. */
  stop(): Promise<void>;
  /** The limit in seconds now in force for a phase kind. */
  limitSeconds(phase: WatchPhase): number;
}

// Shared slots (Float64Array over a SharedArrayBuffer), written by the loop, read by the watchdog thread.
const S_ACTIVE = 0; // 1 while a phase is being watched
const S_PHASE = 1; // index into PHASES
const S_STEP = 2;
const S_STARTED = 3; // Date.now() when the phase began
const S_LIMIT_MS = 4; // limit of the current phase
const S_MEDIAN_MS = 5; // median the limit came from (NaN during warm-up)
const SLOTS = 6;

/**
 * The watchdog thread. It cannot rely on the main thread: a stall is usually the main thread stuck inside a
 * synchronous call (a native kernel, a busy loop), where no timer of the main thread ever fires. So it runs on its
 * own thread, and on a stall it (1) writes one report to stderr with fs.writeSync, (2) writes `stalled.json`
 * atomically, (3) ends the process with the exit code: through @road/native's exitProcess when the addon is there
 * (works whatever the main thread is doing), else by asking the main thread (works when it is idle in an await),
 * and after a grace period by SIGKILL.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const slots = new Float64Array(workerData.buffer);
const phases = workerData.phases;
let addon = null;
if (workerData.nativeEntry) {
  try { addon = require(workerData.nativeEntry).loadNative().addon; } catch {}
}
let fired = false;
let over = null; // start time of the phase seen over its limit at the previous check
const timer = setInterval(() => {
  if (fired || slots[${S_ACTIVE}] !== 1) { over = null; return; }
  const started = slots[${S_STARTED}];
  const elapsed = Date.now() - started;
  const limit = slots[${S_LIMIT_MS}];
  if (!(elapsed > limit)) { over = null; return; }
  // the same phase over its limit at two checks in a row: never a half-updated set of slots
  if (over !== started) { over = started; return; }
  fired = true;
  const phase = phases[slots[${S_PHASE}]] || 'unknown';
  const step = slots[${S_STEP}];
  const median = slots[${S_MEDIAN_MS}];
  let kernel = null;
  try { kernel = addon && addon.inFlight ? addon.inFlight() : null; } catch {}
  const why = Number.isFinite(median)
    ? 'more than ' + workerData.factor + 'x the recent median ' + (median / 1000).toFixed(2) + ' s of this phase (and at least ' + workerData.minSeconds + ' s)'
    : 'more than the ' + (limit / 1000).toFixed(0) + ' s allowed before a median exists';
  const where = kernel
    ? 'inside native kernel ' + kernel.kernel + (kernel.geometry ? ' [' + kernel.geometry.join(',') + ']' : '') + ' for ' + kernel.seconds.toFixed(1) + ' s'
    : (addon ? 'not inside a native kernel' : 'kernel unknown (native kernels not loaded)');
  const report = {
    stalled: true,
    step,
    phase,
    seconds: elapsed / 1000,
    limitSeconds: limit / 1000,
    medianSeconds: Number.isFinite(median) ? median / 1000 : null,
    kernel,
    exitCode: workerData.exitCode,
    pid: process.pid,
    time: new Date().toISOString(),
  };
  try {
    fs.writeSync(2, 'road: watchdog: step ' + step + ', phase ' + phase + ', has run ' + (elapsed / 1000).toFixed(1) + ' s, ' + why + '; ' + where + '. Nothing more is written; the last checkpoint stays. Exiting with code ' + workerData.exitCode + ' (stalled' + (workerData.runDir ? '; continue with: road train --resume ' + workerData.runDir : '') + ').\\n');
  } catch {}
  if (workerData.runDir) {
    try {
      const file = path.join(workerData.runDir, 'stalled.json');
      const tmp = file + '.tmp-' + process.pid;
      fs.writeFileSync(tmp, JSON.stringify(report, null, 2) + '\\n');
      fs.renameSync(tmp, file);
    } catch {}
  }
  if (addon && addon.exitProcess) addon.exitProcess(workerData.exitCode);
  parentPort.postMessage({ stalled: report });
  setTimeout(() => { try { process.kill(process.pid, 'SIGKILL'); } catch {} }, workerData.graceMs);
}, workerData.checkMs);
parentPort.on('message', (m) => { if (m === 'stop') { clearInterval(timer); parentPort.close(); } });
`;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * Starts a step watchdog: when a phase of the training loop (loading a batch, a step, an evaluation, a checkpoint)
 * runs longer than `factor` × the recent median of its kind (and at least `minSeconds`), it prints where the run
 * is (step, phase, and the native kernel running, when there is one), writes `stalled.json` in the run folder,
 * writes nothing else, and exits with {@link EXIT.stalled} (75), which a batch system can requeue on; the run
 * resumes from its last checkpoint. It watches from a worker thread, so it fires even when the main thread is stuck
 * inside a synchronous native call.
 */
export function startWatchdog(options: WatchdogOptions = {}): Watchdog {
  const factor = options.factor ?? 20;
  const minSeconds = options.minSeconds ?? 300;
  const firstSeconds = options.firstSeconds ?? 1800;
  const window = options.window ?? 50;
  const exitCode = options.exitCode ?? EXIT.stalled;
  for (const [k, v] of Object.entries({ factor, minSeconds, firstSeconds, window }))
    if (!(Number.isFinite(v) && v > 0))
      throw new RoadError(`watchdog: ${k} must be a positive number, got ${v}`, EXIT.badInput);
  const buffer = new SharedArrayBuffer(SLOTS * 8);
  const slots = new Float64Array(buffer);
  const history = new Map<WatchPhase, number[]>(PHASES.map((p) => [p, []]));
  let current: { phase: WatchPhase; started: number } | null = null;

  const limitMs = (phase: WatchPhase): { limit: number; median: number } => {
    const h = history.get(phase) ?? [];
    if (h.length < 3) return { limit: firstSeconds * 1000, median: Number.NaN };
    const m = median(h);
    return { limit: Math.max(minSeconds * 1000, factor * m), median: m };
  };
  const finish = () => {
    if (!current) return;
    const h = history.get(current.phase) as number[];
    h.push(Date.now() - current.started);
    if (h.length > window) h.shift();
    current = null;
    slots[S_ACTIVE] = 0;
  };

  const worker = new Worker(WORKER_SOURCE, {
    eval: true,
    workerData: {
      buffer,
      phases: PHASES,
      factor,
      minSeconds,
      exitCode,
      runDir: options.runDir ?? null,
      nativeEntry: nativeModuleEntry(),
      checkMs: Math.max(10, (options.checkSeconds ?? 1) * 1000),
      graceMs: 5000,
    },
  });
  worker.unref();
  worker.on('message', (m: { stalled?: unknown }) => {
    // Reached only when the main thread is free (the stall was an await that never settled) and no native
    // exitProcess was available: end the process here with the same code.
    if (m?.stalled) process.exit(exitCode);
  });

  return {
    enter(phase, step) {
      finish();
      const { limit, median: m } = limitMs(phase);
      current = { phase, started: Date.now() };
      slots[S_PHASE] = PHASES.indexOf(phase);
      slots[S_STEP] = step;
      slots[S_STARTED] = current.started;
      slots[S_LIMIT_MS] = limit;
      slots[S_MEDIAN_MS] = m;
      slots[S_ACTIVE] = 1;
    },
    idle: finish,
    async stop() {
      finish();
      worker.postMessage('stop');
      await worker.terminate();
    },
    limitSeconds: (phase) => limitMs(phase).limit / 1000,
  };
}
