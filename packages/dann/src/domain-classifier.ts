import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers, type Sequential, sequential } from '@tensorflow/tfjs-layers';

/**
 * Anything that maps features to one domain logit per sample (or per position) and owns trainable
 * variables. {@link DomainClassifier} implements it; so can your own module.
 */
export interface DomainClassifierLike {
  /** Logits (>0 ⇒ "target"). Must be callable inside a gradient tape. */
  apply(x: tf.Tensor, options?: { training?: boolean }): tf.Tensor;
  /** The variables an optimizer should update. */
  readonly trainableWeights: tf.Variable[];
  /** All variables (trainable or not). Optional. */
  getWeights?(): tf.Variable[];
  /** Frees the variables. Optional. */
  dispose?(): void;
  /** The head as per-position affine layers, if it is one (see DomainClassifier.pointwiseLayers). Optional. */
  pointwiseLayers?(): { kernel: tf.Variable; bias: tf.Variable | null; activation: string }[] | null;
}

/** Activations accepted by the built-in heads (tfjs-layers activation identifiers). */
export type DomainClassifierActivation = 'relu' | 'elu' | 'selu' | 'tanh' | 'sigmoid' | 'linear';

/** Options of the DANN MLP head ({@link mlpDomainClassifier}). */
export interface MlpDomainClassifierOptions {
  /** Feature length C of the input vectors (the last axis). */
  inputDim: number;
  /** Hidden widths (default [1024, 1024], as in DANN). `[]` gives a linear classifier. */
  hidden?: number[];
  /** Dropout rate after every hidden layer, active only with `training: true` (default 0.5). */
  dropout?: number;
  /** Hidden activation (default 'relu'). */
  activation?: DomainClassifierActivation;
  /** Seed for the Glorot-uniform kernel initialiser (default: random). */
  seed?: number;
  /** Prefix of the layer names (default 'domain_mlp'). */
  name?: string;
}

/** Options of the fully-convolutional per-position head ({@link convDomainClassifier}). */
export interface ConvDomainClassifierOptions {
  /** Channels C of the input feature map [N, H, W, C]. */
  inChannels: number;
  /** Hidden conv widths (default [256, 256]). `[]` gives a single conv to one logit. */
  hidden?: number[];
  /** Kernel size of every conv, 'same' padding, stride 1 (default 1: each position classified on its own). */
  kernelSize?: 1 | 3;
  /** Dropout rate after every hidden conv, active only with `training: true` (default 0). */
  dropout?: number;
  /** Hidden activation (default 'relu'). */
  activation?: DomainClassifierActivation;
  /** Seed for the Glorot-uniform kernel initialiser (default: random). */
  seed?: number;
  /** Prefix of the layer names (default 'domain_conv'). */
  name?: string;
}

