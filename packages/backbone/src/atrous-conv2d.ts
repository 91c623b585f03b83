import * as tf from '@tensorflow/tfjs-core';
import { initializers, layers } from '@tensorflow/tfjs-layers';
import { type InitializerName, makeInitializer } from './initializers.js';

type Kwargs = Record<string, unknown>;
type Shape = (number | null)[];
type LayerVariable = ReturnType<layers.Layer['addWeight']>;

/**
 * Marker that `@road/backend` puts on the `Conv2D` gradient config it registers, which differentiates dilated
 * convolutions (tfjs 4.22's own gradient refuses dilation > 1). A `Symbol.for` key, so this package does not
 * depend on `@road/backend`.
 */
const DILATED_CONV2D_GRADIENT = Symbol.for('@road/backend:conv2d-gradient-dilations');

/**
 * Whether the registered `Conv2D` gradient differentiates dilated convolutions (true after `@road/backend`'s
 * `initBackend()` or `registerTrainingGradients()`). When it does, {@link atrousConv2d} runs one dilated conv;
 * otherwise it goes through `spaceToBatchND`.
 */
export function hasDilatedConv2dGradient(): boolean {
  const g = tf.getGradient('Conv2D') as { [DILATED_CONV2D_GRADIENT]?: unknown } | undefined;
  return g?.[DILATED_CONV2D_GRADIENT] === true;
}

/**
 * How {@link atrousConv2d} computes the dilated conv: `'direct'` = one `conv2d` with `dilations = rate` (its
 * gradient needs a dilation-aware `Conv2D` gradient, see {@link hasDilatedConv2dGradient}); `'space-to-batch'` =
 * `spaceToBatchND → conv2d → batchToSpaceND` (differentiable with tfjs's own gradients); `'auto'` (default) =
 * direct when that gradient is registered, else space-to-batch.
 */
export type AtrousMethod = 'auto' | 'direct' | 'space-to-batch';

/**
 * Atrous (dilated) 2-D convolution with stride 1 that has gradients on every backend.
 *
 *   y[n, i, j, o] = Σ_{u,v,c} x[n, i + r·u − p_t, j + r·v − p_l, c] · w[u, v, c, o]
 *
 * With rate r the input is zero-padded (`same`: total (k−1)·r, top = ⌊total/2⌋ as in TensorFlow; `valid`: none).
 * When the registered `Conv2D` gradient handles dilations ({@link hasDilatedConv2dGradient}: `@road/backend`
 * registers one) this is one `conv2d` with `dilations = r`. Otherwise (tfjs refuses conv2d gradients for
 * dilation > 1) the padded input is padded further at the bottom/right to a multiple of r, split into r² phase
 * images by `spaceToBatchND`, convolved with the dense k×k kernel (`valid`), re-interleaved by `batchToSpaceND`,
 * and the extra rows/columns cropped. Both give the same values (up to float32 rounding).
 * With `same` padding and an odd kernel, taps that can only fall on padding (|u − c|·r ≥ H) are dropped first.
 *
 * @param x NHWC input.
 * @param filter `[k_h, k_w, C_in, C_out]` kernel.
 * @param rate dilation rate r ≥ 1 (the same along both axes).
 * @param padding `'same'` (output H×W) or `'valid'` (output (H − (k_h−1)·r) × (W − (k_w−1)·r)).
 * @param method see {@link AtrousMethod} (default `'auto'`).
 */
export function atrousConv2d(
  x: tf.Tensor4D,
  filter: tf.Tensor4D,
  rate: number,
  padding: 'same' | 'valid' = 'same',
  method: AtrousMethod = 'auto',
): tf.Tensor4D {
  if (!Number.isInteger(rate) || rate < 1) throw new Error(`atrousConv2d: rate must be an integer ≥ 1, got ${rate}`);
  if (padding !== 'same' && padding !== 'valid') {
    throw new Error(`atrousConv2d: padding must be 'same' or 'valid', got '${padding}'`);
  }
  if (method !== 'auto' && method !== 'direct' && method !== 'space-to-batch') {
    throw new Error(`atrousConv2d: method must be 'auto', 'direct' or 'space-to-batch', got '${method}'`);
  }
  if (x.rank !== 4 || filter.rank !== 4) {
    throw new Error(`atrousConv2d: expected rank-4 input and filter, got [${x.shape}] and [${filter.shape}]`);
  }
  if (x.shape[3] !== filter.shape[2]) {
    throw new Error(`atrousConv2d: input has ${x.shape[3]} channels but the filter expects ${filter.shape[2]}`);
  }
  if (rate === 1) return tf.conv2d(x, filter, 1, padding);
  const [, h, w] = x.shape;
  const [kh, kw] = filter.shape;
  if (padding === 'same' && kh % 2 === 1 && kw % 2 === 1) {
    // Taps whose offset from the centre, |u − c|·r, reaches past the map only ever see zero padding: drop them
    // (exact, gradients included). Matters for ASPP (rates up to 24) on small feature maps.
    const mh = Math.min((kh - 1) / 2, Math.floor((h - 1) / rate));
    const mw = Math.min((kw - 1) / 2, Math.floor((w - 1) / rate));
    if (2 * mh + 1 < kh || 2 * mw + 1 < kw) {
      return tf.tidy(() => {
        const trimmed = tf.slice(
          filter,
          [(kh - 1) / 2 - mh, (kw - 1) / 2 - mw, 0, 0],
          [2 * mh + 1, 2 * mw + 1, -1, -1],
        );
        return mh === 0 && mw === 0 ? tf.conv2d(x, trimmed, 1, 'same') : atrousConv2d(x, trimmed, rate, 'same', method);
      });
    }
  }
  const totalH = padding === 'same' ? (kh - 1) * rate : 0;
  const totalW = padding === 'same' ? (kw - 1) * rate : 0;
  if (h + totalH < (kh - 1) * rate + 1 || w + totalW < (kw - 1) * rate + 1) {
    throw new Error(
      `atrousConv2d: 'valid' input ${h}×${w} is smaller than the dilated kernel ${(kh - 1) * rate + 1}×${(kw - 1) * rate + 1}`,
    );
  }
  if (method === 'direct' || (method === 'auto' && hasDilatedConv2dGradient())) {
    return tf.conv2d(x, filter, 1, padding, 'NHWC', rate);
  }
  const top = Math.floor(totalH / 2);
  const left = Math.floor(totalW / 2);
  const extraH = (rate - ((h + totalH) % rate)) % rate;
  const extraW = (rate - ((w + totalW) % rate)) % rate;
  return tf.tidy(() => {
    const phases = tf.spaceToBatchND(
      x,
      [rate, rate],
      [
        [top, totalH - top + extraH],
        [left, totalW - left + extraW],
      ],
    );
    const y = tf.conv2d(phases as tf.Tensor4D, filter, 1, 'valid');
    return tf.batchToSpaceND(
      y,
      [rate, rate],
      [
        [0, extraH],
        [0, extraW],
      ],
    ) as tf.Tensor4D;
  });
}

