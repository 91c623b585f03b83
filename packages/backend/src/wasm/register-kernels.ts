import {
  BatchMatMul,
  Cast,
  Conv2DBackpropFilter,
  Conv2DBackpropInput,
  DepthwiseConv2dNativeBackpropFilter,
  DepthwiseConv2dNativeBackpropInput,
  FusedBatchNorm,
  GatherV2,
  getKernel,
  Identity,
  type KernelConfig,
  OneHot,
  ResizeBilinearGrad,
  ResizeNearestNeighborGrad,
  Reverse,
  registerKernel,
  Slice,
  Transpose,
  UnsortedSegmentSum,
  unregisterKernel,
} from '@tensorflow/tfjs-core';
import { withNativeKernelsLifted } from '../native/register-native.js';
import { resizeGradConfig } from '../resize-grad.js';
import { batchMatMulConfig } from './batch-mat-mul.js';
import { batchNormChannelsLastConfig } from './batch-norm.js';
import { conv2dBackpropFilterConfig } from './conv2d-backprop-filter.js';
import { conv2dBackpropInputConfig } from './conv2d-backprop-input.js';
import { depthwiseBackpropConfigs } from './depthwise-conv2d-backprop.js';
import { gatherRowsConfig } from './gather.js';
import { castConfig, identitySharedConfig } from './identity-cast.js';
import { reverseConfig, sliceConfig, transposeConfig } from './layout.js';
import { oneHotAnyDtypeConfig } from './one-hot.js';
import { unsortedSegmentSumConfig } from './unsorted-segment-sum.js';

/** What {@link registerTrainingKernels} did on one backend. */
export interface TrainingKernelReport {
  backendName: string;
  /** Kernels the backend lacked, now registered. */
  added: string[];
  /** Kernels the backend had, replaced by ours (the shipped ones are kept for {@link unregisterTrainingKernels}). */
  replaced: string[];
}

interface KernelPlan {
  kernelName: string;
  /** Replace the backend's own kernel when it has one (it is slow or wrong), else only fill a gap. */
  replace: boolean;
  make(shipped: KernelConfig | undefined): KernelConfig | undefined;
}

/**
 * What we register per backend:
 * - wasm: Conv2DBackpropFilter, DepthwiseConv2dNativeBackpropFilter/Input, UnsortedSegmentSum
 *   (missing in tfjs-backend-wasm 4.22) and Conv2DBackpropInput (shipped one is 4–10× slower),
 *   all built from the backend's own fast forward kernels;
 * - cpu and wasm: ResizeBilinearGrad and ResizeNearestNeighborGrad that honour halfPixelCenters
 *   (the shipped ones ignore it); on cpu always ours: tfjs-backend-cpu 4.22's bilinear gradient
 *   swaps height and width in its shape (non-square upsampling cannot be differentiated) and its
 *   nearest-neighbour gradient is wrong for batch > 1;
 * - wasm: OneHot for non-int32 dtypes (the shipped kernel writes int32 bits into float32 outputs);
 * - wasm: Reverse (block copies), Transpose (collapsed axes; JS loop above rank 4), Slice (whole trailing axes
 *   merged: one copy per image for a band of rows) and BatchMatMul (explicit
 *   transposes instead of the shipped kernel's slow transposed paths) — the shipped ones are 10–40× slower on the
 *   shapes a training step uses;
 * - wasm: Identity and same-dtype Cast share the buffer instead of copying it (every tensor a gradient saves is
 *   cloned: the copies doubled a training step's activation memory); Cast to bool is x ≠ 0 as on cpu;
 * - wasm: GatherV2 as block copies in the heap (the shipped one copies element by element: 30× slower on rows);
 * - wasm: FusedBatchNorm with per-channel parameters as x·a[c] + b[c] (~2× the shipped kernel).
 *   (Tried and dropped: Sum over leading axes as ones·X on XNNPACK's GEMM — 8× faster on a reused X, 2× slower in
 *   a training step, where every X is new and XNNPACK packs it first.)
 */
