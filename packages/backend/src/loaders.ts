import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  activateTfBackend,
  BACKEND_ORDER,
  type BackendName,
  BROWSER_BACKEND_ORDER,
  reasonOf,
  TF_BACKEND_NAME,
} from './loaders-common.js';
import {
  type DawnChoice,
  type DawnModule,
  describeAdapter,
  hardwareAdapter,
  isSoftwareAdapter,
  libraryDirs,
  missingSoftwareWebgpuPackages,
  softwareAdapter,
  softwareWebgpuRequested,
  type WebgpuOptions,
} from './webgpu/dawn.js';

export { activateTfBackend, BACKEND_ORDER, type BackendName, BROWSER_BACKEND_ORDER, reasonOf, TF_BACKEND_NAME };

const nodeRequire = (): NodeJS.Require => createRequire(import.meta.url);

/** Removes kernels a half-loaded tfjs-node package registered before its native addon failed to load. */
function forgetHalfLoadedTensorflow(): void {
  if (tf.findBackendFactory('tensorflow') != null) return;
  for (const k of tf.getKernelsForBackend('tensorflow')) tf.unregisterKernel(k.kernelName, 'tensorflow');
}

/**
 * What to add for each optional engine (optional peer dependencies of @road/backend: nothing downloads libtensorflow
 * or Dawn unless the user asks for it). tfjs-node-gpu 4.22 downloads libtensorflow 2.9.1, built for CUDA 11.2 and cuDNN 8.1.
 */
export const INSTALL_HINT: Readonly<Record<string, string>> = Object.freeze({
  '@tensorflow/tfjs-node-gpu':
    ' (optional: npm install @tensorflow/tfjs-node-gpu@^4.22.0 on Linux x64 with an NVIDIA GPU; its libtensorflow 2.9.1 needs CUDA 11.2 and cuDNN 8.1)',
  '@tensorflow/tfjs-node': ' (optional: npm install @tensorflow/tfjs-node@^4.22.0 for libtensorflow on the CPU)',
  webgpu: ' (optional: npm install webgpu@^0.6.2 @tensorflow/tfjs-backend-webgpu@^4.22.0 for a GPU through Dawn)',
});

