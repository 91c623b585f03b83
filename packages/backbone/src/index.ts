import * as tf from '@tensorflow/tfjs-core';
import { AtrousConv2D } from './atrous-conv2d';
import { MdaMultiply, UnfoldAttentionMaps } from './hydraplus';

export {
  AtrousConv2D,
  type AtrousConv2DArgs,
  type AtrousMethod,
  atrousConv2d,
  hasDilatedConv2dGradient,
} from './atrous-conv2d';
export { countFlops, type FlopCount } from './count-flops';
export { nodeFileHandler } from './file-io';
export {
  attachHydraPlus,
  type HydraPlusConfig,
  MdaMultiply,
  mdaTargets,
  type StageFn,
  UnfoldAttentionMaps,
  type UnfoldAttentionMapsArgs,
} from './hydraplus';
export type { InitializerName } from './initializers';
export { importKerasWeights, type KerasNameMap, resnetName, vgg16Name } from './keras-import';
export type { NetArchitecture, SegmentationNetFactory, SegmentationNetOptions } from './net-architecture';
export { ATTENTIVE_BN_SUFFIX, type ConvSpec, NetBuilder } from './net-builder';
export { DANN_DIGITS_FEATURES, DANN_DIGITS_INPUT, dannDigits } from './nets/dann-digits';
export { deeplabV2Resnet, RESNET_BLOCKS } from './nets/deeplabv2-resnet';
export { digitsSeg } from './nets/digits-seg';
export { roadLite } from './nets/road-lite';
export { VGG16_BLOCKS, vgg16Fcn } from './nets/vgg16-fcn';
export {
  CAFFE_BGR_MEAN,
  IMAGENET_RGB_MEAN,
  IMAGENET_RGB_STD,
  INPUT_NORMALIZATIONS,
  type InputNormalization,
  kerasCaffePreprocess,
  normalizeInput,
} from './preprocess';
export { getSegmentationNetFactory, listSegmentationNets, registerSegmentationNet } from './registry';
export { bilinearMatrix, type ResizeBilinearOptions, resizeBilinear } from './resize-bilinear';
export {
  copyBackboneWeights,
  createBackbone,
  createSegmentationNet,
  loadSegmentationNet,
  METADATA_KEY,
  type SegmentationNet,
} from './segmentation-net';
export { copyWeightsByName, type ModelLike, type WeightCopyReport, weightedLayers } from './weights';
export { readKerasH5 } from './weights/keras-h5';
export {
  formatLoadReport,
  type LoadPretrainedOptions,
  loadPretrainedWeights,
  netOptionsForWeights,
  normalizationForWeights,
  PretrainedLoadError,
  type PretrainedLoadReport,
} from './weights/load-pretrained';
export {
  detectWeightMap,
  type MapRule,
  WEIGHT_MAPS,
  type WeightMapName,
  type WeightNameMap,
  type WeightTransform,
} from './weights/name-maps';
export { parseWeightFile, readWeightFile } from './weights/read-weight-file';
export { readSafetensors } from './weights/safetensors';
export { readTorchLegacy, readTorchZip } from './weights/torch-file';
export {
  type RawTensor,
  type WeightDType,
  type WeightFile,
  WeightFileError,
  type WeightFileFormat,
} from './weights/weight-file';

/**
 * Registers the custom layers (`AtrousConv2D`, `HydraPlusMdaMultiply`, `HydraPlusUnfoldMaps`) with tfjs
 * serialization. Importing this package already does it; call this if a bundler dropped the import's side effects
 * and `tf.loadLayersModel` reports an unknown layer class. Idempotent.
 */
export function registerBackboneLayers(): void {
  for (const cls of [AtrousConv2D, MdaMultiply, UnfoldAttentionMaps]) tf.serialization.registerClass(cls);
}
