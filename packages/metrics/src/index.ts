export {
  ConfusionMatrix,
  type ConfusionMatrixOptions,
  type IntArray,
  type IoUResult,
  nanMean,
} from './confusion-matrix.js';
export { type FormatIoUTableOptions, formatIoUTable } from './format-table.js';
export { MIOU13_CLASSES, MIOU16_CLASSES, MIOU19_CLASSES, miouOver } from './subsets.js';
export { updateFromLogits, updateFromPredictions } from './tensor-update.js';
