// The public API of @road/backend: engine choice, the kernel and gradient registrations a training step needs on
// each engine, and the training pieces built on them (fused Adam, softmax cross-entropy, low-memory gradients).
// Kernel internals stay in their modules; test fixtures and the kernel formulations the benchmarks compare are in
// `@road/backend/testing`.
export { type EngineSummaryInput, engineLine, howToGet, shortReason } from './engine-report.js';
export { createFusedAdam, type FusedAdamMode, FusedAdamOptimizer, registerFusedAdamKernel } from './fused/adam.js';
export {
  fusedSoftmaxCrossEntropyIgnore,
  registerSoftmaxCrossEntropyKernels,
} from './fused/softmax-cross-entropy.js';
export { ensureGradients, type GradientStatus, tfjsCoreCopies } from './gradients.js';
export {
  type BackendInfo,
  currentBackendInfo,
  type InitBackendOptions,
  initBackend,
  type SkippedBackend,
} from './init-backend.js';
export { BACKEND_ORDER, type BackendName } from './loaders.js';
export { lowMemoryVariableGrads } from './low-memory-grads.js';
export {
  loadRoadNative,
  type NativeReport,
  nativeModuleEntry,
  type RegisterNativeOptions,
  registerNativeKernels,
  unregisterNativeKernels,
} from './native/register-native.js';
export { runSelfCheck, type SelfCheckOptions } from './self-check.js';
export { softmaxCrossEntropyIgnore } from './softmax-cross-entropy.js';
export { registerTrainingGradients, unregisterTrainingGradients } from './training-gradients.js';
export {
  registerTrainingKernels,
  shippedKernel,
  type TrainingKernelReport,
  trainingKernelNames,
  unregisterTrainingKernels,
} from './wasm/register-kernels.js';
export {
  describeAdapter,
  missingSoftwareWebgpuPackages,
  SOFTWARE_WEBGPU_PACKAGES,
  type WebgpuOptions,
} from './webgpu/dawn.js';
export {
  registerWebgpuKernels,
  shippedWebgpuKernel,
  unregisterWebgpuKernels,
  type WebgpuKernelReport,
} from './webgpu/register-kernels.js';
