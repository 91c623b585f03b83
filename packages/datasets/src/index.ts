export {
  type Batch,
  type BatchIterator,
  type BatchIteratorOptions,
  createBatchIterator,
  defaultWorkerUrl,
  type IteratorState,
} from './batching.js';
export { hsvToRgb } from './color.js';
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
  neutralBlend,
  proceduralBackgrounds,
} from './digits.js';
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
} from './image-io.js';
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
} from './label-maps.js';
export { openDataset } from './open-dataset.js';
export { type CityscapesOptions, cityscapesDataset } from './readers/cityscapes.js';
export { FOLDER_IMAGE_EXTENSIONS, type FolderOptions, folderDataset } from './readers/folder.js';
export { type Gta5Options, gta5Dataset } from './readers/gta5.js';
export { ON_DISK_KINDS, type OnDiskKind, type OpenOnDiskOptions, openOnDiskDataset } from './readers/open.js';
export { type BadFile, OnDiskDataset, type OnDiskOptions, type SampleFiles } from './readers/shared.js';
export { type SynthiaOptions, synthiaDataset } from './readers/synthia.js';
export { deriveSeed, mix32, Rng, type RngState } from './rng.js';
export { type DataStats, type DataStatsOptions, dataStats } from './stats.js';
export {
  renderSynthCity,
  SYNTHCITY_CLASSES,
  SYNTHCITY_DEFAULT_LENGTHS,
  type SynthCityOptions,
  type SynthCitySplit,
  synthCityDataset,
} from './synthcity/index.js';
export { renderSynthCityPreview, type SynthCityPreviewOptions } from './synthcity-preview.js';
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
} from './transforms.js';
// In-memory part: seeded RNG, transforms, built-in benchmarks (SynthCity, Digits), openDataset, batching.
export type { Crop, Dataset, DatasetSpec, Sample } from './types.js';
