export {
  type Batch,
  type BatchIterator,
  type BatchIteratorOptions,
  createBatchIterator,
  defaultWorkerUrl,
  type IteratorState,
} from './batching';
export {
  type BackgroundImage,
  DIGITS_BACKGROUND_CLASS,
  type DigitsDomain,
  type DigitsOptions,
  type DigitsSplit,
  digitsClassification,
  digitsSegmentation,
  loadBackgrounds,
  loadMnist,
  mnistMBlend,
  proceduralBackgrounds,
} from './digits';
export {
  DatasetError,
  decodePngChannel,
  encodePng,
  isPng,
  type LabelImage,
  MAX_PIXELS,
  type PngImage,
  type RgbImage,
  readLabelPng,
  readRgb,
  writePng,
} from './image-io';
// On-disk datasets: label maps, image I/O, readers, stats.
export {
  applyLabelLut,
  CITYSCAPES_CLASSES,
  CITYSCAPES_ID_TO_TRAIN_ID,
  CITYSCAPES_PALETTE,
  GTA5_ID_TO_TRAIN_ID,
  IGNORE_INDEX,
  type LabelMap,
  LUT_UNKNOWN,
  makeLabelLut,
  SYNTHIA_CLASSES,
  SYNTHIA_ID_TO_TRAIN_ID,
  trainIdLut,
  UnknownLabelIdError,
} from './label-maps';
export { openDataset } from './open-dataset';
export { type CityscapesOptions, cityscapesDataset } from './readers/cityscapes';
export { FOLDER_IMAGE_EXTENSIONS, type FolderOptions, folderDataset } from './readers/folder';
export { type Gta5Options, gta5Dataset } from './readers/gta5';
export { ON_DISK_KINDS, type OnDiskKind, type OpenOnDiskOptions, openOnDiskDataset } from './readers/open';
export { type BadFile, OnDiskDataset, type OnDiskOptions, type SampleFiles } from './readers/shared';
export { type SynthiaOptions, synthiaDataset } from './readers/synthia';
export { deriveSeed, mix32, Rng, type RngState } from './rng';
export { type DataStats, type DataStatsOptions, dataStats } from './stats';
export {
  renderSynthCity,
  SYNTHCITY_CLASSES,
  SYNTHCITY_DEFAULT_LENGTHS,
  type SynthCityOptions,
  type SynthCitySplit,
  synthCityDataset,
} from './synthcity';
export { renderSynthCityPreview, type SynthCityPreviewOptions } from './synthcity-preview';
export {
  augment,
  CAFFE_BGR_MEAN,
  crop,
  cropToFull,
  defaultPadColor,
  estimateMeanStd,
  horizontalFlip,
  IMAGENET_MEAN,
  IMAGENET_STD,
  type Normalization,
  normalizeImage,
  resize,
  type TransformSpec,
} from './transforms';
// In-memory part: seeded RNG, transforms, built-in benchmarks (SynthCity, Digits), openDataset, batching.
export type { Crop, Dataset, DatasetSpec, Sample } from './types';