/** Constructor arguments of {@link AtrousConv2D} (also its serialised config). */
export interface AtrousConv2DArgs {
  filters: number;
  kernelSize: number | [number, number];
  /** Dilation rate r ≥ 1 (same on both axes). */
  dilationRate: number;
  padding?: 'same' | 'valid';
  useBias?: boolean;
  activation?: 'linear' | 'relu';
  kernelInitializer?: InitializerName;
  /** Seed of the kernel initializer. */
  seed?: number;
  name?: string;
  trainable?: boolean;
  inputShape?: Shape;
  batchInputShape?: Shape;
  dtype?: 'float32';
}

/**
 * tfjs-layers layer for {@link atrousConv2d}: a stride-1 dilated convolution with trainable gradients (one dilated
 * conv when the registered `Conv2D` gradient handles dilations, else through `spaceToBatchND`).
 * Its weights are named `kernel` and `bias` with Keras shapes, so Keras `Conv2D(dilation_rate=r)` weights load by
 * name. Serialisable (`className = 'AtrousConv2D'`, registered at import and by {@link registerBackboneLayers}).
 */
export class AtrousConv2D extends layers.Layer {
  static className = 'AtrousConv2D';
  readonly filters: number;
  readonly kernelSize: [number, number];
  readonly dilationRate: number;
  readonly padding: 'same' | 'valid';
  readonly useBias: boolean;
  readonly activation: 'linear' | 'relu';
  readonly kernelInitializerName: InitializerName;
  readonly seed: number | undefined;
  private kernel: LayerVariable | null = null;
  private bias: LayerVariable | null = null;

  constructor(args: AtrousConv2DArgs) {
    super(args);
    if (!Number.isInteger(args.filters) || args.filters < 1) {
      throw new Error(`AtrousConv2D: filters must be a positive integer, got ${args.filters}`);
    }
    if (!Number.isInteger(args.dilationRate) || args.dilationRate < 1) {
      throw new Error(`AtrousConv2D: dilationRate must be an integer ≥ 1, got ${args.dilationRate}`);
    }
    this.filters = args.filters;
    this.kernelSize = typeof args.kernelSize === 'number' ? [args.kernelSize, args.kernelSize] : args.kernelSize;
    this.dilationRate = args.dilationRate;
    this.padding = args.padding ?? 'same';
    if (this.padding !== 'same' && this.padding !== 'valid') {
      throw new Error(`AtrousConv2D: padding must be 'same' or 'valid', got '${this.padding}'`);
    }
    this.useBias = args.useBias ?? true;
    this.activation = args.activation ?? 'linear';
    if (this.activation !== 'linear' && this.activation !== 'relu') {
      throw new Error(`AtrousConv2D: activation must be 'linear' or 'relu', got '${this.activation}'`);
    }
    this.kernelInitializerName = args.kernelInitializer ?? 'glorotUniform';
    this.seed = args.seed;
  }

  override build(inputShape: Shape | Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const channels = shape[shape.length - 1];
    if (channels == null)
      throw new Error(`AtrousConv2D '${this.name}': the channel dimension of the input must be known`);
    this.kernel = this.addWeight(
      'kernel',
      [this.kernelSize[0], this.kernelSize[1], channels, this.filters],
      'float32',
      makeInitializer(this.kernelInitializerName, this.seed),
    );
    if (this.useBias) this.bias = this.addWeight('bias', [this.filters], 'float32', initializers.zeros());
    this.built = true;
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor4D;
      let y: tf.Tensor4D = atrousConv2d(x, this.kernel!.read() as tf.Tensor4D, this.dilationRate, this.padding);
      if (this.bias) y = tf.add(y, this.bias.read());
      if (this.activation === 'relu') y = tf.relu(y);
      return y;
    });
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as Shape;
    const shrink = (d: number | null, k: number) =>
      d == null || this.padding === 'same' ? d : d - (k - 1) * this.dilationRate;
    return [s[0], shrink(s[1], this.kernelSize[0]), shrink(s[2], this.kernelSize[1]), this.filters];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return {
      ...super.getConfig(),
      filters: this.filters,
      kernelSize: [...this.kernelSize],
      dilationRate: this.dilationRate,
      padding: this.padding,
      useBias: this.useBias,
      activation: this.activation,
      kernelInitializer: this.kernelInitializerName,
      ...(this.seed === undefined ? {} : { seed: this.seed }),
    };
  }
}
tf.serialization.registerClass(AtrousConv2D);
