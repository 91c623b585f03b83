import { lowMemoryVariableGrads } from '@road/backend';
import { dannLambda, dannLearningRate } from '@road/dann';
import type { Crop } from '@road/datasets';
import { targetGuidedDistillation } from '@road/distill';
import * as tf from '@tensorflow/tfjs-core';
import type { TrainConfig } from './config.js';
import { NonFiniteLossError } from './errors.js';
import { l2NormalizeChannels } from './feature-norm.js';
import { segmentationCrossEntropy } from './seg-loss.js';

/** What the step needs from a segmentation net (structurally the @road/backbone net). */
export interface StepNet {
  features(x: tf.Tensor4D, training?: boolean): tf.Tensor4D;
  logitsFromFeatures(features: tf.Tensor4D, training?: boolean): tf.Tensor4D;
  trainableVariables(): tf.Variable[];
}

/** What the step needs from the frozen teacher (structurally @road/distill's FrozenTeacher). */
export interface StepTeacher {
  features(x: tf.Tensor4D): tf.Tensor;
}

/** What the step needs from spatial-aware adaptation (structurally @road/dann's SpatialAwareAdaptation). */
export interface StepSpatial {
  loss(
    source: tf.Tensor,
    target: tf.Tensor,
    options: {
      lambda: number;
      sourceCrop?: Crop[];
      targetCrop?: Crop[];
      readStats?: boolean;
      accuracyTensor?: boolean;
    },
  ): { loss: tf.Scalar; accuracy: number; accuracyTensor?: tf.Scalar };
  readonly trainableWeights: tf.Variable[];
}

/** The trainable parts one training step composes. */
export interface TrainParts {
  net: StepNet;
  /** Frozen teacher on the pretrained backbone (needed when λ_dst > 0). */
  teacher: StepTeacher | null;
  /** Region classifiers (needed when λ_spt > 0). */
  spatial: StepSpatial | null;
  optimizer: tf.Optimizer;
}

/** One step's inputs: a labelled source batch and (for dst/spt) an unlabelled target batch. */
export interface StepBatch {
  source: { images: tf.Tensor4D; labels: tf.Tensor3D; crops: Crop[] };
  target?: { images: tf.Tensor4D; crops: Crop[] };
}

/** Per-term losses and schedule values of one step (plain numbers). */
export interface StepResult {
  step: number;
  seg: number;
  dst: number;
  spt: number;
  total: number;
  /** Region domain-classifier accuracy (NaN when spt is off). */
  domainAccuracy: number;
  /** Gradient-reversal coefficient of this step (DANN ramp). */
  lambdaGrl: number;
  lr: number;
}

/** The function {@link createTrainStep} returns. */
export interface TrainStep {
  (batch: StepBatch, step: number): Promise<StepResult>;
  /** The variables the optimizer updates, in a fixed order (net's, then region classifiers'). */
  readonly variables: tf.Variable[];
  /** Which terms are active. */
  readonly uses: { dst: boolean; spt: boolean };
}

/** Training progress p ∈ [0, 1] of step `step` (1-based) out of `steps`. */
export function progressOf(step: number, steps: number): number {
  return Math.min(1, Math.max(0, (step - 1) / Math.max(1, steps)));
}

/** Learning rate at progress p for the configured schedule. */
export function learningRateAt(config: Pick<TrainConfig, 'optimizer'>, p: number): number {
  const { lr, lrSchedule } = config.optimizer;
  if (lrSchedule === 'dann') return dannLearningRate(p, { mu0: lr });
  if (lrSchedule === 'poly') return lr * (1 - p) ** 0.9;
  return lr;
}

/** Sets the learning rate of a tfjs Adam / Momentum / SGD optimizer between steps. */
export function setLearningRate(optimizer: tf.Optimizer, lr: number): void {
  const o = optimizer as unknown as { setLearningRate?: (v: number) => void; learningRate: number };
  if (typeof o.setLearningRate === 'function') o.setLearningRate(lr);
  else o.learningRate = lr;
}

