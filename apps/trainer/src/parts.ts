import {
  copyBackboneWeights,
  createSegmentationNet,
  formatLoadReport,
  type InputNormalization,
  loadPretrainedWeights,
  netOptionsForWeights,
  normalizationForWeights,
  PretrainedLoadError,
  readWeightFile,
  type WeightFile,
  WeightFileError,
} from '@road/backbone';
import { createFusedAdam } from '@road/backend';
import { convDomainClassifier, SpatialAwareAdaptation } from '@road/dann';
import { FrozenTeacher } from '@road/distill';
import * as tf from '@tensorflow/tfjs-core';
import {
  checkNetIdentity,
  checkpointTensors,
  type LoadedCheckpoint,
  type NetIdentity,
  readCheckpoint,
  restoreSlots,
  type WeightSlot,
} from './checkpoint.js';
import type { TrainConfig } from './config.js';
import { EXIT, RoadError } from './errors.js';
import type { TrainParts } from './train-step.js';

/** The segmentation net type @road/backbone returns. */
export type SegNet = ReturnType<typeof createSegmentationNet>;

/** Classes of the teacher's rotation pretext task (0°, 90°, 180°, 270°). */
export const ROTATION_CLASSES = 4;

/**
 * Net options beyond name, attention and width that a checkpoint must record to rebuild the net: deeplabv2-resnet's
 * `depth`, what pretrained weights set (BN epsilon, which bottleneck conv strides), and HydraPlus settings other
 * than the defaults (`net.hydraplus`).
 */
export type WeightNetOptions = {
  depth?: number;
  bnEpsilon?: number;
  strideIn?: '1x1' | '3x3';
  attentionModules?: 'shared' | 'separate';
  attentionSources?: number[];
  attentionMaps?: number;
};

/** Creates the student net of a config. `options`: net options the pretrained weights need. */
export function buildNet(
  net: { name: string; attention: 'none' | 'hydraplus'; width?: number },
  numClasses: number,
  seed: number,
  options: WeightNetOptions = {},
): SegNet {
  return createSegmentationNet(net.name as Parameters<typeof createSegmentationNet>[0], {
    numClasses,
    inputChannels: 3,
    attention: net.attention,
    seed,
    ...(net.width !== undefined && net.width !== 1 ? { widthMultiplier: net.width } : {}),
    ...options,
  });
}

export function identityOf(
  net: { name: string; attention: string; width?: number },
  numClasses: number,
  extra: { normalization?: InputNormalization; options?: WeightNetOptions } = {},
): NetIdentity {
  return {
    name: net.name,
    attention: net.attention,
    numClasses,
    inputChannels: 3,
    ...(net.width !== undefined && net.width !== 1 ? { width: net.width } : {}),
    ...(extra.normalization && extra.normalization !== 'torch' ? { normalization: extra.normalization } : {}),
    ...(extra.options && Object.keys(extra.options).length ? { options: extra.options } : {}),
  };
}

/** The `net.hydraplus` settings as net options (only those that differ from the defaults, only with HydraPlus). */
function hydraPlusOptions(config: TrainConfig): WeightNetOptions {
  const h = config.net.hydraplus;
  if (config.net.attention !== 'hydraplus' || !h) return {};
  return {
    ...(h.modules !== 'shared' ? { attentionModules: h.modules } : {}),
    ...(h.sources ? { attentionSources: [...h.sources] } : {}),
    ...(h.maps !== undefined ? { attentionMaps: h.maps } : {}),
  };
}

/** Reads a weight file for a config key; errors name the key and the file. */
function readWeightsFor(key: string, path: string): WeightFile {
  try {
    return readWeightFile(path);
  } catch (e) {
    if (e instanceof WeightFileError) throw new RoadError(`config key "${key}": ${e.message}`, EXIT.badInput);
    throw e;
  }
}