function plans(backendName: string): KernelPlan[] {
  if (backendName === 'cpu') {
    // Never delegate on cpu: its bilinear gradient has a wrong shape, its nearest one is wrong for batch > 1.
    return [
      {
        kernelName: ResizeBilinearGrad,
        replace: true,
        make: () => resizeGradConfig('bilinear', backendName, undefined),
      },
      {
        kernelName: ResizeNearestNeighborGrad,
        replace: true,
        make: () => resizeGradConfig('nearest', backendName, undefined),
      },
    ];
  }
  if (backendName === 'wasm') {
    const [dwInput, dwFilter] = depthwiseBackpropConfigs(backendName);
    return [
      { kernelName: ResizeBilinearGrad, replace: true, make: (s) => resizeGradConfig('bilinear', backendName, s) },
      {
        kernelName: ResizeNearestNeighborGrad,
        replace: true,
        make: (s) => resizeGradConfig('nearest', backendName, s),
      },
      { kernelName: OneHot, replace: true, make: (s) => (s == null ? undefined : oneHotAnyDtypeConfig(s)) },
      { kernelName: Conv2DBackpropFilter, replace: false, make: () => conv2dBackpropFilterConfig(backendName) },
      { kernelName: Conv2DBackpropInput, replace: true, make: () => conv2dBackpropInputConfig(backendName) },
      { kernelName: DepthwiseConv2dNativeBackpropInput, replace: false, make: () => dwInput },
      { kernelName: DepthwiseConv2dNativeBackpropFilter, replace: false, make: () => dwFilter },
      { kernelName: UnsortedSegmentSum, replace: false, make: () => unsortedSegmentSumConfig(backendName) },
      { kernelName: Reverse, replace: true, make: (s) => (s == null ? undefined : reverseConfig(s)) },
      { kernelName: Transpose, replace: true, make: (s) => (s == null ? undefined : transposeConfig(s)) },
      { kernelName: Slice, replace: true, make: (s) => (s == null ? undefined : sliceConfig(s)) },
      { kernelName: BatchMatMul, replace: true, make: (s) => (s == null ? undefined : batchMatMulConfig(s)) },
      { kernelName: Identity, replace: true, make: (s) => (s == null ? undefined : identitySharedConfig(s)) },
      { kernelName: Cast, replace: true, make: (s) => (s == null ? undefined : castConfig(s)) },
      { kernelName: GatherV2, replace: true, make: (s) => (s == null ? undefined : gatherRowsConfig(s)) },
      {
        kernelName: FusedBatchNorm,
        replace: true,
        make: (s) => (s == null ? undefined : batchNormChannelsLastConfig(s)),
      },
    ];
  }
  return [];
}

/** Names of the kernels {@link registerTrainingKernels} manages on `backendName`. */
export function trainingKernelNames(backendName = 'wasm'): string[] {
  return plans(backendName).map((p) => p.kernelName);
}

const shipped = new Map<string, KernelConfig>();
const ours = new Map<string, KernelConfig>();
const key = (kernelName: string, backendName: string) => `${backendName}_${kernelName}`;

/**
 * Registers the training kernels `backendName` lacks, and replaces the ones that are much slower
 * than a forward-conv formulation or wrong (see the package README for the list and formulas).
 * Idempotent; the kernels need no setup, so it may run before or after the backend initialises.
 */
export function registerTrainingKernels(backendName = 'wasm'): TrainingKernelReport {
  // @road/native's conv kernels, when registered, stay on top of these (their fallbacks are updated).
  if (backendName === 'wasm') return withNativeKernelsLifted(() => registerTrainingKernelsUnder(backendName));
  return registerTrainingKernelsUnder(backendName);
}

function registerTrainingKernelsUnder(backendName: string): TrainingKernelReport {
  const report: TrainingKernelReport = { backendName, added: [], replaced: [] };
  for (const plan of plans(backendName)) {
    const k = key(plan.kernelName, backendName);
    const current = getKernel(plan.kernelName, backendName);
    if (current != null && current === ours.get(k)) continue;
    if (current != null && !plan.replace) continue;
    const config = plan.make(current);
    if (config == null) continue;
    if (current != null) {
      shipped.set(k, current);
      unregisterKernel(plan.kernelName, backendName);
      report.replaced.push(plan.kernelName);
    } else {
      report.added.push(plan.kernelName);
    }
    registerKernel(config);
    ours.set(k, config);
  }
  return report;
}

/** Removes what {@link registerTrainingKernels} registered on `backendName` and puts the shipped kernels back. */
export function unregisterTrainingKernels(backendName = 'wasm'): void {
  if (backendName === 'wasm') {
    withNativeKernelsLifted(() => unregisterTrainingKernelsUnder(backendName));
    return;
  }
  unregisterTrainingKernelsUnder(backendName);
}

function unregisterTrainingKernelsUnder(backendName: string): void {
  for (const [k, config] of [...ours]) {
    if (config.backendName !== backendName) continue;
    if (getKernel(config.kernelName, backendName) === config) unregisterKernel(config.kernelName, backendName);
    const original = shipped.get(k);
    if (original != null) {
      registerKernel(original);
      shipped.delete(k);
    }
    ours.delete(k);
  }
}

/**
 * The backend's own kernel for `kernelName`: the one {@link registerTrainingKernels} replaced, or
 * the registered one when we did not replace it (undefined when the backend never had one).
 */
export function shippedKernel(kernelName: string, backendName = 'wasm'): KernelConfig | undefined {
  const k = key(kernelName, backendName);
  if (shipped.has(k)) return shipped.get(k);
  return ours.has(k) ? undefined : getKernel(kernelName, backendName);
}
