export {
  type BackendInfo,
  currentBackendInfo,
  initBackend,
  type InitBackendOptions,
  type SkippedBackend,
} from './init-backend.js';
export {
  activateTfBackend,
  BACKEND_ORDER,
  type BackendName,
  DEFAULT_LOADERS,
  TF_BACKEND_NAME,
} from './loaders.js';
export { ensureGradients, type GradientStatus, tfjsCoreCopies } from './gradients.js';
export {
  hasDilatedConv2dGradient,
  registerTrainingGradients,
  trainingGradientNames,
  unregisterTrainingGradients,
} from './training-gradients.js';
export {
  DILATED_CONV2D_GRADIENT,
  dilatedConv2dFilterGrad,
  dilatedConv2dGradConfig,
  dilatedConv2dInputGrad,
} from './conv2d-grad.js';
export { batchNormGradConfig } from './batch-norm-grad.js';
export { reluGradConfig } from './relu-grad.js';
export {
  registerTrainingKernels,
  shippedKernel,
  type TrainingKernelReport,
  trainingKernelNames,
  unregisterTrainingKernels,
} from './wasm/register-kernels.js';
export { conv2dBackpropFilterAsConv, conv2dBackpropFilterConfig, DW_CHUNK_BYTES } from './wasm/conv2d-backprop-filter.js';
export { conv2dBackpropInputAsConv, conv2dBackpropInputConfig } from './wasm/conv2d-backprop-input.js';
export {
  depthwiseBackpropConfigs,
  depthwiseBackpropFilterAsConv,
  depthwiseBackpropInputAsConv,
} from './wasm/depthwise-conv2d-backprop.js';
export { unsortedSegmentSumAsScatter, unsortedSegmentSumConfig } from './wasm/unsorted-segment-sum.js';
export { bilinearTaps, nearestTaps, resizeGradConfig, resizeGradKernel, separableResizeAdjoint, type Tap } from './resize-grad.js';
export { oneHotAnyDtypeConfig } from './wasm/one-hot.js';
export { runSelfCheck, type SelfCheckOptions } from './self-check.js';
export { createTinySegNet, softmaxCrossEntropyIgnore, type TinySegNet, toySegmentationBatch } from './tiny-seg-net.js';
export {
  atrousConv2d,
  missingKernels,
  probeLossAndGrads,
  type TrainingProbe,
  trainingProbes,
  trainingStepKernels,
} from './training-kernels.js';
