import { createRequire } from 'node:module';
import {
  Conv2D,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  FusedConv2D,
  getKernel,
  type KernelConfig,
  registerKernel,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import {
  type NativeConvAddon,
  type NativeRules,
  nativeConv2dBackpropFilterConfig,
  nativeConv2dBackpropInputConfig,
  nativeConv2dConfig,
  nativeFusedConv2dConfig,
} from './native-conv.js';

/** What {@link registerNativeKernels} did (and `initBackend`'s `native` field). */
export interface NativeReport {
  /** The addon loaded and its kernels are registered on the wasm backend. */
  loaded: boolean;
  /** 'loaded', or why not: disabled (option or ROAD_NATIVE=0), not built, failed to load, not the wasm backend. */
  reason: string;
  /** Threads of the addon's pool (the calling thread included); null when not loaded. */
  threads: number | null;
  /** Micro-kernel in use ('avx2-fma' or 'generic'); null when not loaded. */
  isa: string | null;
  /** Kernels now running natively. */
  kernels: string[];
  /** The addon file loaded (@road/native's prebuilt binary or its build from source); null when not loaded. */
  binary: string | null;
}

/** The kernels {@link registerNativeKernels} replaces on the wasm backend (each falls back to the kernel it replaced). */
export const NATIVE_KERNEL_NAMES: readonly string[] = [Conv2D, FusedConv2D, Conv2DBackpropFilter, Conv2DBackpropInput];

const makers: Record<
  string,
  (addon: NativeConvAddon, fallback: KernelConfig, rules: Partial<NativeRules>) => KernelConfig
> = {
  [Conv2D]: nativeConv2dConfig,
  [FusedConv2D]: nativeFusedConv2dConfig,
  [Conv2DBackpropFilter]: nativeConv2dBackpropFilterConfig,
  [Conv2DBackpropInput]: nativeConv2dBackpropInputConfig,
};

/** A loader of the addon: `@road/native`'s `loadNative` (injectable for tests). */
export type NativeLoader = () => { addon: NativeConvAddon | null; reason: string; path?: string };

/** Loads `@road/native` (an optional dependency) without ever throwing. */
export const loadRoadNative: NativeLoader = () => {
  if (typeof process === 'undefined' || process.versions?.node == null)
    return { addon: null, reason: 'native kernels need Node (a browser loads no native addon)' };
  if (process.env.ROAD_NATIVE === '0') return { addon: null, reason: 'disabled by ROAD_NATIVE=0' };
  let mod: { loadNative(): { addon: unknown; reason: string; path?: string } };
  try {
    mod = createRequire(import.meta.url)('@road/native');
  } catch (e) {
    return { addon: null, reason: `require('@road/native') failed: ${e instanceof Error ? e.message : String(e)}` };
  }
  const r = mod.loadNative();
  return { addon: r.addon as NativeConvAddon | null, reason: r.reason, path: r.path };
};

/**
 * The file `require('@road/native')` loads, resolved from this package (null when it is not installed). Another
 * thread (a step watchdog on a worker) loads the same addon through it: the addon's state is per process.
 */
export function nativeModuleEntry(): string | null {
  try {
    return createRequire(import.meta.url).resolve('@road/native');
  } catch {
    return null;
  }
}

const replaced = new Map<string, KernelConfig>();
const installed = new Map<string, KernelConfig>();
/** The last successful registration (addon and kernels asked for), kept while it is in force. */
let active: { addon: NativeConvAddon; names: readonly string[]; rules: Partial<NativeRules> } | null = null;

/** Options of {@link registerNativeKernels}. */
export interface RegisterNativeOptions {
  /** false: register nothing (and remove what an earlier call registered). Default true. */
  enabled?: boolean;
  /** Loader of the addon; default {@link loadRoadNative}. */
  load?: NativeLoader;
  /** Subset of {@link NATIVE_KERNEL_NAMES} to register; default all. */
  kernels?: readonly string[];
  /** When the native kernels hand a call to their fallback; default {@link DEFAULT_NATIVE_RULES}. */
  rules?: Partial<NativeRules>;
}

/**
 * Registers the native (C++, multi-threaded, AVX2/FMA) convolution kernels of `@road/native` on the wasm backend:
 * `Conv2D`, `FusedConv2D` (bias + linear/relu), `Conv2DBackpropFilter`, `Conv2DBackpropInput`. They read and write
 * the tensors in place in the wasm heap. Each replaced kernel is kept as the fallback for the cases the native one
 * does not take, and is put back by {@link unregisterNativeKernels}. When the addon is missing, fails to load or is
 * disabled (`enabled: false`, `ROAD_NATIVE=0`) it registers nothing and says why (it throws only for an unknown
 * kernel name in `kernels`).
 */
export function registerNativeKernels(options: RegisterNativeOptions = {}): NativeReport {
  const off = (reason: string): NativeReport => ({
    loaded: false,
    reason,
    threads: null,
    isa: null,
    kernels: [],
    binary: null,
  });
  if (options.enabled === false) {
    unregisterNativeKernels();
    return off('disabled by the native: false option');
  }
  let loaded: ReturnType<NativeLoader>;
  try {
    loaded = (options.load ?? loadRoadNative)();
  } catch (e) {
    loaded = { addon: null, reason: `the native loader threw: ${e instanceof Error ? e.message : String(e)}` };
  }
  const addon = loaded.addon;
  if (addon == null) {
    unregisterNativeKernels();
    return off(loaded.reason);
  }
  const names = options.kernels ?? NATIVE_KERNEL_NAMES;
  for (const name of names) {
    const make = makers[name];
    if (make == null)
      throw new Error(
        `@road/backend registerNativeKernels: unknown kernel '${name}'; expected one of ${NATIVE_KERNEL_NAMES.join(', ')}`,
      );
  }
  unregisterNativeKernels();
  const kernels: string[] = [];
  for (const name of names) {
    const current = getKernel(name, 'wasm');
    if (current == null) continue;
    const config = makers[name](addon, current, options.rules ?? {});
    unregisterKernel(name, 'wasm');
    registerKernel(config);
    replaced.set(name, current);
    installed.set(name, config);
    kernels.push(name);
  }
  active = { addon, names, rules: options.rules ?? {} };
  const info = addon.info();
  return {
    loaded: true,
    reason: loaded.reason,
    threads: info.threads,
    isa: info.isa,
    kernels,
    binary: loaded.path ?? null,
  };
}

/** Puts back the wasm kernels {@link registerNativeKernels} replaced. */
export function unregisterNativeKernels(): void {
  liftOff();
  active = null;
}

function liftOff(): void {
  for (const [name, config] of [...installed]) {
    if (getKernel(name, 'wasm') === config) {
      unregisterKernel(name, 'wasm');
      const original = replaced.get(name);
      if (original != null) registerKernel(original);
    }
    installed.delete(name);
    replaced.delete(name);
  }
}

/**
 * Runs `fn` (which registers or unregisters wasm kernels underneath, e.g. the training kernels) with the native
 * kernels lifted off, then registers them again (the same kernels as asked for last) on top of what `fn` left, so
 * that their fallbacks are current.
 */
export function withNativeKernelsLifted<T>(fn: () => T): T {
  if (active == null) return fn();
  const { addon, names, rules } = active;
  liftOff();
  try {
    return fn();
  } finally {
    registerNativeKernels({ load: () => ({ addon, reason: 'loaded' }), kernels: names, rules });
  }
}

/** The loaded @road/native addon while its kernels are registered on wasm, else null. */
export function activeNativeAddon(): NativeConvAddon | null {
  return active?.addon ?? null;
}

/** The kernel a native one replaced (its fallback), or undefined when `kernelName` is not native now. */
export function nativeFallbackKernel(kernelName: string): KernelConfig | undefined {
  return replaced.get(kernelName);
}
