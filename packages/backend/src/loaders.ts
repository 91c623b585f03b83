import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';

/** The engines road can run on, fastest first. */
export type BackendName = 'tensorflow-gpu' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';

/** The order {@link initBackend} tries when not told otherwise. */
export const BACKEND_ORDER: readonly BackendName[] = Object.freeze([
  'tensorflow-gpu',
  'tensorflow',
  'webgpu',
  'wasm',
  'cpu',
]);

/** The tfjs-core backend name behind each road backend name (both TensorFlow packages register 'tensorflow'). */
export const TF_BACKEND_NAME: Readonly<Record<BackendName, string>> = Object.freeze({
  'tensorflow-gpu': 'tensorflow',
  tensorflow: 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  cpu: 'cpu',
});

/** Priorities the tfjs packages register their backends with (kept when we re-register a factory). */
const PRIORITY: Record<string, number> = { tensorflow: 3, webgpu: 3, wasm: 2, cpu: 1 };

/** One line out of an error (multi-line native-addon messages included). */
export function reasonOf(e: unknown): string {
  const text = e instanceof Error ? e.message : typeof e === 'string' ? e : JSON.stringify(e);
  return (text ?? String(e)).replace(/\s+/g, ' ').trim();
}

const nodeRequire = (): NodeJS.Require => createRequire(import.meta.url);

/**
 * Initialises the tfjs backend `tfName` and makes it the engine's backend; throws with the factory's
 * own error when initialisation fails (tfjs only logs it and returns false). Uses only public
 * tfjs-core calls: the factory is re-registered wrapped in a function that records its error.
 */
export async function activateTfBackend(tfName: string): Promise<void> {
  if (tf.findBackend(tfName) != null) {
    if (!(await tf.setBackend(tfName))) throw new Error(`tf.setBackend('${tfName}') returned false`);
    return;
  }
  const factory = tf.findBackendFactory(tfName);
  if (factory == null) throw new Error(`no '${tfName}' backend is registered with tfjs-core ${tf.version_core}`);
  let failure: unknown;
  tf.removeBackend(tfName);
  tf.registerBackend(
    tfName,
    async () => {
      try {
        return await factory();
      } catch (e) {
        failure = e;
        throw e;
      }
    },
    PRIORITY[tfName] ?? 1,
  );
  if (!(await tf.setBackend(tfName))) {
    throw new Error(
      failure != null ? `initialising '${tfName}' failed: ${reasonOf(failure)}` : `tf.setBackend('${tfName}') returned false`,
    );
  }
}

/** Removes kernels a half-loaded tfjs-node package registered before its native addon failed to load. */
function forgetHalfLoadedTensorflow(): void {
  if (tf.findBackendFactory('tensorflow') != null) return;
  for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
}

async function loadTensorflow(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<void> {
  if (tf.findBackendFactory('tensorflow') == null) {
    try {
      nodeRequire()(pkg);
    } catch (e) {
      forgetHalfLoadedTensorflow();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${pkg}'`)) {
        throw new Error(`${pkg} is not installed`);
      }
      throw new Error(`require('${pkg}') failed: ${reasonOf(e)}`);
    }
  }
  await activateTfBackend('tensorflow');
}

/** The `tensorflow-gpu` loader: tfjs-node-gpu (libtensorflow with CUDA), accepted only when TensorFlow sees a GPU. */
export async function loadTensorflowGpu(): Promise<void> {
  await loadTensorflow('@tensorflow/tfjs-node-gpu');
  const backend = tf.backend() as { isGPUPackage?: boolean; isUsingGpuDevice?: boolean };
  if (backend.isGPUPackage === false) {
    throw new Error('the TensorFlow backend loaded is the CPU package @tensorflow/tfjs-node, not tfjs-node-gpu');
  }
  if (backend.isUsingGpuDevice !== true) {
    throw new Error('@tensorflow/tfjs-node-gpu loaded, but TensorFlow found no CUDA GPU (isUsingGpuDevice() is false)');
  }
}

/** The `tensorflow` loader: tfjs-node (libtensorflow on the CPU), or the already loaded tfjs-node-gpu binding. */
export async function loadTensorflowCpu(): Promise<void> {
  await loadTensorflow('@tensorflow/tfjs-node');
}

function libraryDirs(): string[] {
  const fromEnv = (process.env.LD_LIBRARY_PATH ?? '').split(delimiter).filter(Boolean);
  return [
    ...fromEnv,
    '/usr/lib/x86_64-linux-gnu',
    '/usr/lib/aarch64-linux-gnu',
    '/usr/lib64',
    '/usr/lib',
    '/lib/x86_64-linux-gnu',
    '/lib64',
    '/usr/local/lib',
  ];
}

