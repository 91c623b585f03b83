import * as tf from '@tensorflow/tfjs-core';
import { softmaxCrossEntropyIgnore } from './softmax-cross-entropy.js';

/** One piece of a ROAD training step, small enough to run on every backend in a test. */
export interface TrainingProbe {
  name: string;
  /** Float inputs (uniform in [−1, 1) from the seed) — the loss is differentiated with respect to each. */
  inputs: Record<string, { shape: number[]; seed: number }>;
  /** Integer inputs (labels, indices), given as values. */
  ints?: Record<string, { shape: number[]; values: number[] }>;
  /** A scalar loss of the inputs. */
  loss(t: Record<string, tf.Tensor>): tf.Scalar;
}

type T4 = tf.Tensor4D;
const f = (shape: number[], seed: number) => ({ shape, seed });
/** Linear read-out Σ y·r with a fixed r, so gradients of every output element are exercised. */
const readout = (y: tf.Tensor, seed: number) =>
  tf.sum(tf.mul(y, tf.randomUniform(y.shape, -1, 1, 'float32', seed))) as tf.Scalar;

/**
 * Atrous (dilated) 3×3 conv the way tfjs can differentiate it (the probe's own; the public op is @road/backbone's
 * `atrousConv2d`): spaceToBatchND by the rate, a
 * 'valid' conv, batchToSpaceND back (tfjs conv2d gradients refuse dilation > 1). Input padded so
 * that the output keeps the input size (H, W divisible by rate).
 */
export function atrousConv2dSpaceToBatch(x: T4, w: T4, rate: number): T4 {
  const k = w.shape[0];
  const pad = (rate * (k - 1)) / 2;
  const s2b = tf.spaceToBatchND(
    x,
    [rate, rate],
    [
      [pad, pad],
      [pad, pad],
    ],
  );
  const y = tf.conv2d(s2b as T4, w, 1, 'valid');
  return tf.batchToSpaceND(
    y,
    [rate, rate],
    [
      [0, 0],
      [0, 0],
    ],
  ) as T4;
}

/**
 * The pieces of a ROAD-Net training step (segmentation backbone, distillation, spatial-aware
 * domain adaptation, losses, optimiser), each as a tiny differentiable probe. Running them forward
 * and backward touches every kernel the training step needs; {@link trainingStepKernels} collects
 * those kernel names.
 */