/**
 * Builds the ROAD-Net training step (Chen, Li & Van Gool, CVPR 2018):
 *
 *   L = L_seg(source) + λ_dst · L_dst(student(target), teacher(target)) + λ_spt · L_spt(source, target)
 *
 * - L_seg: pixel-wise softmax CE on the source labels (ignore 255), {@link segmentationCrossEntropy};
 * - L_dst: target-guided distillation (@road/distill `targetGuidedDistillation`) between the student's and the
 *   frozen teacher's features on the *target* images;
 * - L_spt: spatial-aware adaptation (@road/dann `SpatialAwareAdaptation`): one domain classifier per region of
 *   a grid over the full image, after gradient reversal with the DANN ramp λ_p = dannLambda(p, schedule).
 *
 * One optimizer step updates the net's and the region classifiers' variables together (the reversal makes it
 * a min-max). A NaN/±Inf term throws {@link NonFiniteLossError} naming it, *before* any weight changes.
 *
 * Asynchronous: the loss terms (and the domain accuracy) are read back with one `await t.data()` of one stacked
 * tensor, after the backward pass and before the optimizer step — backends without synchronous reads (webgpu in
 * Node: `dataSync` needs `OffscreenCanvas`) train too, and a GPU backend syncs once per step.
 * Terms with weight 0 are not computed (source-only costs one forward/backward of the source batch).
 *
 * The benchmark harness times exactly this function.
 */
