// One ROAD-Net training step of the trainer, timed (child process of bench/run.mjs; runnable alone).
//
//   node bench/node/train-step.mjs --net road-lite [--backend auto] [--warmup 3] [--reps 10] [--profile 10 --profile-steps 3]
//   node bench/node/train-step.mjs --net vgg16-fcn --warmup 1 --reps 2 [--size 320x640]
//
// road-lite: the trainer's default SynthCity config as the demo runs it (`demoConfig('road')`: 4 source + 4 target
// images, random 64×128 crops of 160×80 SynthCity, flips, Adam lr 0.002, λ_dst 1, λ_spt 0.1, 3×3 grid).
// vgg16-fcn: the same config with net.name = vgg16-fcn, 1 source + 1 target image of 320×640 (SynthCity rendered
// at 640×320, no crop). The step is @road/trainer's `createTrainStep` on parts from `buildParts`, with a teacher
// checkpoint written here from a freshly initialised net of the same architecture (4 rotation classes, as
// `road pretrain` makes): the weights do not change the cost.
//
// Batches are drawn once through the trainer's data stream (`trainStream`) before timing and cycled, so the time is
// the step alone. Prints `BENCH_JSON {...}` with the median step time, images/s ((N_s + N_t) / step time), FLOPs,
// parameter counts, tensor counts after the first and the last step, peak RSS, `memoryPhases` (for step 1 and the
// last timed step: distinct tensor bytes at the end of and peak within the phases teacher / forward / backward /
// optimizer, the wasm heap size and peak RSS so far; see memoryPhaseProbe) and (with --profile K) the top K kernels.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { emit, median, parseArgs, peakRssMiB } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const netName = args.net ?? 'road-lite';
const backend = args.backend ?? 'auto';
const warmup = Math.max(1, Number(args.warmup ?? 3));
const reps = Math.max(1, Number(args.reps ?? 10));
const profileTop = args.profile === undefined ? 0 : Number(args.profile === true ? 10 : args.profile);
const profileSteps = Math.max(1, Number(args['profile-steps'] ?? 3));
const size = String(args.size ?? '320x640')
  .split(/[x×]/)
  .map(Number); // vgg16-fcn only: [height, width]
if (size.length !== 2 || !size.every((v) => Number.isInteger(v) && v > 0))
  throw new Error(`train-step: --size must be HxW, got ${args.size}`);
const log = (l) => process.stderr.write(`[train-step ${netName}] ${l}\n`);

const trainer = await import('@road/trainer');
const { countFlops } = await import('@road/backbone');
const {
  ensureEngine,
  demoConfig,
  loadConfig,
  DEMO_RECIPE,
  buildNet,
  netSlots,
  writeCheckpoint,
  buildParts,
  createTrainStep,
  trainStream,
} = trainer;

const engine = await ensureEngine(backend, log);
const phases = memoryPhaseProbe(); // before any tensor of the benchmark exists: it counts buffers as they come

/** The config this benchmark times. */
function benchConfig() {
  if (netName === 'road-lite') return demoConfig('road', false, 1);
  if (netName === 'vgg16-fcn') {
    const c = loadConfig('road', [
      ...DEMO_RECIPE.full.train,
      'seed=1',
      'net.name=vgg16-fcn',
      'batch.source=1',
      'batch.target=1',
      'crop=null',
    ]);
    const big = { width: size[1], height: size[0] };
    c.source = { ...c.source, options: { ...(c.source.options ?? {}), ...big } };
    c.target = { ...c.target, options: { ...(c.target.options ?? {}), ...big } };
    return c;
  }
  throw new Error(`train-step: unknown --net ${netName} (road-lite | vgg16-fcn)`);
}

