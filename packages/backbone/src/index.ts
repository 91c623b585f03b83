import * as tf from '@tensorflow/tfjs-core';
import { AtrousConv2D } from './atrous-conv2d.js';
import { MdaMultiply, UnfoldAttentionMaps } from './hydraplus.js';

export {
  AtrousConv2D,
  type AtrousConv2DArgs,
  type AtrousMethod,
  atrousConv2d,
  hasDilatedConv2dGradient,
} from './atrous-conv2d.js';
export { countFlops, type FlopCount } from './count-flops.js';
export { nodeFileHandler } from './file-io.js';
export {
  attachHydraPlus,
  type HydraPlusConfig,
  MdaMultiply,
  mdaTargets,
  type StageFn,
  UnfoldAttentionMaps,
  type UnfoldAttentionMapsArgs,
} from './hydraplus.js';
export type { InitializerName } from './initializers.js';
export { importKerasWeights, type KerasNameMap, resnetName, vgg16Name } from './keras-import.js';
export type { NetArchitecture, SegmentationNetFactory, SegmentationNetOptions } from './net-architecture.js';
export { ATTENTIVE_BN_SUFFIX, type ConvSpec, NetBuilder } from './net-builder.js';
export { DANN_DIGITS_FEATURES, DANN_DIGITS_INPUT, dannDigits } from './nets/dann-digits.js';
export { deeplabV2Resnet, RESNET_BLOCKS } from './nets/deeplabv2-resnet.js';
export { digitsSeg } from './nets/digits-seg.js';
export { roadLite } from './nets/road-lite.js';
export { VGG16_BLOCKS, vgg16Fcn } from './nets/vgg16-fcn.js';
export {
  CAFFE_BGR_MEAN,
  IMAGENET_RGB_MEAN,
  IMAGENET_RGB_STD,
  INPUT_NORMALIZATIONS,
  type InputNormalization,
  kerasCaffePreprocess,
  normalizeInput,
} from './preprocess.js';
export { getSegmentationNetFactory, listSegmentationNets, registerSegmentationNet } from './registry.js';
export { bilinearMatrix, type ResizeBilinearOptions, resizeBilinear } from './resize-bilinear.js';
export {
  copyBackboneWeights,
  createBackbone,
  createSegmentationNet,
  loadSegmentationNet,
  METADATA_KEY,
  type SegmentationNet,
} from './segmentation-net.js';
export { readKerasH5 } from './weights/keras-h5.js';
export {
  formatLoadReport,
  type LoadPretrainedOptions,
  loadPretrainedWeights,
  netOptionsForWeights,
  normalizationForWeights,
  PretrainedLoadError,
  type PretrainedLoadReport,
} from './weights/load-pretrained.js';
export {
  detectWeightMap,
  type MapRule,
  WEIGHT_MAPS,
  type WeightMapName,
  type WeightNameMap,
  type WeightTransform,
} from './weights/name-maps.js';
export { parseWeightFile, readWeightFile } from './weights/read-weight-file.js';
export { readSafetensors } from './weights/safetensors.js';
export { readTorchLegacy, readTorchZip } from './weights/torch-file.js';
export {
  type RawTensor,
  type WeightDType,
  type WeightFile,
  WeightFileError,
  type WeightFileFormat,
} from './weights/weight-file.js';
export { copyWeightsByName, type ModelLike, type WeightCopyReport, weightedLayers } from './weights.js';

/**
 * Registers the custom layers (`AtrousConv2D`, `HydraPlusMdaMultiply`, `HydraPlusUnfoldMaps`) with tfjs
 * serialization. Importing this package already does it; call this if a bundler dropped the import's side effects
 * and `tf.loadLayersModel` reports an unknown layer class. Idempotent.
 */
export function registerBackboneLayers(): void {
  for (const cls of [AtrousConv2D, MdaMultiply, UnfoldAttentionMaps]) tf.serialization.registerClass(cls);
}