export function trainingProbes(): TrainingProbe[] {
  const N = 2;
  const x = f([N, 8, 10, 3], 1);
  return [
    ...(
      [
        [3, 1, 'same'],
        [3, 2, 'same'],
        [3, 2, 'valid'],
        [1, 2, 'same'],
        [5, 1, 'valid'],
      ] as const
    ).map(([k, s, pad]) => ({
      name: `conv2d ${k}×${k} stride ${s} ${pad} + bias + relu`,
      inputs: { x, w: f([k, k, 3, 5], 2), b: f([5], 3) },
      loss: (t: Record<string, tf.Tensor>) => readout(tf.relu(tf.add(tf.conv2d(t.x as T4, t.w as T4, s, pad), t.b)), 4),
    })),
    {
      name: 'atrous conv rate 2 (spaceToBatchND / batchToSpaceND)',
      inputs: { x, w: f([3, 3, 3, 4], 5) },
      loss: (t) => readout(atrousConv2dSpaceToBatch(t.x as T4, t.w as T4, 2), 6),
    },
    {
      name: 'dilated conv rate 2 same and rate 3 valid, direct (needs the Conv2D gradient initBackend registers)',
      inputs: { x, w: f([3, 3, 3, 4], 5) },
      loss: (t) =>
        tf.add(
          readout(tf.conv2d(t.x as T4, t.w as T4, 1, 'same', 'NHWC', 2), 6),
          readout(tf.conv2d(t.x as T4, t.w as T4, 1, 'valid', 'NHWC', [1, 3]), 7),
        ) as tf.Scalar,
    },
    {
      name: 'depthwise conv 3×3 stride 1 and 2',
      inputs: { x, w: f([3, 3, 3, 2], 7) },
      loss: (t) =>
        tf.add(
          readout(tf.depthwiseConv2d(t.x as T4, t.w as T4, 1, 'same'), 8),
          readout(tf.depthwiseConv2d(t.x as T4, t.w as T4, 2, 'same'), 9),
        ) as tf.Scalar,
    },
    {
      name: 'conv2dTranspose 3×3 stride 2 (learned upsampling)',
      inputs: { x: f([N, 4, 5, 3], 10), w: f([3, 3, 4, 3], 11) },
      loss: (t) => readout(tf.conv2dTranspose(t.x as T4, t.w as T4, [N, 8, 10, 4], 2, 'same'), 12),
    },
    {
      name: 'resizeBilinear ×2 (both corner modes) and resizeNearestNeighbor',
      inputs: { x: f([N, 4, 5, 3], 13) },
      loss: (t) =>
        tf.addN([
          readout(tf.image.resizeBilinear(t.x as T4, [8, 10]), 14),
          readout(tf.image.resizeBilinear(t.x as T4, [7, 9], true), 15),
          readout(tf.image.resizeBilinear(t.x as T4, [8, 10], false, true), 16),
          readout(tf.image.resizeNearestNeighbor(t.x as T4, [8, 10]), 17),
        ]) as tf.Scalar,
    },
    {
      name: 'batch norm with batch statistics (moments + batchNorm)',
      inputs: { x, gamma: f([3], 18), beta: f([3], 19) },
      loss: (t) => {
        const { mean, variance } = tf.moments(t.x, [0, 1, 2]);
        return readout(tf.batchNorm(t.x, mean, variance, t.beta, t.gamma, 1e-3), 20);
      },
    },
    {
      name: 'maxPool 3×3 stride 2 same, avgPool 2×2 stride 2 valid',
      inputs: { x },
      loss: (t) =>
        tf.add(
          readout(tf.maxPool(t.x as T4, 3, 2, 'same'), 21),
          readout(tf.avgPool(t.x as T4, 2, 2, 'valid'), 22),
        ) as tf.Scalar,
    },
    {
      name: 'activations: relu, relu6, leakyRelu, elu, sigmoid, tanh, softplus',
      inputs: { x: f([2, 3, 5], 23) },
      loss: (t) =>
        tf.addN(
          [
            tf.relu(t.x),
            tf.relu6(tf.mul(t.x, 8)),
            tf.leakyRelu(t.x, 0.2),
            tf.elu(t.x),
            tf.sigmoid(t.x),
            tf.tanh(t.x),
            tf.softplus(t.x),
          ].map((y, i) => readout(y, 24 + i)),
        ) as tf.Scalar,
    },
    {
      name: 'softmax cross-entropy with ignore label 255 (oneHot / where / notEqual)',
      inputs: { logits: f([N, 3, 4, 5], 31) },
      ints: {
        labels: {
          shape: [N, 3, 4],
          values: [0, 1, 2, 3, 4, 255, 1, 1, 0, 255, 2, 3, 4, 4, 0, 1, 255, 255, 2, 3, 0, 1, 2, 3],
        },
      },
      loss: (t) => softmaxCrossEntropyIgnore(t.logits as T4, t.labels as tf.Tensor3D, 255),
    },
    {
      name: 'cross-entropy by gather of log-probabilities (GatherV2 → UnsortedSegmentSum)',
      inputs: { logits: f([6, 4], 32) },
      ints: { index: { shape: [6], values: [0, 5, 10, 15, 17, 22] } },
      loss: (t) => tf.neg(tf.mean(tf.gather(tf.reshape(tf.logSoftmax(t.logits), [-1]), t.index))) as tf.Scalar,
    },
    {
      name: 'tf.losses softmax and sigmoid cross-entropy, softmax',
      inputs: { logits: f([4, 5], 33), target: f([4, 5], 34) },
      loss: (t) => {
        const p = tf.softmax(t.target);
        const z = tf.sigmoid(t.target);
        return tf.addN([
          tf.losses.softmaxCrossEntropy(p, t.logits),
          tf.losses.sigmoidCrossEntropy(z, t.logits),
          readout(tf.softmax(t.logits), 35),
        ]) as tf.Scalar;
      },
    },
    {
      name: 'sigmoid BCE built from ops: max(x,0) − x·z + log1p(exp(−|x|)) (domain classifier)',
      inputs: { logits: f([N, 4, 5, 1], 36) },
      loss: (t) => {
        const z = tf.cast(tf.greater(tf.randomUniform(t.logits.shape, 0, 1, 'float32', 37), 0.5), 'float32');
        const xl = t.logits;
        return tf.mean(tf.add(tf.sub(tf.relu(xl), tf.mul(xl, z)), tf.log1p(tf.exp(tf.neg(tf.abs(xl)))))) as tf.Scalar;
      },
    },
    {
      name: 'distillation: temperature KL(teacher ‖ student), MSE, feature L2 norm',
      inputs: { student: f([N, 3, 4, 5], 38), teacher: f([N, 3, 4, 5], 39) },
      loss: (t) => {
        const T = 2;
        const pt = tf.softmax(tf.div(t.teacher, T));
        const kl = tf.sum(
          tf.mul(pt, tf.sub(tf.logSoftmax(tf.div(t.teacher, T)), tf.logSoftmax(tf.div(t.student, T)))),
          -1,
        );
        const mse = tf.mean(tf.squaredDifference(t.student, t.teacher));
        const l2 = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(t.student, t.teacher)), -1), 1e-6));
        return tf.addN([tf.mul(tf.mean(kl), T * T), mse, tf.mean(l2)]) as tf.Scalar;
      },
    },
    {
      name: 'attention (HydraPlus-style): matMul, batched matMul, softmax over positions, sigmoid gate',
      inputs: { feat: f([N, 6, 4], 40), wq: f([4, 4], 41), wk: f([4, 4], 42) },
      loss: (t) => {
        const flat = tf.reshape(t.feat, [-1, 4]);
        const q = tf.reshape(tf.matMul(flat, t.wq), [N, 6, 4]);
        const k = tf.reshape(tf.matMul(flat, t.wk), [N, 6, 4]);
        const attn = tf.softmax(tf.div(tf.matMul(q, k, false, true), 2));
        const out = tf.mul(tf.matMul(attn, t.feat), tf.sigmoid(tf.mean(t.feat, -1, true)));
        return readout(out, 43);
      },
    },
    {
      name: 'tensor plumbing: concat, slice, pad, mirrorPad, transpose, tile, stack, reverse, squeeze/expandDims',
      inputs: { a: f([N, 4, 5, 3], 44), b: f([N, 4, 5, 2], 45) },
      loss: (t) => {
        const c = tf.concat([t.a, t.b], 3);
        const parts = [
          tf.slice(c, [0, 1, 1, 0], [N, 2, 3, 4]),
          tf.pad(t.a, [
            [0, 0],
            [1, 2],
            [2, 1],
            [0, 0],
          ]),
          tf.mirrorPad(
            t.a,
            [
              [0, 0],
              [1, 1],
              [1, 1],
              [0, 0],
            ],
            'reflect',
          ),
          tf.transpose(c, [0, 3, 1, 2]),
          tf.tile(t.b, [1, 2, 1, 1]),
          tf.stack([t.a, tf.reverse(t.a, 2)]),
          tf.expandDims(tf.squeeze(tf.slice(t.b, [0, 0, 0, 0], [N, 4, 5, 1]), [3]), 1),
        ];
        return tf.addN(parts.map((p, i) => readout(p, 46 + i))) as tf.Scalar;
      },
    },
    {
      name: 'elementwise + reductions: where/select, maximum, minimum, clipByValue, pow, sqrt, rsqrt, exp, log, reduce max/min/mean/sum',
      inputs: { a: f([3, 4, 5], 60), b: f([3, 4, 5], 61) },
      loss: (t) => {
        const pos = tf.add(tf.abs(t.a), 0.5);
        const terms = [
          tf.where(tf.greater(t.a, t.b), t.a, tf.mul(t.b, 2)),
          tf.maximum(t.a, t.b),
          tf.minimum(t.a, t.b),
          tf.clipByValue(t.a, -0.5, 0.5),
          tf.pow(pos, 1.5),
          tf.sqrt(pos),
          tf.rsqrt(pos),
          tf.exp(t.b),
          tf.log(pos),
          tf.div(t.a, pos),
          tf.max(t.a, -1),
          tf.min(t.b, 1),
          tf.mean(t.a, [0, 2]),
          tf.sum(tf.square(t.b), 0),
        ];
        return tf.addN(terms.map((p, i) => readout(p, 62 + i))) as tf.Scalar;
      },
    },
    {
      name: 'gradient reversal (customGrad, λ = 0.3) into a domain classifier',
      inputs: { feat: f([N, 4, 5, 3], 80), w: f([1, 1, 3, 1], 81) },
      loss: (t) => {
        const lambda = 0.3;
        const reverse = tf.customGrad(((v: tf.Tensor) => ({
          value: tf.clone(v),
          gradFunc: (dy: tf.Tensor) => tf.mul(dy, -lambda),
        })) as never);
        const logits = tf.conv2d(reverse(t.feat) as T4, t.w as T4, 1, 'same');
        return tf.mean(tf.losses.sigmoidCrossEntropy(tf.onesLike(logits), logits)) as tf.Scalar;
      },
    },
  ];
}