const config = benchConfig();
const NUM_CLASSES = 19; // SynthCity (Cityscapes train ids)
const tmp = mkdtempSync(join(tmpdir(), 'road-bench-'));
let parts;
try {
  const teacherNet = buildNet({ name: config.net.name, attention: 'none' }, 4, config.seed);
  const teacherCk = await writeCheckpoint(
    tmp,
    'teacher',
    {
      step: 0,
      net: { name: config.net.name, attention: 'none', numClasses: 4, inputChannels: 3 },
      state: { bench: 'fresh weights' },
    },
    netSlots(teacherNet),
  );
  teacherNet.dispose();
  parts = buildParts(config, NUM_CLASSES, { teacherCheckpoint: teacherCk });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const step = createTrainStep(config, parts);
phases.watchOptimizer(parts.optimizer);

// Batches through the trainer's own data path, fetched before timing.
const K = 2;
const src = trainStream(config, config.source, 'source', config.batch.source);
const tgt = trainStream(config, config.target, 'target', config.batch.target);
const batches = [];
for (let i = 0; i < K; i++) {
  const s = await src.next();
  const t = await tgt.next();
  t.labels?.dispose();
  batches.push({
    source: { images: s.images, labels: s.labels, crops: s.crops },
    target: { images: t.images, crops: t.crops },
  });
}
await src.close();
await tgt.close();
const [ns, H, W] = batches[0].source.images.shape;
const nt = batches[0].target.images.shape[0];
log(
  `backend ${engine.name}; ${config.net.name}; source ${ns}×${H}×${W}, target ${nt}×${batches[0].target.images.shape.slice(1, 3).join('×')}`,
);

// FLOPs: forward of student backbone on N_s+N_t, head on N_s (seg logits come from source features only), region
// classifiers on every feature position; ×3 for forward + backward; plus the frozen teacher's forward on N_t.
const featShape = parts.net.backbone.computeOutputShape([ns + nt, H, W, 3]);
const [, fh, fw, fc] = featShape;
const fBackbone = countFlops(parts.net.backbone, [ns + nt, H, W, 3]).total;
const fHead = countFlops(parts.net.head, [ns, fh, fw, fc]).total;
const fClfPerPos = parts.spatial ? countFlops(parts.spatial.classifiers[0].model, [1, 1, 1, fc]).total : 0;
const fClf = fClfPerPos * (ns + nt) * fh * fw;
const fTeacher = parts.teacherNet ? countFlops(parts.teacherNet.backbone, [nt, H, W, 3]).total : 0;
const flopsPerStep = 3 * (fBackbone + fHead + fClf) + fTeacher;

const numel = (vs) => vs.reduce((a, v) => a + v.size, 0);
const params = {
  netTrainable: numel(parts.net.trainableVariables()),
  netTotal: parts.net.countParams(),
  classifiers: parts.spatial ? numel(parts.spatial.trainableWeights) : 0,
  teacherBackbone: parts.teacherNet ? parts.teacherNet.backbone.countParams() : 0,
};

let k = 0;
const runStep = async () => {
  const b = batches[k % K];
  k++;
  const t0 = performance.now();
  const r = await step(b, k); // the step reads its losses with `await t.data()`
  const ms = performance.now() - t0;
  return { ms, r };
};

/** Bytes held by tensors and the size of the wasm heap (which grows up to 4 GiB and never shrinks). */
function memoryNow() {
  const m = tf.memory();
  const heap = wasmHeapBytes();
  return { tensorBytes: m.numBytes, tensors: m.numTensors, ...(heap ? { wasmHeapBytes: heap } : {}) };
}
function wasmHeapBytes() {
  return tf.getBackend() === 'wasm' ? tf.backend().wasm?.HEAPU8?.length : undefined;
}

/**
 * Memory at the phase boundaries of one step, without changing what the step does: `teacher` ends when the gradient
 * tape starts (the frozen teacher runs before it), `forward` when the tape ends, `backward` when the optimizer is
 * handed the gradients (includes reading the loss values), `optimizer` when applyGradients returns. Per phase, in
 * MiB: `dataMiB`, the bytes of the distinct tensor buffers alive at its end, and `peakDataMiB`, their peak inside it
 * (sampled after every kernel; tfjs's own `numBytes` counts a buffer once per tensor sharing it, e.g. the clones a
 * gradient saves); the wasm heap size (its high-water mark: it never shrinks) and the process's peak RSS so far.
 * Hooks the engine's tape start/end, runKernelFunc and its buffer registry (tfjs-core 4.22 internals) and the
 * optimizer's applyGradients (`watchOptimizer`); `take()` returns the phases recorded since the last take.
 */
function memoryPhaseProbe() {
  const eng = tf.engine();
  const MiB = (b) => (b === undefined ? undefined : Math.round((b / 2 ** 20) * 10) / 10);
  // Distinct buffers: the engine registers a dataId once (tensorInfo.set) and forgets it when the backend frees it.
  let data = 0;
  const registry = eng.state.tensorInfo;
  const set = registry.set.bind(registry);
  const del = registry.delete.bind(registry);
  registry.set = (k, v) => {
    if (!registry.has(k)) data += v.bytes ?? 0;
    return set(k, v);
  };
  registry.delete = (k) => {
    if (registry.has(k)) data -= registry.get(k).bytes ?? 0;
    return del(k);
  };
  let peak = data;
  let list = [];
  const mark = (phase) => {
    list.push({
      phase,
      dataMiB: MiB(data),
      peakDataMiB: MiB(Math.max(peak, data)),
      wasmHeapMiB: MiB(wasmHeapBytes()),
      peakRssMiB: MiB(process.resourceUsage().maxRSS * 1024),
    });
    peak = data;
  };
  const wrap = (obj, name, before, after) => {
    const orig = obj[name];
    obj[name] = function (...a) {
      before?.();
      const r = orig.apply(this, a);
      after?.();
      return r;
    };
  };
  wrap(eng, 'runKernelFunc', null, () => {
    if (data > peak) peak = data;
  });
  wrap(eng, 'startTape', () => eng.state.gradientDepth === 0 && mark('teacher'));
  wrap(eng, 'endTape', null, () => eng.state.gradientDepth === 0 && mark('forward'));
  return {
    watchOptimizer(optimizer) {
      wrap(
        optimizer,
        'applyGradients',
        () => mark('backward'),
        () => mark('optimizer'),
      );
    },
    take() {
      const out = list;
      list = [];
      peak = data;
      return out;
    },
  };
}
process.on('uncaughtException', (e) => fail(e));
function fail(e) {
  const msg = String(e?.message ?? e).split('\n')[0];
  log(`FAILED at step ${k}: ${msg}`);
  emit({
    bench: `train-step:${netName}`,
    backend: engine.name,
    error: `step ${k} failed: ${msg}`,
    memoryAtFailure: memoryNow(),
    peakRssMiB: peakRssMiB(),
    shapes: { source: [ns, H, W, 3], target: [nt, H, W, 3] },
  });
  process.exit(3);
}

const warmMs = [];
let first;
try {
  first = await runStep();
} catch (e) {
  fail(e);
}
warmMs.push(first.ms);
const memoryPhases = { first: phases.take() };
const tensorsAfterFirst = tf.memory().numTensors;
log(
  `step 1 memory (MiB): ${memoryPhases.first.map((p) => `${p.phase} data ${p.dataMiB} (peak ${p.peakDataMiB}) heap ${p.wasmHeapMiB ?? '—'} rss ${p.peakRssMiB}`).join(' · ')}`,
);
log(
  `step 1: ${first.ms.toFixed(0)} ms (seg ${first.r.seg.toFixed(3)}, dst ${first.r.dst.toFixed(3)}, spt ${first.r.spt.toFixed(3)}); tensors ${tensorsAfterFirst}`,
);
for (let i = 1; i < warmup; i++) warmMs.push((await runStep()).ms);
const times = [];
try {
  for (let i = 0; i < reps; i++) {
    const { ms } = await runStep();
    times.push(ms);
    log(`rep ${i + 1}/${reps}: ${ms.toFixed(0)} ms`);
  }
} catch (e) {
  fail(e);
}
const memoryAfter = memoryNow();
memoryPhases.last = phases.take().slice(-4);
const tensorsAfterLast = tf.memory().numTensors;
const stepsRun = k;
const med = median(times);

let profile = null;
if (profileTop > 0) {
  // Several profiled steps; per kernel (and per kernel + input shapes) the median over steps of its time in a step,
  // so a pause of the (shared) machine during one step does not make a kernel look slow. Entries named after an op
  // scope (`logSoftmax__op`, `fusedConv2d__op`: customGrad / kernelFunc wrappers) are not registered kernels: their
  // time includes kernels that are profiled on their own, so they are left out of the sums and the lists.
  const backendName = tf.getBackend();
  const steps = [];
  for (let i = 0; i < profileSteps; i++) {
    let stepMs = 0;
    const info = await tf.profile(async () => {
      stepMs = (await runStep()).ms;
      return undefined;
    });
    const kernels = info.kernels.filter((kern) => tf.getKernel(kern.name, backendName) != null);
    steps.push({ stepMs, kernels, wrappers: info.kernels.length - kernels.length });
  }
  const agg = (keyOf) => {
    const perStep = steps.map((st) => {
      const m = new Map();
      for (const kern of st.kernels) {
        const key = keyOf(kern);
        const e = m.get(key) ?? { name: kern.name, inputShapes: kern.inputShapes, ms: 0, calls: 0 };
        e.ms += Number(kern.kernelTimeMs) || 0;
        e.calls++;
        m.set(key, e);
      }
      return m;
    });
    const keys = new Set(perStep.flatMap((m) => [...m.keys()]));
    return [...keys]
      .map((key) => {
        const es = perStep.map((m) => m.get(key));
        const e = es.find(Boolean);
        return { name: e.name, inputShapes: e.inputShapes, ms: median(es.map((x) => x?.ms ?? 0)), calls: e.calls };
      })
      .sort((a, b) => b.ms - a.ms);
  };
  const byName = agg((kern) => kern.name);
  const byShape = agg((kern) => `${kern.name} ${JSON.stringify(kern.inputShapes)}`);
  const stepMs = median(steps.map((st) => st.stepMs));
  const kernelMs = median(steps.map((st) => st.kernels.reduce((a, kern) => a + (Number(kern.kernelTimeMs) || 0), 0)));
  profile = {
    steps: profileSteps,
    stepMs,
    kernelMs,
    kernels: steps[0].kernels.length,
    wrappersExcluded: steps[0].wrappers,
    topByName: byName.slice(0, profileTop).map(({ inputShapes, ...e }) => e),
    topByShape: byShape.slice(0, profileTop),
  };
  log(
    `profiled ${profileSteps} steps: median ${stepMs.toFixed(0)} ms, ${kernelMs.toFixed(0)} ms in ${steps[0].kernels.length} kernel calls`,
  );
}

for (const b of batches) tf.dispose([b.source.images, b.source.labels, b.target.images]);
parts.dispose();

emit({
  bench: `train-step:${netName}`,
  backend: engine.name,
  native: engine.native ?? null,
  net: config.net.name,
  shapes: { source: [ns, H, W, 3], target: [nt, H, W, 3], features: [fh, fw, fc], grid: config.grid },
  config: {
    lambda: config.lambda,
    optimizer: config.optimizer.name,
    lr: config.optimizer.lr,
    flip: config.flip,
    crop: config.crop,
  },
  warmup,
  reps,
  warmupMs: warmMs,
  timesMs: times,
  medianMs: med,
  imagesPerSec: ((ns + nt) * 1000) / med,
  flops: {
    perStep: flopsPerStep,
    rule: 'forward x3 (student backbone+head+region classifiers) + teacher forward; conv/dense MACs x2 only',
    backbone: fBackbone,
    head: fHead,
    classifiers: fClf,
    teacher: fTeacher,
  },
  gflopsPerSec: flopsPerStep / (med * 1e6),
  params,
  tensors: {
    afterFirst: tensorsAfterFirst,
    afterLast: tensorsAfterLast,
    steps: stepsRun,
    leakedPerStep: (tensorsAfterLast - tensorsAfterFirst) / Math.max(1, stepsRun - 1),
  },
  memory: memoryAfter,
  memoryPhases,
  peakRssMiB: peakRssMiB(),
  profile,
});
