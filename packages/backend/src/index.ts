export { batchNormGradConfig } from './batch-norm-grad.js';
export {
  DILATED_CONV2D_GRADIENT,
  dilatedConv2dFilterGrad,
  dilatedConv2dGradConfig,
  dilatedConv2dInputGrad,
} from './conv2d-grad.js';
export {
  type EngineSummaryInput,
  engineLine,
  howToGet,
  shortReason,
  webgpuUnavailableReason,
} from './engine-report.js';
export {
  createFusedAdam,
  FUSED_ADAM_KERNEL,
  type FusedAdamMode,
  FusedAdamOptimizer,
  registerFusedAdamKernel,
} from './fused/adam.js';
export {
  fusedSoftmaxCrossEntropyIgnore,
  registerSoftmaxCrossEntropyKernels,
  SOFTMAX_CE_GRAD_KERNEL,
  SOFTMAX_CE_KERNEL,
} from './fused/softmax-cross-entropy.js';
export { ensureGradients, type GradientStatus, tfjsCoreCopies } from './gradients.js';
export {
  type BackendInfo,
  currentBackendInfo,
  type InitBackendOptions,
  initBackend,
  type SkippedBackend,
} from './init-backend.js';
export {
  activateTfBackend,
  BACKEND_ORDER,
  type BackendName,
  DEFAULT_LOADERS,
  INSTALL_HINT,
  loadWebgpu,
  TF_BACKEND_NAME,
} from './loaders.js';
export { lowMemoryVariableGrads } from './low-memory-grads.js';
export {
  DEFAULT_NATIVE_RULES,
  NATIVE_DILATED_FILTER_GRAD,
  NATIVE_DX_MAX_WASTE,
  type NativeConvAddon,
  type NativeRules,
  nativeConv2dBackpropFilterConfig,
  nativeConv2dBackpropInputConfig,
  nativeConv2dConfig,
  nativeFusedConv2dConfig,
  nativeGeometry,
} from './native/native-conv.js';
export {
  loadRoadNative,
  NATIVE_KERNEL_NAMES,
  type NativeLoader,
  type NativeReport,
  nativeFallbackKernel,
  nativeModuleEntry,
  type RegisterNativeOptions,
  registerNativeKernels,
  unregisterNativeKernels,
} from './native/register-native.js';
export { reluGradConfig } from './relu-grad.js';
export {
  bilinearTaps,
  nearestTaps,
  resizeGradConfig,
  resizeGradKernel,
  separableResizeAdjoint,
  type Tap,
} from './resize-grad.js';
export { runSelfCheck, type SelfCheckOptions } from './self-check.js';
export { createTinySegNet, softmaxCrossEntropyIgnore, type TinySegNet, toySegmentationBatch } from './tiny-seg-net.js';
export {
  hasDilatedConv2dGradient,
  registerTrainingGradients,
  trainingGradientNames,
  unregisterTrainingGradients,
} from './training-gradients.js';
export {
  atrousConv2d,
  missingKernels,
  probeLossAndGrads,
  type TrainingProbe,
  trainingProbes,
  trainingStepKernels,
} from './training-kernels.js';
export {
  conv2dBackpropFilterAsConv,
  conv2dBackpropFilterConfig,
  DW_CHUNK_BYTES,
} from './wasm/conv2d-backprop-filter.js';
export { conv2dBackpropInputAsConv, conv2dBackpropInputConfig } from './wasm/conv2d-backprop-input.js';
export {
  depthwiseBackpropConfigs,
  depthwiseBackpropFilterAsConv,
  depthwiseBackpropInputAsConv,
} from './wasm/depthwise-conv2d-backprop.js';
export { oneHotAnyDtypeConfig } from './wasm/one-hot.js';
export {
  registerTrainingKernels,
  shippedKernel,
  type TrainingKernelReport,
  trainingKernelNames,
  unregisterTrainingKernels,
} from './wasm/register-kernels.js';
export { unsortedSegmentSumAsScatter, unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum.js';
export {
  Conv2DBackpropFilterGemmProgram,
  conv2dBackpropFilterWebgpu,
  conv2dBackpropFilterWebgpuConfig,
  planSplitK,
  SplitKSumProgram,
  type SplitOptions,
  type SplitPlan,
} from './webgpu/conv2d-backprop-filter.js';
export {
  Conv2DBackpropInputGemmProgram,
  conv2dBackpropInputWebgpu,
  conv2dBackpropInputWebgpuConfig,
} from './webgpu/conv2d-backprop-input.js';
export {
  adapterLimits,
  compatibilityGpu,
  describeAdapter,
  isSoftwareAdapter,
  missingSoftwareWebgpuPackages,
  SOFTWARE_WEBGPU_PACKAGES,
  softwareWebgpuRequested,
  type WebgpuOptions,
} from './webgpu/dawn.js';
export type { ProgramUniform, WebGPUBackendLike, WebGPUProgramLike } from './webgpu/program.js';
export {
  registerWebgpuKernels,
  shippedWebgpuKernel,
  unregisterWebgpuKernels,
  type WebgpuKernelOptions,
  type WebgpuKernelReport,
  webgpuKernelNames,
} from './webgpu/register-kernels.js';