/** Loads pretrained weights strictly into a net; a failed load is a RoadError carrying the load report. */
export function loadWeightsInto(net: SegNet, file: WeightFile, key: string, log?: (l: string) => void): void {
  try {
    const r = loadPretrainedWeights(net, file);
    log?.(`${key}: ${file.source} → ${net.name}: matched ${r.matched.length}, skipped ${r.skipped.length} (${r.map})`);
    for (const n of r.notes) log?.(`${key}: note: ${n}`);
  } catch (e) {
    if (e instanceof PretrainedLoadError) {
      throw new RoadError(`config key "${key}": ${formatLoadReport(e.report)}`, EXIT.badInput);
    }
    throw e;
  }
}

/** What pretrained weights decide for a run: the files, the input normalisation and net options. */
export interface WeightsPlan {
  student: WeightFile | null;
  /** Teacher weights: `teacher.weights`, else `net.weights` when no teacher checkpoint is given. */
  teacher: WeightFile | null;
  normalization: InputNormalization;
  netOptions: WeightNetOptions;
}

/**
 * Reads `net.weights` / `teacher.weights` and resolves `net.normalization: 'auto'` from their origin (`torch` when
 * there are none). Two files of different origins under `auto` are an error (the teacher and student see the same
 * normalised input).
 */
export function planWeights(config: TrainConfig): WeightsPlan {
  const student = config.net.weights ? readWeightsFor('net.weights', config.net.weights) : null;
  let teacher: WeightFile | null = null;
  if (config.teacher.weights) {
    teacher =
      config.teacher.weights === config.net.weights && student
        ? student
        : readWeightsFor('teacher.weights', config.teacher.weights);
  } else if (student && !config.teacher.checkpoint) {
    teacher = student;
  }
  let normalization: InputNormalization = 'torch';
  if (config.net.normalization !== 'auto') normalization = config.net.normalization;
  else {
    const a = student ? normalizationForWeights(student) : undefined;
    const b = teacher ? normalizationForWeights(teacher) : undefined;
    if (a && b && a !== b) {
      throw new RoadError(
        `net.weights (${student!.source}) expects '${a}' input normalisation, teacher.weights (${teacher!.source}) '${b}': set net.normalization explicitly`,
        EXIT.badInput,
      );
    }
    normalization = a ?? b ?? 'torch';
  }
  const ref = student ?? teacher;
  const netOptions: WeightNetOptions = {
    ...(config.net.depth !== undefined ? { depth: config.net.depth } : {}),
    ...hydraPlusOptions(config),
    ...(ref ? netOptionsForWeights(ref, config.net.name) : {}),
  };
  return { student, teacher, normalization, netOptions };
}

interface LayerVariableLike {
  name: string;
  shape: (number | null)[];
  dtype: string;
  read(): tf.Tensor;
  write(t: tf.Tensor): unknown;
}

/**
 * Every weight of a net (trainable and not: batch-norm moving statistics included), as checkpoint slots.
 * Uses the net's LayersModels (`backbone`, `head`, and any further model it exposes), deduplicated.
 */
export function netSlots(net: SegNet, group = 'net'): WeightSlot[] {
  const models = netModels(net);
  const seen = new Set<string>();
  const slots: WeightSlot[] = [];
  for (const m of models) {
    for (const w of m.weights as unknown as LayerVariableLike[]) {
      const id = (w as unknown as { id?: number }).id ?? w.name;
      const key = String(id);
      if (seen.has(key)) continue;
      seen.add(key);
      slots.push({
        group,
        name: w.name,
        shape: w.shape as number[],
        dtype: w.dtype === 'int32' ? 'int32' : 'float32',
        read: () => w.read(),
        write: (t) => {
          w.write(t);
        },
      });
    }
  }
  return slots;
}

function netModels(net: SegNet): { weights: unknown[] }[] {
  const n = net as unknown as Record<string, unknown>;
  const out: { weights: unknown[] }[] = [];
  // `model` (image → logits) holds every weight; backbone/head share those LayerVariables (deduplicated by id).
  for (const k of ['model', 'backbone', 'head']) {
    const m = n[k] as { weights?: unknown[] } | undefined;
    if (m && Array.isArray(m.weights)) out.push(m as { weights: unknown[] });
  }
  if (!out.length) throw new Error('netSlots: the net exposes no LayersModel (model/backbone/head)');
  return out;
}

