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
export { roadLite } from './nets/road-lite';
export { VGG16_BLOCKS, vgg16Fcn } from './nets/vgg16-fcn';
export { CAFFE_BGR_MEAN, kerasCaffePreprocess } from './preprocess';
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

/**
 * Registers the custom layers (`AtrousConv2D`, `HydraPlusMdaMultiply`, `HydraPlusUnfoldMaps`) with tfjs
 * serialization. Importing this package already does it; call this if a bundler dropped the import's side effects
 * and `tf.loadLayersModel` reports an unknown layer class. Idempotent.
 */
export function registerBackboneLayers(): void {
  for (const cls of [AtrousConv2D, MdaMultiply, UnfoldAttentionMaps]) tf.serialization.registerClass(cls);
}
