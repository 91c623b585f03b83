import * as tf from '@tensorflow/tfjs-core';
import type { LayersModel } from '@tensorflow/tfjs-layers';
import { stopGradient } from './stop-gradient.js';

/** What {@link FrozenTeacher} can wrap: a tfjs-layers model, or any function from input to features. */
export type TeacherModel = LayersModel | ((x: tf.Tensor) => tf.Tensor);

/** Options of {@link FrozenTeacher}. */
export interface FrozenTeacherOptions {
  /**
   * Variables behind a function teacher (e.g. a backbone net's trainable variables): they are set
   * `trainable = false` so `optimizer.minimize` / `tf.variableGrads` without a var list never update them.
   * (A LayersModel is frozen through its own `trainable` flag.)
   */
  variables?: tf.Variable[];
  /** Whether `dispose()` also disposes the wrapped LayersModel (default true). */
  disposeModel?: boolean;
}

function isLayersModel(m: unknown): m is LayersModel {
  return (
    typeof m === 'object' &&
    m !== null &&
    typeof (m as LayersModel).apply === 'function' &&
    Array.isArray((m as LayersModel).weights) &&
    'trainable' in (m as object)
  );
}

/**
 * A teacher network that never trains: the frozen ImageNet model of ROAD-Net's target-guided distillation,
 * or the old model of KD / LwF.
 *
 * - A `LayersModel` gets `trainable = false` (every weight, nested models included), and is called with
 *   `training: false` (dropout off, batch-norm in inference mode).
 * - `features(x)` runs inside `tf.tidy` and returns a new tensor behind a stop-gradient: no gradient flows
 *   back into the teacher even inside `optimizer.minimize`. For the least memory, call it *outside* the
 *   function you pass to `minimize` and dispose the result after the step.
 */
export class FrozenTeacher {
  private model: TeacherModel | null;
  private readonly disposeModel: boolean;

  constructor(model: TeacherModel, options: FrozenTeacherOptions = {}) {
    if (typeof model !== 'function' && !isLayersModel(model)) {
      throw new Error('@road/distill: FrozenTeacher wraps a tfjs LayersModel or a function (x) => tf.Tensor');
    }
    this.model = model;
    this.disposeModel = options.disposeModel ?? true;
    if (isLayersModel(model)) {
      model.trainable = false;
      for (const w of model.weights) w.trainable = false;
    }
    for (const v of options.variables ?? []) v.trainable = false;
  }

  /** Teacher features (or outputs) for `x`, detached from the gradient tape. The caller owns the result. */
  features(x: tf.Tensor): tf.Tensor {
    const model = this.model;
    if (!model) throw new Error('@road/distill: FrozenTeacher.features called after dispose()');
    return tf.tidy(() => {
      const out = isLayersModel(model) ? model.apply(x, { training: false }) : model(x);
      if (Array.isArray(out)) {
        throw new Error(
          `@road/distill: FrozenTeacher model returned ${out.length} outputs; wrap it in a function that returns one tensor`,
        );
      }
      if (!(out instanceof tf.Tensor)) throw new Error('@road/distill: FrozenTeacher model did not return a tf.Tensor');
      return stopGradient(out);
    });
  }

  /** Disposes the wrapped LayersModel (unless `disposeModel: false`); later `features` calls throw. */
  dispose(): void {
    if (this.model && isLayersModel(this.model) && this.disposeModel) this.model.dispose();
    this.model = null;
  }
}