async function loadTensorflow(pkg: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node'): Promise<void> {
  if (tf.findBackendFactory('tensorflow') == null) {
    try {
      nodeRequire()(pkg);
    } catch (e) {
      forgetHalfLoadedTensorflow();
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'MODULE_NOT_FOUND' && err.message.includes(`'${pkg}'`)) {
        throw new Error(`${pkg} is not installed${INSTALL_HINT[pkg]}`);
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

/** Why Dawn found no adapter, as far as we can tell from outside. */
function noAdapterHint(): string {
  if (process.platform !== 'linux') return '';
  const loader = libraryDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')));
  return loader
    ? ' (the Vulkan loader is installed, but Dawn found no usable Vulkan GPU: no GPU driver, or only a software renderer)'
    : ' (libvulkan.so.1, the Vulkan loader Dawn needs on Linux, is not installed; e.g. apt-get install libvulkan1 and a GPU driver)';
}

const OPT_IN = "opt in with initBackend({ prefer: 'webgpu', webgpu: { software: true } }) or ROAD_WEBGPU=software";

/** When Dawn's default backend has no adapter: the name of a software adapter Dawn's GL backend offers, if any. */
async function softwareAdapterName(dawn: DawnModule): Promise<string | null> {
  if (process.platform !== 'linux' || missingSoftwareWebgpuPackages().length > 0) return null;
  // softwareAdapter sets EGL_PLATFORM / XDG_RUNTIME_DIR when unset: this is only a probe, put them back after.
  const saved = { EGL_PLATFORM: process.env.EGL_PLATFORM, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR };
  try {
    return describeAdapter((await softwareAdapter(dawn)).adapter);
  } catch {
    return null;
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/**
 * The `webgpu` loader: Dawn through the `webgpu` npm package, then `@tensorflow/tfjs-backend-webgpu`.
 * `navigator.gpu` and the WebGPU globals are installed BEFORE the tfjs backend is imported (it only
 * registers itself when `navigator.gpu` exists at import time), and only once an adapter is found.
 * Software adapters (llvmpipe, lavapipe, SwiftShader) are refused unless `options.software` (or the
 * environment variable `ROAD_WEBGPU=software`) asks for one: then Dawn's OpenGL backend on Mesa
 * runs in WebGPU compatibility mode (see {@link softwareAdapter}). The first successful load
 * fixes the adapter for the process.
 */
export async function loadWebgpu(options: WebgpuOptions = {}): Promise<void> {
  const software = options.software === true || softwareWebgpuRequested();
  if (tf.findBackendFactory('webgpu') == null) {
    let dawn: DawnModule;
    try {
      dawn = (await import('webgpu')) as unknown as DawnModule;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ERR_MODULE_NOT_FOUND' && reasonOf(e).includes("'webgpu'"))
        throw new Error(`the 'webgpu' package (Dawn for Node) is not installed${INSTALL_HINT.webgpu}`);
      throw new Error(`cannot load the 'webgpu' package (Dawn for Node): ${reasonOf(e)}`);
    }
    let choice: DawnChoice;
    if (software) {
      choice = await softwareAdapter(dawn, options.flags);
    } else {
      // Without the Vulkan loader, Dawn has no GPU backend on Linux: do not ask it (it would only print a warning).
      const noLoader =
        process.platform === 'linux' && !libraryDirs().some((d) => existsSync(join(d, 'libvulkan.so.1')));
      const hw = noLoader ? null : await hardwareAdapter(dawn, options.flags);
      if (noLoader) {
        const mesa =
          missingSoftwareWebgpuPackages().length === 0 ? `; Mesa's software renderer is installed: ${OPT_IN}` : '';
        throw new Error(
          `no WebGPU GPU adapter: libvulkan.so.1, the Vulkan loader Dawn needs on Linux, is not installed (e.g. apt-get install libvulkan1 and a GPU driver)${mesa}`,
        );
      }
      if (hw == null) {
        const sw = await softwareAdapterName(dawn);
        if (sw != null)
          throw new Error(
            `no WebGPU GPU adapter; only a software adapter (${sw}); refused, wasm is faster on a CPU; ${OPT_IN}`,
          );
        throw new Error(`no WebGPU adapter: requestAdapter() returned null${noAdapterHint()}`);
      }
      if (isSoftwareAdapter(hw.adapter)) {
        throw new Error(
          `only a software WebGPU adapter is available (${describeAdapter(hw.adapter)}); refused, wasm is faster on a CPU; ${OPT_IN}`,
        );
      }
      choice = hw;
    }
    Object.assign(globalThis, dawn.globals);
    const nav = (globalThis as { navigator?: object }).navigator;
    if (nav == null) {
      Object.defineProperty(globalThis, 'navigator', {
        value: { gpu: choice.gpu },
        configurable: true,
        writable: true,
      });
    } else if (!('gpu' in nav) || (nav as { gpu?: unknown }).gpu == null) {
      Object.defineProperty(nav, 'gpu', { value: choice.gpu, configurable: true, writable: true });
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

/**
 * Loads `@tensorflow/tfjs-backend-cpu` (its kernels and backend factory) now, as the copy `@tensorflow/tfjs` would
 * load (resolved from there first), so that kernels registered on 'cpu' afterwards stay registered: the package
 * registers its kernels when first imported and overwrites any registered before. Never throws (without the
 * package, the cpu backend is simply not there).
 */
export function loadCpuKernelPackage(): void {
  if (tf.findBackendFactory('cpu') != null) return;
  const req = nodeRequire();
  let fromTfjs: NodeJS.Require | null = null;
  try {
    fromTfjs = createRequire(req.resolve('@tensorflow/tfjs'));
  } catch {
    // no @tensorflow/tfjs: our own resolution
  }
  for (const r of fromTfjs != null ? [fromTfjs, req] : [req]) {
    try {
      r('@tensorflow/tfjs-backend-cpu');
      return;
    } catch {
      // try the next resolution
    }
  }
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
  webgpu: () => loadWebgpu(),
  webgl: async () => {
    throw new Error('webgl is a browser backend (@tensorflow/tfjs-backend-webgl): Node has no WebGL');
  },
  wasm: loadWasm,
  cpu: loadCpu,
});
