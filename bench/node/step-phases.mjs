// Kernel calls and kernel time of one ROAD training step per phase (teacher forward / student forward / backward /
// optimizer), and the step time "before" (tfjs Adam, composite cross-entropy, per-region 'gather' spatial loss) vs
// "after" (@road/backend's fused Adam and fused cross-entropy, @road/dann's 'batched' spatial loss on the same
// classifiers), alternated step by step in one process (same batch, same weights), plus the fused Adam with one
// kernel call per variable.
//
//   pnpm --filter "@road/trainer..." build && node bench/node/step-phases.mjs [--backend wasm] [--reps 10]
//
// Phases are cut by wrapping the parts' methods (teacher.features, net.features, spatial.loss,
// optimizer.applyGradients) and reading how many kernels the active tf.profile has recorded at each entry/exit.
// Also the kernel calls of each loss term alone (forward + backward through tf.grads): seg loss, distillation,
// spatial-aware adaptation (9 region classifiers).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { median, parseArgs } from '../lib/common.mjs';

const args = parseArgs(process.argv.slice(2));
const reps = Number(args.reps ?? 10);
const log = (l) => process.stderr.write(`[step-phases] ${l}\n`);
const trainer = await import('@road/trainer');
const backendPkg = await import('@road/backend');
const backendTesting = await import('@road/backend/testing');
const distill = await import('@road/distill');
const dann = await import('@road/dann');
const {
  ensureEngine,
  demoConfig,
  buildNet,
  netSlots,
  writeCheckpoint,
  buildParts,
  createTrainStep,
  trainStream,
  segmentationCrossEntropy,
} = trainer;
const engine = await ensureEngine(args.backend ?? 'auto', log);