/** Variables of the region classifiers as checkpoint slots. */
export function variableSlots(vars: tf.Variable[], group: string): WeightSlot[] {
  return vars.map((v) => ({
    group,
    name: v.name,
    shape: v.shape,
    dtype: v.dtype === 'int32' ? 'int32' : 'float32',
    read: () => v,
    write: (t) => v.assign(t),
  }));
}

/**
 * Creates the configured optimizer: Adam (@road/backend `createFusedAdam`, tfjs's AdamOptimizer with one fused
 * update kernel per step on cpu/wasm, the stock update elsewhere) or tfjs SGD with momentum.
 */
export function buildOptimizer(config: TrainConfig): tf.Optimizer {
  const o = config.optimizer;
  return o.name === 'adam' ? createFusedAdam(o.lr) : tf.train.momentum(o.lr, o.momentum);
}

/**
 * The optimizer's state as checkpoint slots plus scalars. Adam's running β-powers are saved as values: its
 * `setWeights` recomputes them with `pow`, which is not bit-identical to the running product, and exact resume
 * needs them exact.
 */
export async function optimizerState(
  optimizer: tf.Optimizer,
): Promise<{ slots: WeightSlot[]; scalars: Record<string, number>; dispose(): void }> {
  const named = await optimizer.getWeights();
  const slots = named.map((nt) => ({
    group: 'optimizer',
    name: nt.name,
    shape: nt.tensor.shape,
    dtype: (nt.tensor.dtype === 'int32' ? 'int32' : 'float32') as 'int32' | 'float32',
    read: () => nt.tensor,
    write: () => {
      throw new Error('optimizer slots are restored with restoreOptimizer');
    },
  }));
  const scalars: Record<string, number> = { iterations: optimizer.iterations };
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (o.accBeta1 && o.accBeta2) {
    scalars.accBeta1 = (await o.accBeta1.data())[0];
    scalars.accBeta2 = (await o.accBeta2.data())[0];
  }
  return {
    slots,
    scalars,
    dispose: () => named[0]?.tensor.dispose(), // the 'iter' scalar is made fresh by getWeights; the rest are the optimizer's
  };
}

/** Restores optimizer state written by {@link optimizerState}. */
export async function restoreOptimizer(
  optimizer: tf.Optimizer,
  ck: LoadedCheckpoint,
  scalars: Record<string, number>,
): Promise<void> {
  const tensors = checkpointTensors(ck, 'optimizer');
  if (!tensors.length) return;
  await optimizer.setWeights(tensors.map(({ name, tensor }) => ({ name, tensor })));
  tf.dispose(tensors.map((t) => t.tensor)); // setWeights made variables from them
  const o = optimizer as unknown as { accBeta1?: tf.Variable; accBeta2?: tf.Variable };
  if (o.accBeta1 && o.accBeta2 && scalars.accBeta1 !== undefined && scalars.accBeta2 !== undefined) {
    o.accBeta1.assign(tf.scalar(scalars.accBeta1));
    o.accBeta2.assign(tf.scalar(scalars.accBeta2));
  }
}

/** A teacher loaded from a `road pretrain` checkpoint. */
export interface LoadedTeacher {
  net: SegNet;
  teacher: FrozenTeacher;
  checkpoint: string;
}

/**
 * Loads a teacher checkpoint (a pretext-task net of the same architecture) and wraps its backbone in a
 * FrozenTeacher. Errors name the checkpoint when it holds another architecture.
 */
export function loadTeacher(path: string, student: { name: string; width?: number }, seed: number): LoadedTeacher {
  const ck = readCheckpoint(path);
  const id = ck.manifest.net;
  if (id.name !== student.name || (id.width ?? 1) !== (student.width ?? 1)) {
    throw new RoadError(
      `teacher checkpoint ${ck.dir} holds a ${id.name} (width ${id.width ?? 1}) backbone, the student is ${student.name} (width ${student.width ?? 1})`,
      EXIT.badInput,
    );
  }
  const net = buildNet({ name: id.name, attention: 'none', width: id.width }, id.numClasses, seed);
  checkNetIdentity(ck, identityOf({ name: id.name, attention: 'none', width: id.width }, id.numClasses));
  restoreSlots(ck, 'net', netSlots(net));
  return { net, teacher: new FrozenTeacher(net.backbone), checkpoint: ck.dir };
}