export function createTrainStep(config: TrainConfig, parts: TrainParts): TrainStep {
  const uses = { dst: config.lambda.dst > 0, spt: config.lambda.spt > 0 };
  if (uses.dst && !parts.teacher) throw new Error('createTrainStep: lambda.dst > 0 needs a teacher (parts.teacher)');
  if (uses.spt && !parts.spatial)
    throw new Error('createTrainStep: lambda.spt > 0 needs spatial-aware adaptation (parts.spatial)');
  const variables = [
    ...parts.net.trainableVariables(),
    ...(uses.spt && parts.spatial ? parts.spatial.trainableWeights : []),
  ];
  const inject = config.debug.nonFiniteAt;
  // BatchNorm mode of the student's forward passes (`frozen`: moving statistics, not updated).
  const bnTraining = config.net.bn !== 'frozen';

  const fn = (async (batch: StepBatch, step: number): Promise<StepResult> => {
    const p = progressOf(step, config.steps);
    const lambdaGrl = dannLambda(p, config.schedule);
    const lr = learningRateAt(config, p);
    setLearningRate(parts.optimizer, lr);
    if ((uses.dst || uses.spt) && !batch.target) throw new Error('createTrainStep: dst/spt need a target batch');
    let domainAccuracy = Number.NaN;
    const kept: Partial<Record<'seg' | 'dst' | 'spt' | 'accuracy', tf.Scalar>> = {};
    const poison = (term: 'seg' | 'dst' | 'spt' | 'total', x: tf.Scalar): tf.Scalar =>
      inject && inject.step === step && inject.term === term ? (tf.mul(x, Number.NaN) as tf.Scalar) : x;

    // The frozen teacher runs before the gradient tape: none of its activations is recorded or kept for the
    // backward pass (on vgg16-fcn that is ~0.5 GB at 320×640); its output is a constant of the loss.
    const teacherFeatures =
      uses.dst && batch.target && parts.teacher ? (parts.teacher.features(batch.target.images) as tf.Tensor4D) : null;
    const taped = (f: () => tf.Scalar) => {
      try {
        // Same gradients as tf.variableGrads, but each activation / output gradient is freed as soon as the
        // backward walk is past it (tfjs keeps them all to the end: vgg16-fcn at 320×640 peaked at 2.4 GB of
        // tensors in the backward pass with tf.variableGrads, 1.3 GB with this).
        return lowMemoryVariableGrads(f, variables);
      } finally {
        teacherFeatures?.dispose();
      }
    };
    const { value, grads } = taped(() => {
      const src = batch.source;
      const tgt = batch.target;
      // One forward of source and target together when their sizes match (BatchNorm then sees both domains,
      // as in one adaptation batch); separately otherwise.
      let sf: tf.Tensor4D;
      let tfeat: tf.Tensor4D | null = null;
      const needTarget = (uses.dst || uses.spt) && tgt;
      if (needTarget && tgt && sameSize(src.images, tgt.images)) {
        const both = parts.net.features(tf.concat([src.images, tgt.images], 0) as tf.Tensor4D, bnTraining);
        const ns = src.images.shape[0];
        sf = tf.slice(both, [0, 0, 0, 0], [ns, -1, -1, -1]);
        tfeat = tf.slice(both, [ns, 0, 0, 0], [-1, -1, -1, -1]);
      } else {
        sf = parts.net.features(src.images, bnTraining);
        if (needTarget && tgt) tfeat = parts.net.features(tgt.images, bnTraining);
      }
      const seg = poison('seg', segmentationCrossEntropy(parts.net.logitsFromFeatures(sf, bnTraining), src.labels));
      kept.seg = tf.keep(seg);
      let total: tf.Scalar = seg;
      if (uses.dst && tfeat && teacherFeatures) {
        const dst = poison('dst', targetGuidedDistillation(tfeat, teacherFeatures) as tf.Scalar);
        kept.dst = tf.keep(dst);
        total = tf.add(total, tf.mul(dst, config.lambda.dst)) as tf.Scalar;
      }
      if (uses.spt && tgt && tfeat && parts.spatial) {
        // Crops carry `flipped`; @road/dann's region assignment mirrors flipped feature maps itself.
        // `sptFeatures: l2`: the classifiers see unit-norm channel vectors (the reversed gradient cannot grow ‖x‖).
        const dIn = (x: tf.Tensor4D) => (config.sptFeatures === 'l2' ? l2NormalizeChannels(x) : x);
        const r = parts.spatial.loss(dIn(sf), dIn(tfeat), {
          lambda: lambdaGrl,
          sourceCrop: src.crops,
          targetCrop: tgt.crops,
          readStats: false,
          accuracyTensor: true,
        });
        if (r.accuracyTensor) kept.accuracy = tf.keep(r.accuracyTensor);
        else domainAccuracy = r.accuracy;
        const spt = poison('spt', r.loss);
        kept.spt = tf.keep(spt);
        total = tf.add(total, tf.mul(spt, config.lambda.spt)) as tf.Scalar;
      }
      return poison('total', total);
    });

    // One asynchronous read of every number of the step (terms not computed read as 0), before the update.
    const order = [value, kept.seg, kept.dst, kept.spt, kept.accuracy];
    const present = order.filter(Boolean) as tf.Scalar[];
    let values: Float32Array | Int32Array | Uint8Array;
    try {
      const packed = tf.stack(present);
      try {
        values = await packed.data();
      } finally {
        packed.dispose();
      }
    } catch (e) {
      tf.dispose([...present, ...Object.values(grads)]);
      throw e;
    }
    const at = (t: tf.Scalar | undefined) => (t ? values[present.indexOf(t)] : 0);
    if (kept.accuracy) domainAccuracy = at(kept.accuracy);
    const result: StepResult = {
      step,
      seg: at(kept.seg),
      dst: at(kept.dst),
      spt: at(kept.spt),
      total: at(value),
      domainAccuracy,
      lambdaGrl,
      lr,
    };
    tf.dispose(present);
    for (const term of ['seg', 'dst', 'spt', 'total'] as const) {
      if (!Number.isFinite(result[term])) {
        tf.dispose(Object.values(grads));
        throw new NonFiniteLossError(term, step, result[term]);
      }
    }
    // Every variable in a fixed order; a variable without a gradient this step (e.g. a region classifier whose
    // region had no positions) is passed with a null gradient, so the optimizer's per-index slots stay aligned.
    parts.optimizer.applyGradients(
      variables.map((v) => ({ name: v.name, tensor: grads[v.name] ?? null })) as unknown as Parameters<
        tf.Optimizer['applyGradients']
      >[0],
    );
    tf.dispose(Object.values(grads));
    return result;
  }) as TrainStep;
  Object.defineProperty(fn, 'variables', { value: variables });
  Object.defineProperty(fn, 'uses', { value: uses });
  return fn;
}

function sameSize(a: tf.Tensor4D, b: tf.Tensor4D): boolean {
  return a.shape[1] === b.shape[1] && a.shape[2] === b.shape[2] && a.shape[3] === b.shape[3];
}
