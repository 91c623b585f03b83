import * as tf from '@tensorflow/tfjs-core';
import { webgpuUnavailableReason } from './engine-report.js';
import { ensureGradients, tfjsCoreCopies } from './gradients.js';
import {
  BACKEND_ORDER,
  type BackendName,
  DEFAULT_LOADERS,
  loadCpuKernelPackage,
  loadWebgpu,
  reasonOf,
  TF_BACKEND_NAME,
} from './loaders.js';
import { type NativeReport, registerNativeKernels, unregisterNativeKernels } from './native/register-native.js';
import { registerTrainingGradients, trainingGradientNames } from './training-gradients.js';
import { registerTrainingKernels, type TrainingKernelReport } from './wasm/register-kernels.js';
import type { WebgpuOptions } from './webgpu/dawn.js';
import { registerWebgpuKernels } from './webgpu/register-kernels.js';

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
  /** Training kernels registered on the chosen backend (wasm: the ones it lacks or runs slowly; webgpu: road's faster ones). */
  kernels: TrainingKernelReport | null;
  /** Kernels whose gradient is road's (every backend): `Conv2D` (dilations), `FusedBatchNorm` (broadcasting). */
  gradients: string[];
  /** Native (C++, @road/native) conv kernels on wasm: loaded or why not, threads, micro-kernel, kernels replaced. */
  native: NativeReport;
}

/** Options of {@link initBackend}. */
export interface InitBackendOptions {
  /**
   * One backend (must load, else initBackend throws with the reason) or an ordered list to try.
   * Default: {@link BACKEND_ORDER}, 'tensorflow-gpu' → 'tensorflow' → 'webgpu' → 'wasm' → 'cpu'.
   */
  prefer?: BackendName | BackendName[];
  /**
   * Receives one human-readable line per decision (chosen backend, each skip and its full reason). For the one-line
   * summary a CLI prints, see `engineLine`.
   */
  log?: (line: string) => void;
  /**
   * Replacement loaders, e.g. for tests or for a custom build. A loader resolves once the engine runs
   * on its backend, and throws (with the reason) when the backend cannot load.
   */
  loaders?: Partial<Record<BackendName, () => Promise<void>>>;
  /**
   * Options of the `webgpu` backend: `{ software: true }` accepts Dawn's OpenGL backend on Mesa llvmpipe
   * (WebGPU compatibility mode; for testing the WebGPU path without a GPU). Without it (and without the
   * environment variable `ROAD_WEBGPU=software`) software adapters are skipped.
   */
  webgpu?: WebgpuOptions;
  /** false: keep the wasm conv kernels instead of @road/native's (also `ROAD_NATIVE=0`). Default true. */
  native?: boolean;
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
  const order =
    options.prefer == null ? [...BACKEND_ORDER] : Array.isArray(options.prefer) ? options.prefer : [options.prefer];
  if (order.length === 0) throw new Error('@road/backend initBackend: prefer is an empty list');
  for (const name of order) {
    if (!isBackendName(name)) {
      throw new Error(
        `@road/backend initBackend: unknown backend '${String(name)}'; expected one of ${BACKEND_ORDER.join(', ')}`,
      );
    }
  }
  for (const name of Object.keys(options.loaders ?? {})) {
    if (!isBackendName(name)) {
      throw new Error(
        `@road/backend initBackend: loaders has unknown backend '${name}'; expected one of ${BACKEND_ORDER.join(', ')}`,
      );
    }
  }

  ensureGradients();
  // The cpu backend is the fallback and the reference engine of every test: fix its kernels first. Its package is
  // loaded before: registering ours first would make its later import (tfjs-node requires '@tensorflow/tfjs', which
  // imports it) register the shipped kernels over ours, with an "already registered" warning for each.
  loadCpuKernelPackage();
  registerTrainingKernels('cpu');
  const copies = tfjsCoreCopies();
  if (copies.length > 1) {
    throw new Error(
      `@road/backend: ${copies.length} copies of @tensorflow/tfjs-core are loaded (${copies.join(', ')}); keep one`,
    );
  }

  const previous = tf.findBackend(tf.getBackend() ?? '') != null ? tf.getBackend() : null;
  const skipped: SkippedBackend[] = [];
  for (const name of order) {
    const custom = options.loaders?.[name];
    const load =
      custom ??
      (name === 'webgpu' && options.webgpu != null ? () => loadWebgpu(options.webgpu) : DEFAULT_LOADERS[name]);
    // In a list (auto), WebGPU is asked only where a GPU adapter is possible: Dawn prints warnings of its own.
    const notPossible =
      name === 'webgpu' && custom == null && order.length > 1 && options.webgpu?.software !== true
        ? webgpuUnavailableReason()
        : null;
    try {
      if (notPossible != null) throw new Error(notPossible);
      await load();
    } catch (e) {
      const reason = reasonOf(e);
      skipped.push({ name, reason });
      log(`backend ${name}: skipped — ${reason}`);
      continue;
    }
    // After the load: a backend package that pulls in '@tensorflow/tfjs' (tfjs-node does) registers tfjs's gradients again.
    registerTrainingGradients();
    registerTrainingKernels('cpu'); // a no-op unless a second copy of the cpu backend package replaced ours
    const tfBackend = tf.getBackend();
    if (tfBackend === 'wasm') unregisterNativeKernels(); // the training kernels must see the wasm ones
    const kernels =
      tfBackend === 'wasm'
        ? registerTrainingKernels('wasm')
        : tfBackend === 'webgpu' && options.webgpu?.kernels !== false
          ? registerWebgpuKernels(typeof options.webgpu?.kernels === 'object' ? options.webgpu.kernels : {})
          : null;
    const native: NativeReport =
      tfBackend === 'wasm'
        ? registerNativeKernels({ enabled: options.native !== false })
        : {
            loaded: false,
            reason: `not used on the '${tfBackend}' backend`,
            threads: null,
            isa: null,
            kernels: [],
            binary: null,
          };
    if (tfBackend === 'wasm') {
      log(
        `backend ${name}: native kernels ${native.loaded ? `[${native.kernels.join(', ')}], ${native.threads} threads, ${native.isa}${native.binary != null ? ` (${native.binary})` : ''}` : `off — ${native.reason}`}`,
      );
    }
    log(`backend ${name}: in use (tfjs-core ${tf.version_core}, tf.getBackend() = '${tfBackend}')`);
    if (kernels != null && kernels.added.length + kernels.replaced.length > 0) {
      log(
        `backend ${name}: training kernels added [${kernels.added.join(', ')}], replaced [${kernels.replaced.join(', ')}]`,
      );
    }
    current = {
      name,
      skipped,
      tfBackend,
      tfjsCore: { version: tf.version_core, copies: tfjsCoreCopies().length },
      kernels,
      gradients: trainingGradientNames(),
      native,
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