/** Everything a training run composes, plus how to save and restore it. */
export interface RunParts extends TrainParts {
  net: SegNet;
  spatialAdaptation: SpatialAwareAdaptation | null;
  teacherNet: SegNet | null;
  identity: NetIdentity;
  /** The input normalisation of this run (resolved from the weights when `net.normalization` is `auto`). */
  normalization: InputNormalization;
  dispose(): void;
}

/** Feature channels of a net (last axis of its backbone output). */
export function featureChannels(net: SegNet): number {
  const out = (net.backbone as unknown as { outputs: { shape: (number | null)[] }[] }).outputs[0].shape;
  return out[out.length - 1] as number;
}

/**
 * Builds the student, the teacher (if λ_dst > 0 or the student is initialised from it), the region classifiers
 * (if λ_spt > 0) and the optimizer.
 */
export function buildParts(
  config: TrainConfig,
  numClasses: number,
  options: { teacherCheckpoint?: string | null; log?: (line: string) => void } = {},
): RunParts {
  const plan = planWeights(config);
  const net = buildNet(config.net, numClasses, config.seed, plan.netOptions);
  const teacherPath = options.teacherCheckpoint ?? config.teacher.checkpoint;
  let teacherNet: SegNet | null = null;
  let teacher: FrozenTeacher | null = null;
  if (config.lambda.dst > 0 && !teacherPath && !plan.teacher) {
    net.dispose();
    throw new RoadError(
      'lambda.dst > 0 needs a teacher: set net.weights or teacher.weights to ImageNet weights (as the paper), or teacher.checkpoint to a `road pretrain` output (the no-weights fallback; `road demo` makes one)',
      EXIT.badInput,
    );
  }
  try {
    if (plan.student) loadWeightsInto(net, plan.student, 'net.weights', options.log);
    if (plan.teacher && (config.lambda.dst > 0 || (config.teacher.initStudent && !plan.student))) {
      // The frozen teacher: the trunk of an ImageNet model (its head is never used).
      teacherNet = buildNet({ ...config.net, attention: 'none' }, numClasses, config.seed, plan.netOptions);
      loadWeightsInto(
        teacherNet,
        plan.teacher,
        config.teacher.weights ? 'teacher.weights' : 'net.weights',
        options.log,
      );
      teacher = new FrozenTeacher(teacherNet.backbone);
      if (config.teacher.initStudent && !plan.student) copyBackboneWeights(teacherNet, net);
    }
  } catch (e) {
    net.dispose();
    teacherNet?.dispose();
    throw e;
  }
  if (!plan.teacher && teacherPath && (config.lambda.dst > 0 || config.teacher.initStudent)) {
    const t = loadTeacher(teacherPath, config.net, config.seed);
    teacherNet = t.net;
    teacher = t.teacher;
    if (config.teacher.initStudent && !plan.student) copyBackboneWeights(t.net, net);
  }
  let spatial: SpatialAwareAdaptation | null = null;
  if (config.lambda.spt > 0) {
    const channels = featureChannels(net);
    spatial = new SpatialAwareAdaptation({
      grid: config.grid,
      classifier: (r) =>
        convDomainClassifier({
          inChannels: channels,
          hidden: [Math.max(16, Math.min(256, channels))],
          kernelSize: 1,
          seed: config.seed * 1000 + r,
        }),
    });
  }
  const optimizer = buildOptimizer(config);
  return {
    net,
    teacher: config.lambda.dst > 0 ? teacher : null,
    spatial,
    spatialAdaptation: spatial,
    teacherNet,
    optimizer,
    normalization: plan.normalization,
    identity: identityOf(config.net, numClasses, { normalization: plan.normalization, options: plan.netOptions }),
    dispose() {
      net.dispose();
      teacherNet?.dispose();
      spatial?.dispose();
      optimizer.dispose();
    },
  };
}