function checkPositiveInt(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new Error(`@road/dann: ${what} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

function checkRate(value: number, what: string): number {
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) {
    throw new Error(`@road/dann: ${what} must be in [0, 1), got ${String(value)}`);
  }
  return value;
}

let uid = 0;

/**
 * A domain classifier D(f) → logit, built as a tfjs-layers `Sequential` model:
 *
 * - `kind: 'mlp'` — the DANN head of Ganin et al. (JMLR 2016, https://arxiv.org/abs/1505.07818):
 *   Dense(h1) → act → Dropout → … → Dense(1). Input [..., C] (any rank; the last axis is the feature),
 *   output [..., 1].
 * - `kind: 'conv'` — a fully-convolutional per-position head: Conv(k×k, h1) → act → [Dropout] → … →
 *   Conv(k×k, 1). Input [N, H, W, C], output [N, H, W, 1]. With k = 1 it also accepts [P, C] (one row per
 *   position) and returns [P, 1]; a 1×1 head is then the same function as an MLP on each position.
 *
 * Logits > 0 mean "target" (label 1), < 0 "source" (label 0), matching {@link domainAdversarialLoss}.
 * Create with {@link mlpDomainClassifier} / {@link convDomainClassifier}.
 */
export class DomainClassifier implements DomainClassifierLike {
  /** The underlying tfjs-layers model (save/load it like any LayersModel). */
  readonly model: Sequential;
  readonly kind: 'mlp' | 'conv';
  /** Input feature length / channels. */
  readonly inputDim: number;
  /** Kernel size (1 for the MLP). */
  readonly kernelSize: number;

  private constructor(model: Sequential, kind: 'mlp' | 'conv', inputDim: number, kernelSize: number) {
    this.model = model;
    this.kind = kind;
    this.inputDim = inputDim;
    this.kernelSize = kernelSize;
  }

  /** Builds the DANN MLP head. See {@link MlpDomainClassifierOptions}. */
  static mlp(options: MlpDomainClassifierOptions): DomainClassifier {
    const inputDim = checkPositiveInt(options?.inputDim, 'mlpDomainClassifier inputDim');
    const hidden = options.hidden ?? [1024, 1024];
    const dropout = checkRate(options.dropout ?? 0.5, 'mlpDomainClassifier dropout');
    const activation = options.activation ?? 'relu';
    const prefix = `${options.name ?? 'domain_mlp'}_${uid++}`;
    const model = sequential({ name: prefix });
    let seed = options.seed;
    const init = () => initializers.glorotUniform(seed === undefined ? {} : { seed: seed++ });
    hidden.forEach((width, i) => {
      checkPositiveInt(width, `mlpDomainClassifier hidden[${i}]`);
      model.add(
        layers.dense({
          units: width,
          activation,
          kernelInitializer: init(),
          name: `${prefix}_fc${i + 1}`,
          ...(i === 0 ? { inputShape: [inputDim] } : {}),
        }),
      );
      if (dropout > 0) model.add(layers.dropout({ rate: dropout, name: `${prefix}_drop${i + 1}` }));
    });
    model.add(
      layers.dense({
        units: 1,
        kernelInitializer: init(),
        name: `${prefix}_logit`,
        ...(hidden.length === 0 ? { inputShape: [inputDim] } : {}),
      }),
    );
    return new DomainClassifier(model, 'mlp', inputDim, 1);
  }

  /** Builds the fully-convolutional per-position head. See {@link ConvDomainClassifierOptions}. */
  static conv(options: ConvDomainClassifierOptions): DomainClassifier {
    const inChannels = checkPositiveInt(options?.inChannels, 'convDomainClassifier inChannels');
    const hidden = options.hidden ?? [256, 256];
    const kernelSize = options.kernelSize ?? 1;
    if (kernelSize !== 1 && kernelSize !== 3) {
      throw new Error(`@road/dann: convDomainClassifier kernelSize must be 1 or 3, got ${String(kernelSize)}`);
    }
    const dropout = checkRate(options.dropout ?? 0, 'convDomainClassifier dropout');
    const activation = options.activation ?? 'relu';
    const prefix = `${options.name ?? 'domain_conv'}_${uid++}`;
    const model = sequential({ name: prefix });
    let seed = options.seed;
    const init = () => initializers.glorotUniform(seed === undefined ? {} : { seed: seed++ });
    const widths = [...hidden, 1];
    widths.forEach((width, i) => {
      checkPositiveInt(width, `convDomainClassifier hidden[${i}]`);
      const last = i === widths.length - 1;
      model.add(
        layers.conv2d({
          filters: width,
          kernelSize,
          padding: 'same',
          activation: last ? 'linear' : activation,
          kernelInitializer: init(),
          name: last ? `${prefix}_logit` : `${prefix}_conv${i + 1}`,
          ...(i === 0 ? { inputShape: [null, null, inChannels] } : {}),
        }),
      );
      if (!last && dropout > 0) model.add(layers.dropout({ rate: dropout, name: `${prefix}_drop${i + 1}` }));
    });
    return new DomainClassifier(model, 'conv', inChannels, kernelSize);
  }

  /**
   * Domain logits for `x` (see the class doc for shapes). `training: true` enables dropout.
   * Callable inside `tf.grad` / `optimizer.minimize`. The caller owns the result.
   */
  apply(x: tf.Tensor, options: { training?: boolean } = {}): tf.Tensor {
    const training = options.training ?? false;
    const c = x.shape[x.rank - 1];
    if (c !== this.inputDim) {
      throw new Error(
        `@road/dann: DomainClassifier (${this.kind}) expects ${this.inputDim} features on the last axis, got shape [${x.shape}]`,
      );
    }
    return tf.tidy(() => {
      if (this.kind === 'mlp') {
        const flat = x.rank === 2 ? x : tf.reshape(x, [-1, c]);
        const out = this.model.apply(flat, { training }) as tf.Tensor;
        return x.rank === 2 ? out : tf.reshape(out, [...x.shape.slice(0, -1), 1]);
      }
      if (x.rank === 4) return this.model.apply(x, { training }) as tf.Tensor;
      if (x.rank === 2 && this.kernelSize === 1) {
        const out = this.model.apply(tf.reshape(x, [x.shape[0], 1, 1, c]), { training }) as tf.Tensor;
        return tf.reshape(out, [x.shape[0], 1]);
      }
      throw new Error(
        `@road/dann: conv DomainClassifier (kernel ${this.kernelSize}) expects [N, H, W, ${this.inputDim}]${
          this.kernelSize === 1 ? ` or [P, ${this.inputDim}]` : ''
        }, got shape [${x.shape}]`,
      );
    });
  }

  /** The trainable variables (kernels and biases). */
  get trainableWeights(): tf.Variable[] {
    return this.model.trainableWeights.map((w) => w.read() as tf.Variable);
  }

  /**
   * The head as a chain of per-position affine maps y = act(x·W + b) (W [C_in, C_out] views of the variables),
   * or null when it is not one (3×3 convs, dropout layers). Lets @road/dann's SpatialAwareAdaptation run all
   * region heads as one batched matMul chain.
   */
  pointwiseLayers(): { kernel: tf.Variable; bias: tf.Variable | null; activation: string }[] | null {
    if (this.kernelSize !== 1) return null;
    const out: { kernel: tf.Variable; bias: tf.Variable | null; activation: string }[] = [];
    for (const layer of this.model.layers) {
      const l = layer as unknown as {
        kernel?: { read(): tf.Tensor };
        bias?: { read(): tf.Tensor } | null;
        getConfig(): { activation?: string };
      };
      if (!l.kernel) return null; // dropout or another non-affine layer
      out.push({
        kernel: l.kernel.read() as tf.Variable,
        bias: l.bias ? (l.bias.read() as tf.Variable) : null,
        activation: String(l.getConfig().activation ?? 'linear'),
      });
    }
    return out;
  }

  /** All variables of the head. */
  getWeights(): tf.Variable[] {
    return this.model.weights.map((w) => w.read() as tf.Variable);
  }

  /** Disposes the variables. */
  dispose(): void {
    this.model.dispose();
  }
}

/** The DANN MLP domain classifier (default 1024-1024-1, ReLU, dropout 0.5). See {@link DomainClassifier}. */
export function mlpDomainClassifier(options: MlpDomainClassifierOptions): DomainClassifier {
  return DomainClassifier.mlp(options);
}

/** A fully-convolutional per-position domain classifier (default 1×1 convs 256-256-1). See {@link DomainClassifier}. */
export function convDomainClassifier(options: ConvDomainClassifierOptions): DomainClassifier {
  return DomainClassifier.conv(options);
}
