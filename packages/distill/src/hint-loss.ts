import * as tf from '@tensorflow/tfjs-core';
import { checkTensor, stopGradient } from './stop-gradient.js';

/** A regressor mapping student features to the teacher's channel count: an object with `apply`, or a function. */
export type HintRegressorLike = { apply(x: tf.Tensor): tf.Tensor } | ((x: tf.Tensor) => tf.Tensor);

/** A 1×1 convolution regressor r(x) = x * W + b with its own variables (see {@link hintRegressor}). */
export interface HintRegressor {
  apply(x: tf.Tensor): tf.Tensor;
  readonly kernel: tf.Variable;
  readonly bias: tf.Variable;
  readonly trainableWeights: tf.Variable[];
  dispose(): void;
}

let regressorId = 0;

/**
 * Creates the FitNets regressor r: a 1×1 convolution from `inChannels` to `outChannels` (Glorot-uniform
 * kernel, zero bias), for [N, H, W, C_in] → [N, H, W, C_out]. Train its variables together with the student.
 */
export function hintRegressor(
  inChannels: number,
  outChannels: number,
  options: { seed?: number; name?: string } = {},
): HintRegressor {
  for (const [k, v] of [
    ['inChannels', inChannels],
    ['outChannels', outChannels],
  ] as const) {
    if (!Number.isInteger(v) || v <= 0)
      throw new Error(`@road/distill: hintRegressor ${k} must be a positive integer, got ${v}`);
  }
  const limit = Math.sqrt(6 / (inChannels + outChannels));
  const prefix = `${options.name ?? 'hint_regressor'}_${regressorId++}`;
  const kernel = tf.tidy(() =>
    tf.variable(
      tf.randomUniform([1, 1, inChannels, outChannels], -limit, limit, 'float32', options.seed),
      true,
      `${prefix}_kernel`,
    ),
  );
  const bias = tf.tidy(() => tf.variable(tf.zeros([outChannels]), true, `${prefix}_bias`));
  return {
    kernel,
    bias,
    trainableWeights: [kernel, bias],
    apply(x: tf.Tensor): tf.Tensor {
      checkTensor(x, 'hintRegressor input', 4);
      if (x.shape[3] !== inChannels) {
        throw new Error(`@road/distill: hintRegressor expects ${inChannels} input channels, got shape [${x.shape}]`);
      }
      return tf.tidy(() => tf.add(tf.conv2d(x as tf.Tensor4D, kernel as tf.Tensor4D, 1, 'same'), bias));
    },
    dispose() {
      tf.dispose([kernel, bias]);
    },
  };
}

/** Options of {@link hintLoss}. */
export interface HintLossOptions {
  /** Applied to the student features before the comparison (e.g. {@link hintRegressor} when channels differ). */
  regressor?: HintRegressorLike;
}

/**
 * FitNets hint loss (Romero et al., "FitNets: Hints for Thin Deep Nets", ICLR 2015,
 * https://arxiv.org/abs/1412.6550, eq. 3): the student's guided layer, passed through a regressor r, regresses
 * the teacher's hint layer:
 *
 *   L_HT = mean over all elements of (r(f_s) − f_t)²
 *
 * (the paper writes ½‖·‖²; we take the mean so the scale does not grow with the map size — the constant
 * goes into the loss weight). The teacher gets no gradient. Shapes after the regressor must match exactly.
 */
export function hintLoss(
  studentFeatures: tf.Tensor,
  teacherFeatures: tf.Tensor,
  options: HintLossOptions = {},
): tf.Scalar {
  checkTensor(studentFeatures, 'hintLoss studentFeatures');
  checkTensor(teacherFeatures, 'hintLoss teacherFeatures');
  const { regressor } = options;
  return tf.tidy(() => {
    const s =
      regressor === undefined
        ? studentFeatures
        : typeof regressor === 'function'
          ? regressor(studentFeatures)
          : regressor.apply(studentFeatures);
    if (!tf.util.arraysEqual(s.shape, teacherFeatures.shape)) {
      throw new Error(
        `@road/distill: hintLoss shape mismatch: student${regressor ? ' after the regressor' : ''} [${s.shape}] vs teacher [${teacherFeatures.shape}]${
          regressor ? '' : ' (pass a regressor, e.g. hintRegressor(Cs, Ct), when channels differ)'
        }`,
      );
    }
    return tf.mean(tf.squaredDifference(s, stopGradient(teacherFeatures))) as tf.Scalar;
  });
}
