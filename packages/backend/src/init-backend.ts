import * as tf from '@tensorflow/tfjs-core';
import { ensureGradients, tfjsCoreCopies } from './gradients.js';
import { BACKEND_ORDER, type BackendName, DEFAULT_LOADERS, reasonOf, TF_BACKEND_NAME } from './loaders.js';
import { registerTrainingGradients, trainingGradientNames } from './training-gradients.js';
import { registerTrainingKernels, type TrainingKernelReport } from './wasm/register-kernels.js';

/** A backend {@link initBackend} tried and passed over, with the error that made it pass. */
export interface SkippedBackend {
  name: BackendName;
  reason: string;
}

/** What {@link initBackend} chose. */
export interface BackendInfo {
  /** The road backend now running every tfjs op. */
  name: BackendName;
  /** Faster backends that could not load, in the order tried, with the real reason. */
  skipped: SkippedBackend[];
  /** The tfjs-core backend name (`tf.getBackend()`), e.g. 'tensorflow' for both TensorFlow packages. */
  tfBackend: string;
  /** tfjs-core version, and how many copies of tfjs-core Node's module cache holds (1; 0 inside a single-file bundle). */
  tfjsCore: { version: string; copies: number };
  /** Training kernels registered on the chosen backend (wasm: the ones it lacks or runs slowly). */
  kernels: TrainingKernelReport | null;
  /** Kernels whose gradient is road's (every backend): `Conv2D` (dilations), `FusedBatchNorm` (broadcasting). */
  gradients: string[];
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * One backend (must load, else initBackend throws with the reason) or an ordered list to try.
   * Default: {@link BACKEND_ORDER}, 'tensorflow-gpu' → 'tensorflow' → 'webgpu' → 'wasm' → 'cpu'.
   */
  prefer?: BackendName | BackendName[];
  /** Receives one human-readable line per decision (chosen backend, each skip and its reason). */
  log?: (line: string) => void;
  /**
   * Replacement loaders, e.g. for tests or for a custom build. A loader resolves once the engine runs
   * on its backend, and throws (with the reason) when the backend cannot load.
   */
  loaders?: Partial<Record<BackendName, () => Promise<void>>>;
}

let current: BackendInfo | null = null;

/**
 * What the last successful {@link initBackend} chose, while the engine still runs on that backend
 * (null before, or after something else called `tf.setBackend`).
 */
export function currentBackendInfo(): BackendInfo | null {
  return current != null && tf.getBackend() === current.tfBackend ? current : null;
}

function isBackendName(name: unknown): name is BackendName {
  return typeof name === 'string' && (BACKEND_ORDER as readonly string[]).includes(name);
}

/**
 * Chooses and initialises the fastest tfjs engine that works here and prepares it for training.
 *
 * Tries, in order, `tensorflow-gpu` (@tensorflow/tfjs-node-gpu with a CUDA GPU), `tensorflow`
 * (@tensorflow/tfjs-node), `webgpu` (Dawn through the `webgpu` package + tfjs-backend-webgpu, real
 * GPU adapters only), `wasm` (tfjs-backend-wasm) and `cpu`, and skips what cannot load with the
 * error that stopped it (missing native addon, no CUDA device, no WebGPU adapter, ...). Naming one
 * backend in `prefer` makes its failure an error. Then:
 * - registers all tfjs gradients with the single tfjs-core copy ({@link ensureGradients}), then replaces the
 *   `Conv2D` gradient by one that also differentiates dilated convs and the `FusedBatchNorm` one by a
 *   broadcasting one ({@link registerTrainingGradients});
 * - on wasm, registers the training kernels the backend lacks or runs slowly
 *   ({@link registerTrainingKernels}).
 *
 * @example
 * const info = await initBackend({ log: console.log });
 * // info = { name: 'wasm', skipped: [{ name: 'tensorflow-gpu', reason: "require('@tensorflow/tfjs-node-gpu') failed: ..." }, ...], ... }
 */
export async function initBackend(options: InitBackendOptions = {}): Promise<BackendInfo> {
  const log = options.log ?? (() => {});
  const order = options.prefer == null ? [...BACKEND_ORDER] : Array.isArray(options.prefer) ? options.prefer : [options.prefer];
  if (order.length === 0) throw new Error('@road/backend initBackend: prefer is an empty list');
  for (const name of order) {
    if (!isBackendName(name)) {
      throw new Error(`@road/backend initBackend: unknown backend '${String(name)}'; expected one of ${BACKEND_ORDER.join(', ')}`);
    }
  }
  for (const name of Object.keys(options.loaders ?? {})) {
    if (!isBackendName(name)) {
      throw new Error(`@road/backend initBackend: loaders has unknown backend '${name}'; expected one of ${BACKEND_ORDER.join(', ')}`);
    }
  }

  ensureGradients();
  // The cpu backend is the fallback and the reference engine of every test: fix its kernels first.
  registerTrainingKernels('cpu');
  const copies = tfjsCoreCopies();
  if (copies.length > 1) {
    throw new Error(`@road/backend: ${copies.length} copies of @tensorflow/tfjs-core are loaded (${copies.join(', ')}); keep one`);
  }

  const previous = tf.findBackend(tf.getBackend() ?? '') != null ? tf.getBackend() : null;
  const skipped: SkippedBackend[] = [];
  for (const name of order) {
    const load = options.loaders?.[name] ?? DEFAULT_LOADERS[name];
    try {
      await load();
    } catch (e) {
      const reason = reasonOf(e);
      skipped.push({ name, reason });
      log(`backend ${name}: skipped — ${reason}`);
      continue;
    }
    // After the load: a backend package that pulls in '@tensorflow/tfjs' (tfjs-node does) registers tfjs's gradients again.
    registerTrainingGradients();
    const tfBackend = tf.getBackend();
    const kernels = tfBackend === 'wasm' ? registerTrainingKernels('wasm') : null;
    log(`backend ${name}: in use (tfjs-core ${tf.version_core}, tf.getBackend() = '${tfBackend}')`);
    if (kernels != null && kernels.added.length + kernels.replaced.length > 0) {
      log(`backend ${name}: training kernels added [${kernels.added.join(', ')}], replaced [${kernels.replaced.join(', ')}]`);
    }
    current = {
      name,
      skipped,
      tfBackend,
      tfjsCore: { version: tf.version_core, copies: tfjsCoreCopies().length },
      kernels,
      gradients: trainingGradientNames(),
    };
    return current;
  }

  if (previous != null) await tf.setBackend(previous);
  const why = skipped.map((s) => `${s.name}: ${s.reason}`).join('; ');
  throw new Error(
    order.length === 1
      ? `@road/backend: backend '${order[0]}' cannot be used: ${skipped[0].reason}`
      : `@road/backend: none of the backends [${order.join(', ')}] can be used — ${why}`,
  );
}

export { BACKEND_ORDER, type BackendName, TF_BACKEND_NAME };