/** Why Dawn found no adapter, as far as we can tell from outside. */
function noAdapterHint(): string {
  if (process.platform !== 'linux') return '';
  const loader = libraryDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')));
  return loader
    ? ' (the Vulkan loader is installed, but Dawn found no usable Vulkan GPU: no GPU driver, or only a software renderer)'
    : ' (libvulkan.so.1, the Vulkan loader Dawn needs on Linux, is not installed; e.g. apt-get install libvulkan1 and a GPU driver)';
}

interface AdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean };
  isFallbackAdapter?: boolean;
}
interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms / 1000} s`)), ms);
    timer.unref?.();
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** Describes a WebGPU adapter in one line. */
export function describeAdapter(adapter: AdapterLike): string {
  const i = adapter.info ?? {};
  return [i.vendor, i.architecture, i.device, i.description].filter((s) => s != null && s !== '').join(' ') || 'unnamed adapter';
}

/**
 * The `webgpu` loader: Dawn through the `webgpu` npm package, then `@tensorflow/tfjs-backend-webgpu`.
 * `navigator.gpu` and the WebGPU globals are installed BEFORE the tfjs backend is imported (it only
 * registers itself when `navigator.gpu` exists at import time), and only once an adapter is found.
 * Software adapters (llvmpipe, lavapipe, SwiftShader) are refused: wasm is faster on a CPU.
 */
export async function loadWebgpu(): Promise<void> {
  if (tf.findBackendFactory('webgpu') == null) {
    let dawn: { create(flags: string[]): GpuLike; globals: Record<string, unknown> };
    try {
      dawn = (await import('webgpu')) as unknown as typeof dawn;
    } catch (e) {
      throw new Error(`cannot load the 'webgpu' package (Dawn for Node): ${reasonOf(e)}`);
    }
    const gpu = dawn.create([]);
    const adapter = await withTimeout(
      gpu.requestAdapter({ powerPreference: 'high-performance' }),
      30_000,
      'navigator.gpu.requestAdapter()',
    );
    if (adapter == null) throw new Error(`no WebGPU adapter: requestAdapter() returned null${noAdapterHint()}`);
    const name = describeAdapter(adapter);
    if (adapter.info?.isFallbackAdapter === true || adapter.isFallbackAdapter === true || /llvmpipe|lavapipe|swiftshader|software/i.test(name)) {
      throw new Error(`only a software WebGPU adapter is available (${name}); refused, wasm is faster on a CPU`);
    }
    Object.assign(globalThis, dawn.globals);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav == null) {
      Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
    } else if (!('gpu' in nav) || (nav as { gpu?: unknown }).gpu == null) {
      Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true });
    }
    try {
      await import('@tensorflow/tfjs-backend-webgpu');
    } catch (e) {
      throw new Error(`cannot load @tensorflow/tfjs-backend-webgpu: ${reasonOf(e)}`);
    }
  }
  await activateTfBackend('webgpu');
}

/** The `wasm` loader: `@tensorflow/tfjs-backend-wasm` (XNNPACK, SIMD, one thread in Node). */
export async function loadWasm(): Promise<void> {
  if (tf.findBackendFactory('wasm') == null) {
    await import('@tensorflow/tfjs-backend-wasm');
  }
  await activateTfBackend('wasm');
}

/** The `cpu` loader: the pure-JS `@tensorflow/tfjs-backend-cpu` (always works, slowest). */
export async function loadCpu(): Promise<void> {
  if (tf.findBackendFactory('cpu') == null) {
    await import('@tensorflow/tfjs-backend-cpu');
  }
  await activateTfBackend('cpu');
  // initBackend has just said which backend runs and why the faster ones did not: the cpu backend's
  // one-time "install tfjs-node" banner would only repeat that.
  const cpu = tf.backend() as { firstUse?: boolean };
  if (cpu.firstUse === true) cpu.firstUse = false;
}

/** The loader of each backend; {@link initBackend} takes replacements through `options.loaders`. */
export const DEFAULT_LOADERS: Readonly<Record<BackendName, () => Promise<void>>> = Object.freeze({
  'tensorflow-gpu': loadTensorflowGpu,
  tensorflow: loadTensorflowCpu,
  webgpu: loadWebgpu,
  wasm: loadWasm,
  cpu: loadCpu,
});
