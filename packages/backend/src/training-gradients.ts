import * as tf from '@tensorflow/tfjs-core';
import { batchNormGradConfig } from './batch-norm-grad.js';
import { dilatedConv2dGradConfig } from './conv2d-grad.js';
import { reluGradConfig } from './relu-grad.js';

/** Gradients {@link registerTrainingGradients} replaces, with the factory of ours from tfjs's. */
const PLANS: Record<string, (original: tf.GradConfig | undefined) => tf.GradConfig> = {
  [tf.Conv2D]: dilatedConv2dGradConfig,
  [tf.FusedBatchNorm]: batchNormGradConfig,
  [tf.Relu]: reluGradConfig,
};

const originals = new Map<string, tf.GradConfig | undefined>();
const ours = new Map<string, tf.GradConfig>();

/**
 * Replaces tfjs's gradients that block or slow a segmentation training step (gradients are global, not per
 * backend, so this changes every backend; results are the same up to float32 rounding):
 * - `Conv2D`: also differentiates dilated (atrous) convolutions, each backward pass one forward conv
 *   ({@link dilatedConv2dGradConfig}); dilation 1 keeps tfjs's gradient;
 * - `FusedBatchNorm`: broadcasts per-channel factors instead of tiling them to the full shape, and shares its
 *   reductions ({@link batchNormGradConfig});
 * - `Relu`: keeps the output instead of the input for the backward pass, so the input's buffer is freed after the
 *   forward pass ({@link reluGradConfig}).
 *
 * Call after tfjs's gradients are registered ({@link ensureGradients}; `initBackend` does both). Idempotent.
 * Returns the kernel names whose gradient it registered now.
 */
export function registerTrainingGradients(): string[] {
  const done: string[] = [];
  for (const [kernelName, make] of Object.entries(PLANS)) {
    const current = tf.getGradient(kernelName);
    if (current != null && current === ours.get(kernelName)) continue;
    originals.set(kernelName, current);
    const config = make(current);
    tf.registerGradient(config);
    ours.set(kernelName, config);
    done.push(kernelName);
  }
  return done;
}

/** Puts back the gradients {@link registerTrainingGradients} replaced (or removes ours where there was none). */
export function unregisterTrainingGradients(): void {
  for (const [kernelName, config] of [...ours]) {
    const original = originals.get(kernelName);
    if (tf.getGradient(kernelName) === config) {
      if (original != null) tf.registerGradient(original);
      else tf.unregisterGradient(kernelName);
    }
    ours.delete(kernelName);
    originals.delete(kernelName);
  }
}

/** Kernels whose registered gradient is currently ours (see {@link registerTrainingGradients}). */
export function trainingGradientNames(): string[] {
  return [...ours]
    .filter(([kernelName, config]) => tf.getGradient(kernelName) === config)
    .map(([kernelName]) => kernelName);
}