/** Float and int tensors of a probe (values identical on every backend). */
export function probeTensors(probe: TrainingProbe): Record<string, tf.Tensor> {
  const t: Record<string, tf.Tensor> = {};
  for (const [k, spec] of Object.entries(probe.inputs))
    t[k] = tf.randomUniform(spec.shape, -1, 1, 'float32', spec.seed);
  for (const [k, spec] of Object.entries(probe.ints ?? {})) t[k] = tf.tensor(spec.values, spec.shape, 'int32');
  return t;
}

/** Loss and gradients (with respect to every float input, in `inputs` order) of a probe on the current backend. */
export function probeLossAndGrads(probe: TrainingProbe): { loss: number; grads: Record<string, Float32Array> } {
  return tf.tidy(() => {
    const t = probeTensors(probe);
    const names = Object.keys(probe.inputs);
    const { value, grads } = tf.valueAndGrads((...xs: tf.Tensor[]) => {
      const all = { ...t };
      names.forEach((n, i) => {
        all[n] = xs[i];
      });
      return probe.loss(all);
    })(names.map((n) => t[n]));
    const out: Record<string, Float32Array> = {};
    names.forEach((n, i) => {
      out[n] = grads[i].dataSync() as Float32Array;
    });
    return { loss: value.dataSync()[0], grads: out };
  });
}