const config = demoConfig('road', false, 1);
const tmp = mkdtempSync(join(tmpdir(), 'road-phases-'));
let parts;
try {
  const teacherNet = buildNet({ name: config.net.name, attention: 'none' }, 4, config.seed);
  const ck = await writeCheckpoint(
    tmp,
    'teacher',
    { step: 0, net: { name: config.net.name, attention: 'none', numClasses: 4, inputChannels: 3 }, state: {} },
    netSlots(teacherNet),
  );
  teacherNet.dispose();
  parts = buildParts(config, 19, { teacherCheckpoint: ck });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
const src = trainStream(config, config.source, 'source', config.batch.source);
const tgt = trainStream(config, config.target, 'target', config.batch.target);
const s = await src.next();
const t = await tgt.next();
t.labels?.dispose();
await src.close();
await tgt.close();
const batch = {
  source: { images: s.images, labels: s.labels, crops: s.crops },
  target: { images: t.images, crops: t.crops },
};

// --- phase markers
const marks = [];
const kernelCount = () => tf.engine().state.activeProfile?.kernels?.length ?? 0;
const wallMs = {};
function wrap(obj, method, label) {
  const orig = obj[method].bind(obj);
  obj[method] = (...a) => {
    marks.push([`${label}>`, kernelCount()]);
    const t0 = performance.now();
    const r = orig(...a);
    if (!wallMs[label]) wallMs[label] = [];
    wallMs[label].push(performance.now() - t0);
    marks.push([`<${label}`, kernelCount()]);
    return r;
  };
}
wrap(parts.teacher, 'features', 'teacher');
wrap(parts.net, 'features', 'netFeatures');
wrap(parts.net, 'logitsFromFeatures', 'netHead');
wrap(parts.spatial, 'loss', 'spatial');

const stockAdam = tf.train.adam(config.optimizer.lr);
const fusedAdam = parts.optimizer; // createFusedAdam: one kernel call for all variables
const perVarAdam = backendPkg.createFusedAdam(config.optimizer.lr, 0.9, 0.999, null, 'per-variable');
wrap(stockAdam, 'applyGradients', 'optimizer');
wrap(fusedAdam, 'applyGradients', 'optimizer');
wrap(perVarAdam, 'applyGradients', 'optimizer');
const optWall = { stock: [], fused: [], perVar: [] };
// "Before" = the step as it was: tfjs Adam, the per-region ('gather') spatial path on the SAME classifiers, and the
// composite cross-entropy (the fused CE kernel is unregistered on this backend around each such step).
const gatherSpatial = new dann.SpatialAwareAdaptation({
  grid: config.grid,
  mode: 'gather',
  classifier: (r) => parts.spatial.classifiers[r],
});
wrap(gatherSpatial, 'loss', 'spatial');
const ceKernel = tf.getKernel(backendTesting.SOFTMAX_CE_KERNEL, tf.getBackend());
const stepBefore = createTrainStep(config, { ...parts, optimizer: stockAdam, spatial: gatherSpatial });
const stepStock = async (b, i) => {
  if (ceKernel) tf.unregisterKernel(ceKernel.kernelName, ceKernel.backendName);
  try {
    return await stepBefore(b, i);
  } finally {
    if (ceKernel) tf.registerKernel(ceKernel);
  }
};
const stepFused = createTrainStep(config, { ...parts, optimizer: fusedAdam });
const stepPerVar = createTrainStep(config, { ...parts, optimizer: perVarAdam });

let k = 0;
const timeOf = async (step) => {
  const t0 = performance.now();
  await step(batch, ++k);
  return performance.now() - t0;
};
for (let i = 0; i < 3; i++) {
  await timeOf(stepStock);
  await timeOf(stepFused);
  await timeOf(stepPerVar);
}
const times = { stock: [], fused: [], perVar: [] };
for (let i = 0; i < reps; i++) {
  times.stock.push(await timeOf(stepStock));
  optWall.stock.push(wallMs.optimizer.at(-1));
  times.fused.push(await timeOf(stepFused));
  optWall.fused.push(wallMs.optimizer.at(-1));
  times.perVar.push(await timeOf(stepPerVar));
  optWall.perVar.push(wallMs.optimizer.at(-1));
}
const wallMedians = Object.fromEntries(Object.entries(wallMs).map(([kk, xs]) => [kk, +median(xs).toFixed(2)]));
const tensorsBefore = tf.memory().numTensors;
await timeOf(stepFused);
const leaked = tf.memory().numTensors - tensorsBefore;

async function phases(step) {
  marks.length = 0;
  const info = await tf.profile(async () => {
    await step(batch, ++k);
  });
  const backendName = tf.getBackend();
  const real = (kern) => tf.getKernel(kern.name, backendName) != null;
  const at = (label) => marks.find((m) => m[0] === label)?.[1];
  const lastAt = (label) => marks.filter((m) => m[0] === label).at(-1)?.[1];
  const cuts = [
    ['teacher forward', 0, at('<teacher')],
    ['student forward (loss terms included)', at('<teacher'), lastAt('<spatial')],
    ['backward', lastAt('<spatial'), at('optimizer>')],
    ['optimizer', at('optimizer>'), at('<optimizer')],
    ['after optimizer', at('<optimizer'), info.kernels.length],
  ];
  const out = {};
  for (const [name, a, b] of cuts) {
    const ks = info.kernels.slice(a, b).filter(real);
    const byName = {};
    for (const kern of ks) byName[kern.name] = (byName[kern.name] ?? 0) + 1;
    out[name] = {
      calls: ks.length,
      ms: +ks.reduce((x, kern) => x + (Number(kern.kernelTimeMs) || 0), 0).toFixed(2),
      top: Object.entries(byName)
        .sort((x, y) => y[1] - x[1])
        .slice(0, 8)
        .map(([n, c]) => `${n}×${c}`)
        .join(' '),
    };
  }
  out.total = { calls: info.kernels.filter(real).length };
  return out;
}

/** Kernel calls of f's forward + backward alone (tf.grads w.r.t. xs), and its median wall time unprofiled. */
async function termCalls(label, f, xs) {
  const ts = [];
  for (let i = 0; i < 8; i++) {
    const t0 = performance.now();
    tf.dispose(tf.grads(f)(xs));
    ts.push(performance.now() - t0);
  }
  const info = await tf.profile(() => {
    const r = tf.grads(f)(xs);
    tf.dispose(r);
  });
  const backendName = tf.getBackend();
  const ks = info.kernels.filter((kern) => tf.getKernel(kern.name, backendName) != null);
  const byName = {};
  for (const kern of ks) byName[kern.name] = (byName[kern.name] ?? 0) + 1;
  return {
    term: label,
    wallMs: +median(ts.slice(2)).toFixed(2),
    calls: ks.length,
    ms: +ks.reduce((x, kern) => x + (Number(kern.kernelTimeMs) || 0), 0).toFixed(2),
    top: Object.entries(byName)
      .sort((x, y) => y[1] - x[1])
      .slice(0, 10)
      .map(([n, c]) => `${n}×${c}`)
      .join(' '),
  };
}

const phaseStock = await phases(stepStock);
const phaseFused = await phases(stepFused);
const phasePerVar = await phases(stepPerVar);

// Terms alone, on tensors of the step's shapes.
const feats = tf.tidy(() => parts.net.features(tf.concat([batch.source.images, batch.target.images], 0), true));
const [ns] = batch.source.images.shape;
const sf = tf.slice(feats, [0, 0, 0, 0], [ns, -1, -1, -1]);
const tfeat = tf.slice(feats, [ns, 0, 0, 0], [-1, -1, -1, -1]);
const logits = tf.tidy(() => parts.net.logitsFromFeatures(sf, true));
const teacherFeat = parts.teacher.features(batch.target.images);
const upsampled = tf.image.resizeBilinear(logits, batch.source.labels.shape.slice(1), false, true);
const terms = [
  await termCalls(
    'seg loss as the step runs it (bilinear upsampling + fused CE)',
    (z) => segmentationCrossEntropy(z, batch.source.labels),
    [logits],
  ),
  await termCalls(
    'CE alone on full-size logits: fused',
    (z) => backendPkg.fusedSoftmaxCrossEntropyIgnore(z, batch.source.labels),
    [upsampled],
  ),
  await termCalls(
    'CE alone on full-size logits: composite softmaxCrossEntropyIgnore (before)',
    (z) => backendPkg.softmaxCrossEntropyIgnore(z, batch.source.labels),
    [upsampled],
  ),
  await termCalls('distillation', (a) => distill.targetGuidedDistillation(a, teacherFeat), [tfeat]),
  await termCalls(
    "spatial-aware adaptation, mode 'gather' (before)",
    (a, b) =>
      gatherSpatial.loss(a, b, {
        lambda: 0.5,
        sourceCrop: batch.source.crops,
        targetCrop: batch.target.crops,
        readStats: false,
      }).loss,
    [sf, tfeat],
  ),
  await termCalls(
    `spatial-aware adaptation, mode '${parts.spatial.mode}' (after)`,
    (a, b) =>
      parts.spatial.loss(a, b, {
        lambda: 0.5,
        sourceCrop: batch.source.crops,
        targetCrop: batch.target.crops,
        readStats: false,
      }).loss,
    [sf, tfeat],
  ),
];
tf.dispose([feats, sf, tfeat, logits, teacherFeat, upsampled]);

const result = {
  backend: engine.name,
  stepMs: {
    before: +median(times.stock).toFixed(1),
    after: +median(times.fused).toFixed(1),
    afterWithPerVariableAdam: +median(times.perVar).toFixed(1),
    minBefore: +Math.min(...times.stock).toFixed(1),
    minAfter: +Math.min(...times.fused).toFixed(1),
    reps,
    alternated: true,
  },
  optimizerWallMs: {
    stockAdam: +median(optWall.stock).toFixed(2),
    fusedAdam: +median(optWall.fused).toFixed(2),
    fusedAdamPerVariable: +median(optWall.perVar).toFixed(2),
  },
  wrappedWallMsMedian: wallMedians,
  tensorsLeakedPerStep: leaked,
  phasesBefore: phaseStock,
  phasesAfter: phaseFused,
  optimizerPhasePerVariable: phasePerVar.optimizer,
  terms,
};
console.log(JSON.stringify(result, null, 1));
