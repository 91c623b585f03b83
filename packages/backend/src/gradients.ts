import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

/** What {@link ensureGradients} found and did. */
export interface GradientStatus {
  /** Comparison / logical kernels that had no gradient and now have the zero gradient. */
  zeroGradients: string[];
  /** true when gradients were missing and `@tensorflow/tfjs` was loaded to register them. */
  loadedUnion: boolean;
  /** true when the gradients were already registered (by `@tensorflow/tfjs` or a bundle). */
  registeredBefore: boolean;
  /** tfjs-core version of the copy this package uses. */
  coreVersion: string;
}

/** Kernels whose gradient must exist for a conv-net training step; their absence means "none registered". */
const PROBE_GRADIENTS = ['Conv2D', 'FusedBatchNorm', 'Relu', 'Softmax', 'ResizeBilinear', 'MaxPool'];

const nodeRequire = (): NodeJS.Require => createRequire(import.meta.url);

/**
 * Makes sure the gradient functions of every tfjs op are registered with the ONE tfjs-core copy this
 * process uses, so that `tf.grads` / `optimizer.minimize` work ("gradient function not found"
 * otherwise).
 *
 * In Node, tfjs-core's main entry (a CJS bundle) registers no gradients, and its ESM file
 * `dist/register_all_gradients.js` cannot be loaded by Node (extensionless imports) and would be a
 * second module graph anyway. `@tensorflow/tfjs`'s CJS bundle registers all of them against the
 * shared tfjs-core, so when they are missing this requires it lazily (≈60 ms; `@road/backend`
 * depends on it, library code never imports it statically). A bundle that already imported
 * `@tensorflow/tfjs-core/dist/register_all_gradients` is left alone.
 *
 * Throws when gradients are still missing afterwards, or when `@tensorflow/tfjs` brought a second
 * tfjs-core copy (its `Tensor` class differs from ours).
 */
export function ensureGradients(): GradientStatus {
  const has = () => PROBE_GRADIENTS.every((k) => tf.getGradient(k) != null);
  const registeredBefore = has();
  let loadedUnion = false;
  if (!registeredBefore) {
    let union: { Tensor?: unknown; version?: Record<string, string> };
    try {
      union = nodeRequire()('@tensorflow/tfjs');
    } catch (e) {
      throw new Error(
        `@road/backend: tfjs gradients are not registered and '@tensorflow/tfjs' cannot be loaded ` +
          `(${(e as Error).message.split('\n')[0]}); import '@tensorflow/tfjs' or ` +
          `'@tensorflow/tfjs-core/dist/register_all_gradients' before initBackend()`,
      );
    }
    loadedUnion = true;
    if (union.Tensor !== tf.Tensor) {
      throw new Error(
        `@road/backend: '@tensorflow/tfjs' uses another tfjs-core copy (${union.version?.['tfjs-core']}) than ` +
          `@road/backend (${tf.version_core}); install one @tensorflow/tfjs-core version`,
      );
    }
    const missing = PROBE_GRADIENTS.filter((k) => tf.getGradient(k) == null);
    if (missing.length > 0) {
      throw new Error(`@road/backend: gradients still missing after loading '@tensorflow/tfjs': ${missing.join(', ')}`);
    }
  }
  return { loadedUnion, registeredBefore, coreVersion: tf.version_core, zeroGradients: registerZeroGradients() };
}

/**
 * Comparisons and logical ops are piecewise constant: their gradient is 0 (TensorFlow and PyTorch
 * stop backpropagation there). tfjs 4.22 registers that zero gradient for GreaterEqual but not for
 * Greater, Less, LessEqual, Equal, NotEqual, LogicalAnd/Or/Not, so `tf.where(tf.greater(a, b), a, b)`
 * fails in backprop ("gradient function not found for Greater") whenever a or b is differentiated.
 */
const ZERO_GRADIENT_KERNELS: Record<string, string[]> = {
  Greater: ['a', 'b'],
  Less: ['a', 'b'],
  LessEqual: ['a', 'b'],
  Equal: ['a', 'b'],
  NotEqual: ['a', 'b'],
  LogicalAnd: ['a', 'b'],
  LogicalOr: ['a', 'b'],
  LogicalNot: ['x'],
};

function registerZeroGradients(): string[] {
  const added: string[] = [];
  for (const [kernelName, inputs] of Object.entries(ZERO_GRADIENT_KERNELS)) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: inputs,
      gradFunc: (_dy, saved) => Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
    });
    added.push(kernelName);
  }
  return added;
}

/**
 * Paths of the tfjs-core entry files loaded in this process through Node's module system (one entry
 * per copy; a healthy process has exactly one). Code bundled into a single file does not appear here.
 */
export function tfjsCoreCopies(): string[] {
  const cache = nodeRequire().cache;
  const copies = Object.keys(cache).filter((p) => /[\\/]@tensorflow[\\/]tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/.test(p));
  return [...new Set(copies)];
}
