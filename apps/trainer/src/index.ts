/**
 * @road/trainer — the `road` CLI as a library: configs and presets, the ROAD-Net training step, the training
 * loop with checkpoints and reports, evaluation, teacher pretraining, the demo and the benchmarks.
 */

export { benchDigits, benchSynthCity, DANN_PAPER_DIGITS, type SynthCityBench } from './bench.js';
export {
  type CheckpointFs,
  configHash,
  latestCheckpoint,
  newestGoodCheckpoint,
  nodeCheckpointFs,
  readCheckpoint,
  restoreSlots,
  type WeightSlot,
  writeCheckpoint,
} from './checkpoint.js';
export {
  applySet,
  type DatasetRef,
  loadConfig,
  PRESETS,
  parseDatasetString,
  resolveDatasetRef,
  type TrainConfig,
  type TrainConfigInput,
  TrainConfigSchema,
  validateConfig,
} from './config.js';
export { type Batch, type BatchStream, evalStream, trainStream } from './data.js';
export { DEMO_RECIPE, type DemoResult, demoConfig, runDemo } from './demo.js';
export { type EngineInfo, ensureEngine } from './engine.js';
export { EXIT, NonFiniteLossError, RoadError } from './errors.js';
export { type EvalResult, evalMarkdown, evaluateNet, sideBySide } from './evaluate.js';
export { buildNet, buildParts, loadTeacher, netSlots, type RunParts, type SegNet } from './parts.js';
export { loadNetFromCheckpoint, predictFolder } from './predict.js';
export { cachedTeacher, type PretrainOptions, type PretrainResult, pretrainTeacher } from './pretrain.js';
export { imageGridPng, writeDemoReport, writeMultiRunReport, writeRunReport } from './report.js';
export { acquireRunLock, type RunLock, type RunLockInfo } from './run-lock.js';
export { segmentationCrossEntropy } from './seg-loss.js';
export { crc32c, maskCrc, readEvents, type ScalarWriter, type TfEvent, tfEventsWriter } from './tfevents.js';
export {
  createTrainStep,
  learningRateAt,
  progressOf,
  type StepBatch,
  type StepNet,
  type StepResult,
  type StepSpatial,
  type StepTeacher,
  type TrainParts,
  type TrainStep,
} from './train-step.js';
export { type TrainRunOptions, type TrainSummary, trainRun } from './trainer.js';
export { startWatchdog, type Watchdog, type WatchdogOptions, type WatchPhase } from './watchdog.js';
