import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';

/** What {@link ensureGradients} found and did. */
export interface GradientStatus {
  /** Comparison / logical kernels that had no gradient and now have the zero gradient. */
  zeroGradients: string[];
  /** true when gradients were missing and `@tensorflow/tfjs` was loaded to register them. */
  loadedUnion: boolean;
  /** The file that registered the missing gradients (the bundled `tfjs-gradients.cjs` or `@tensorflow/tfjs`); null when none was needed. */
  loadedFrom: string | null;
  /** true when the gradients were already registered (by `@tensorflow/tfjs` or a bundle). */
  registeredBefore: boolean;
  /** tfjs-core version of the copy this package uses. */
  coreVersion: string;
}

/** Kernels whose gradient must exist for a conv-net training step; their absence means "none registered". */
const PROBE_GRADIENTS = ['Conv2D', 'FusedBatchNorm', 'Relu', 'Softmax', 'ResizeBilinear', 'MaxPool'];

const nodeRequire = (): NodeJS.Require => createRequire(import.meta.url);

/**
 * Where the gradients come from when none are registered, in order: tfjs-core's gradients bundled next to this file
 * at build time (`dist/tfjs-gradients.cjs`, see scripts/bundle-gradients.mjs), then `@tensorflow/tfjs` when the user
 * has it (its bundle registers them too; also the path when running from source).
 */
const GRADIENT_SOURCES = ['./tfjs-gradients.cjs', '../dist/tfjs-gradients.cjs', '@tensorflow/tfjs'];

/**
 * Makes sure the gradient functions of every tfjs op are registered with the ONE tfjs-core copy this
 * process uses, so that `tf.grads` / `optimizer.minimize` work ("gradient function not found"
 * otherwise).
 *
 * In Node, tfjs-core's main entry (a CJS bundle) registers no gradients, and its ESM file
 * `dist/register_all_gradients.js` cannot be loaded by Node (extensionless imports). `@road/backend`
 * ships that file bundled for Node (`dist/tfjs-gradients.cjs`, ≈0.3 MB; it registers through tfjs-core's
 * process-wide gradient registry) and requires it lazily when gradients are missing; without it,
 * `@tensorflow/tfjs` is used when installed. Gradients already registered (by `@tensorflow/tfjs` or a
 * bundle) are left alone.
 *
 * Throws when gradients are still missing afterwards, or when `@tensorflow/tfjs` brought a second
 * tfjs-core copy (its `Tensor` class differs from ours).
 */
export function ensureGradients(): GradientStatus {
  const has = () => PROBE_GRADIENTS.every((k) => tf.getGradient(k) != null);
  const registeredBefore = has();
  let loadedFrom: string | null = null;
  if (!registeredBefore) {
    const req = nodeRequire();
    const failures: string[] = [];
    for (const source of GRADIENT_SOURCES) {
      let mod: { Tensor?: unknown; version?: Record<string, string> };
      try {
        mod = req(source);
      } catch (e) {
        failures.push(`${source}: ${(e as Error).message.split('\n')[0]}`);
        continue;
      }
      if (source === '@tensorflow/tfjs' && mod.Tensor !== tf.Tensor) {
        throw new Error(
          `@road/backend: '@tensorflow/tfjs' uses another tfjs-core copy (${mod.version?.['tfjs-core']}) than ` +
            `@road/backend (${tf.version_core}); install one @tensorflow/tfjs-core version`,
        );
      }
      loadedFrom = source.startsWith('.') ? req.resolve(source) : source;
      break;
    }
    if (loadedFrom == null) {
      throw new Error(
        `@road/backend: tfjs gradients are not registered and none of their sources loads (${failures.join('; ')}); ` +
          `import '@tensorflow/tfjs' before initBackend()`,
      );
    }
    const missing = PROBE_GRADIENTS.filter((k) => tf.getGradient(k) == null);
    if (missing.length > 0) {
      throw new Error(`@road/backend: gradients still missing after loading ${loadedFrom}: ${missing.join(', ')}`);
    }
  }
  return {
    loadedUnion: loadedFrom === '@tensorflow/tfjs',
    loadedFrom,
    registeredBefore,
    coreVersion: tf.version_core,
    zeroGradients: registerZeroGradients(),
  };
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

/** Registers the zero gradient of the kernels in ZERO_GRADIENT_KERNELS that have none; returns those it added. */
export function registerZeroGradients(): string[] {
  const added: string[] = [];
  for (const [kernelName, inputs] of Object.entries(ZERO_GRADIENT_KERNELS)) {
    if (tf.getGradient(kernelName) != null) continue;
    tf.registerGradient({
      kernelName,
      inputsToSave: inputs,
      gradFunc: (_dy, saved) =>
        Object.fromEntries(inputs.map((name, i) => [name, () => tf.zeros(saved[i].shape, 'float32')])),
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
  const copies = Object.keys(cache).filter((p) =>
    /[\\/]@tensorflow[\\/]tfjs-core[\\/]dist[\\/]tf-core\.node\.js$/.test(p),
  );
  return [...new Set(copies)];
}
