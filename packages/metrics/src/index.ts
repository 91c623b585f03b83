export {
  ConfusionMatrix,
  type ConfusionMatrixOptions,
  type IntArray,
  type IoUResult,
  nanMean,
} from './confusion-matrix';
export { type FormatIoUTableOptions, formatIoUTable } from './format-table';
export { MIOU13_CLASSES, MIOU16_CLASSES, MIOU19_CLASSES, miouOver } from './subsets';
export { updateFromLogits, updateFromPredictions } from './tensor-update';
