import { getKernel, type KernelConfig, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWebgpuConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputWebgpuConfig } from './conv2d-backprop-input.js';

/** What {@link registerWebgpuKernels} did. */
export interface WebgpuKernelReport {
  backendName: 'webgpu';
  /** Kernels the backend lacked, now registered. */
  added: string[];
  /** Kernels the backend had, replaced by ours (the shipped ones are kept for {@link unregisterWebgpuKernels}). */
  replaced: string[];
}

/** Which of road's WebGPU kernels {@link registerWebgpuKernels} registers. */
export interface WebgpuKernelOptions {
  /**
   * Also replace Conv2DBackpropInput by our tiled GEMM (default false: the shipped one already runs at ~2/3 of the
   * forward conv's speed on an H100; ours is opt-in until a GPU run shows it faster — bench/gpu measures both).
   */
  backpropInput?: boolean;
}

/**
 * road's kernels on the 'webgpu' backend (each replaces the shipped one, which stays reachable through
 * {@link shippedWebgpuKernel} and serves the cases ours does not handle):
 * - Conv2DBackpropFilter: tiled split-K GEMM (the shipped one makes each thread sum a whole batch × image, 209 GFLOP/s
 *   on an H100 where the forward conv reaches 3,067);
 * - Conv2DBackpropInput (opt-in, {@link WebgpuKernelOptions.backpropInput}): tiled GEMM over pixels × input channels.
 */
const PLANS: ReadonlyArray<{
  kernelName: string;
  wanted(o: WebgpuKernelOptions): boolean;
  make(shipped: KernelConfig | undefined): KernelConfig;
}> = [
  { kernelName: 'Conv2DBackpropFilter', wanted: () => true, make: (s) => conv2dBackpropFilterWebgpuConfig(s) },
  {
    kernelName: 'Conv2DBackpropInput',
    wanted: (o) => o.backpropInput === true,
    make: (s) => conv2dBackpropInputWebgpuConfig(s),
  },
];

/** Names of the kernels {@link registerWebgpuKernels} manages. */
export function webgpuKernelNames(): string[] {
  return PLANS.map((p) => p.kernelName);
}

const shipped = new Map<string, KernelConfig>();
const ours = new Map<string, KernelConfig>();

/** Puts the shipped kernel back for one of ours. */
function restore(name: string): void {
  const config = ours.get(name);
  if (config != null && getKernel(name, 'webgpu') === config) unregisterKernel(name, 'webgpu');
  const original = shipped.get(name);
  if (original != null && getKernel(name, 'webgpu') == null) registerKernel(original);
  shipped.delete(name);
  ours.delete(name);
}

/**
 * Registers road's WebGPU kernels on the 'webgpu' backend (those `options` asks for; ours that it does not ask for
 * are put back to the shipped ones), replacing the shipped ones (kept for {@link unregisterWebgpuKernels}).
 * Idempotent. Call it after `@tensorflow/tfjs-backend-webgpu` was imported (its import registers the shipped kernels).
 */
export function registerWebgpuKernels(options: WebgpuKernelOptions = {}): WebgpuKernelReport {
  const report: WebgpuKernelReport = { backendName: 'webgpu', added: [], replaced: [] };
  for (const plan of PLANS) {
    if (!plan.wanted(options)) {
      restore(plan.kernelName);
      continue;
    }
    const current = getKernel(plan.kernelName, 'webgpu');
    if (current != null && current === ours.get(plan.kernelName)) continue;
    const config = plan.make(current);
    if (current != null) {
      shipped.set(plan.kernelName, current);
      unregisterKernel(plan.kernelName, 'webgpu');
      report.replaced.push(plan.kernelName);
    } else {
      report.added.push(plan.kernelName);
    }
    registerKernel(config);
    ours.set(plan.kernelName, config);
  }
  return report;
}

/** Removes road's WebGPU kernels and puts the shipped ones back. */
export function unregisterWebgpuKernels(): void {
  for (const name of [...ours.keys()]) restore(name);
}

/** The backend's own kernel for `kernelName` (the one we replaced, or the registered one if we did not). */
export function shippedWebgpuKernel(kernelName: string): KernelConfig | undefined {
  if (shipped.has(kernelName)) return shipped.get(kernelName);
  return ours.has(kernelName) ? undefined : getKernel(kernelName, 'webgpu');
}