/** One optimiser step of each kind the trainer uses (SGD with momentum, Adam) on a small conv. */
function optimiserProbe(): void {
  const x = tf.randomUniform([2, 6, 6, 3], -1, 1, 'float32', 90) as T4;
  const w = tf.variable(tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 91));
  for (const opt of [tf.train.momentum(0.01, 0.9), tf.train.adam(0.001), tf.train.sgd(0.01)]) {
    const loss = opt.minimize(() => tf.mean(tf.square(tf.conv2d(x, w as tf.Tensor4D, 1, 'same'))) as tf.Scalar, true);
    if (loss != null) loss.dispose();
    opt.dispose();
  }
  tf.dispose([x, w]);
}

/**
 * Names of every kernel the training probes run, forward and backward, plus optimiser updates —
 * recorded with `tf.profile` on the current backend. These are the kernels a backend must have for
 * road to train on it.
 */
export async function trainingStepKernels(): Promise<string[]> {
  // Under IS_TEST the engine leak-checks every kernel, and inside tf.profile that check misfires on
  // customGrad ops (tf.losses.softmaxCrossEntropy) as an unhandled rejection: profile without it.
  const isTest = tf.env().getBool('IS_TEST');
  tf.env().set('IS_TEST', false);
  try {
    const info = await tf.profile(() => {
      for (const probe of trainingProbes()) probeLossAndGrads(probe);
      optimiserProbe();
      return tf.scalar(0);
    });
    tf.dispose(info.result as tf.Tensor);
    // kernelNames also lists customGrad ops ('logSoftmax__op', 'forward'): keep real kernels, i.e.
    // those registered for the backend that just ran them.
    const backend = tf.getBackend();
    return [...new Set(info.kernelNames)].filter((k) => tf.getKernel(k, backend) != null).sort();
  } finally {
    tf.env().set('IS_TEST', isTest);
  }
}

/** The kernels among `kernelNames` that have no implementation registered for `backendName`. */
export function missingKernels(backendName: string, kernelNames: readonly string[]): string[] {
  return kernelNames.filter((k) => tf.getKernel(k, backendName) == null);
}
