// The browser build's loaders.ts: webgpu (navigator.gpu + tfjs-backend-webgpu), webgl (tfjs-backend-webgl), wasm
// (tfjs-backend-wasm; the page serves its .wasm files, see setWasmPaths) and cpu. The TensorFlow backends need Node.
import '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import {
  activateTfBackend,
  type BackendName,
  BROWSER_BACKEND_ORDER,
  reasonOf,
  TF_BACKEND_NAME,
} from './loaders-common.js';

export { activateTfBackend, type BackendName, BROWSER_BACKEND_ORDER, reasonOf, TF_BACKEND_NAME };

/** Browser build: the order initBackend tries, webgpu → webgl → wasm → cpu. */
export const BACKEND_ORDER: readonly BackendName[] = BROWSER_BACKEND_ORDER;

/** What to add for each optional engine (browser build: the backend packages a page bundles). */
export const INSTALL_HINT: Readonly<Record<string, string>> = Object.freeze({
  '@tensorflow/tfjs-node-gpu': ' (Node only)',
  '@tensorflow/tfjs-node': ' (Node only)',
  webgpu: ' (in a browser: npm install @tensorflow/tfjs-backend-webgpu@^4.22.0 and a browser with WebGPU)',
});

async function nodeOnly(): Promise<void> {
  throw new Error('needs Node (tfjs-node): not available in a browser');
}

export const loadTensorflowGpu = nodeOnly;
export const loadTensorflowCpu = nodeOnly;

/** Browser build: WebGPU through the page's `navigator.gpu` and `@tensorflow/tfjs-backend-webgpu` (real adapters only). */
export async function loadWebgpu(options: { software?: boolean } = {}): Promise<void> {
  const gpu = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator?.gpu;
  if (gpu == null) throw new Error('navigator.gpu is missing: this browser has no WebGPU');
  if (tf.findBackendFactory('webgpu') == null) {
    const adapter = (await gpu.requestAdapter()) as { isFallbackAdapter?: boolean } | null;
    if (adapter == null) throw new Error('no WebGPU adapter: navigator.gpu.requestAdapter() returned null');
    if (adapter.isFallbackAdapter === true && options.software !== true) {
      throw new Error(
        'only a software WebGPU adapter is available (fallback adapter); refused, wasm is faster on a CPU',
      );
    }
    try {
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      throw new Error(`cannot load @tensorflow/tfjs-backend-webgpu: ${reasonOf(e)}`);
    }
  }
  await activateTfBackend('webgpu');
}

/** Browser build: WebGL 2 through `@tensorflow/tfjs-backend-webgl`. */
export async function loadWebgl(): Promise<void> {
  if (tf.findBackendFactory('webgl') == null) {
    try {
      await import('@tensorflow/tfjs-backend-webgl');
    } catch (e) {
      throw new Error(`@tensorflow/tfjs-backend-webgl is not installed or failed to load: ${reasonOf(e)}`);
    }
  }
  await activateTfBackend('webgl');
}

/** The `wasm` loader: `@tensorflow/tfjs-backend-wasm` (its .wasm files where setWasmPaths says, else next to the page). */
export async function loadWasm(): Promise<void> {
  if (tf.findBackendFactory('wasm') == null) await import('@tensorflow/tfjs-backend-wasm');
  await activateTfBackend('wasm');
}

/** Browser build: the cpu kernel package is imported statically above. */
export function loadCpuKernelPackage(): void {}

/** The `cpu` loader: the pure-JS `@tensorflow/tfjs-backend-cpu`. */
export async function loadCpu(): Promise<void> {
  await activateTfBackend('cpu');
}

/** The loader of each backend; {@link initBackend} takes replacements through `options.loaders`. */
export const DEFAULT_LOADERS: Readonly<Record<BackendName, () => Promise<void>>> = Object.freeze({
  'tensorflow-gpu': loadTensorflowGpu,
  tensorflow: loadTensorflowCpu,
  webgpu: () => loadWebgpu(),
  webgl: loadWebgl,
  wasm: loadWasm,
  cpu: loadCpu,
});
