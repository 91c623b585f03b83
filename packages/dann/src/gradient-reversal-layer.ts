import * as tf from '@tensorflow/tfjs-core';
import { layers, type Shape } from '@tensorflow/tfjs-layers';
import { gradientReversal, resolveLambda } from './gradient-reversal.js';

type BaseLayerArgs = NonNullable<ConstructorParameters<typeof layers.Layer>[0]>;

/** Arguments of the {@link GradientReversal} layer: the usual tfjs-layers layer arguments plus λ. */
export interface GradientReversalArgs extends BaseLayerArgs {
  /** Reversal coefficient λ (default 1). Serialised in `getConfig()`. */
  lambda?: number;
}

/**
 * The gradient reversal layer of Ganin & Lempitsky (ICML 2015, https://arxiv.org/abs/1409.7495) as a
 * tfjs-layers layer: forward R_λ(x) = x, backward dR_λ/dx = −λ·I (see {@link gradientReversal}).
 *
 * λ is a plain number read on every `call`, so it can be changed between training steps
 * (`layer.lambda = dannLambda(p)` or `layer.setLambda(...)`). It is part of `getConfig()`, so a model
 * containing this layer saves and loads with the value it had when saved.
 *
 * Loading a saved model needs the class registered with tfjs serialisation: this module registers it
 * when it is evaluated, and {@link registerDannLayers} does it explicitly (call it before
 * `tf.loadLayersModel` if your bundler drops side-effect-only imports — the package is `sideEffects: false`).
 */
export class GradientReversal extends layers.Layer {
  /** Name under which the class is registered with `tf.serialization`. */
  static className = 'GradientReversal';
  private lambda_: number;

  constructor(args: GradientReversalArgs = {}) {
    const { lambda, ...rest } = args;
    super(rest);
    this.lambda_ = resolveLambda(lambda ?? 1, 'GradientReversal lambda');
    this.supportsMasking = true;
  }

  /** The current reversal coefficient λ. */
  get lambda(): number {
    return this.lambda_;
  }

  set lambda(value: number) {
    this.lambda_ = resolveLambda(value, 'GradientReversal lambda');
  }

  /** Sets λ for the following calls (same as assigning `layer.lambda`). */
  setLambda(value: number): void {
    this.lambda = value;
  }

  override computeOutputShape(inputShape: Shape | Shape[]): Shape | Shape[] {
    return inputShape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    if (Array.isArray(inputs) && inputs.length !== 1) {
      throw new Error(`@road/dann: GradientReversal expects exactly one input tensor, got ${inputs.length}`);
    }
    return gradientReversal(x, this.lambda_);
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), lambda: this.lambda_ };
  }
}

tf.serialization.registerClass(GradientReversal);

/**
 * Registers the layers of this package ({@link GradientReversal}) with `tf.serialization`, so that
 * `tf.loadLayersModel` / `tf.models.modelFromJSON` can rebuild them. Idempotent.
 */
export function registerDannLayers(): void {
  tf.serialization.registerClass(GradientReversal);
}
