/**
 * @road/trainer — the `road` CLI as a library: configs and presets, the ROAD-Net training step, the training
 * loop with checkpoints and reports, evaluation, teacher pretraining, the demo and the benchmarks.
 */
export {
  PRESETS,
  TrainConfigSchema,
  loadConfig,
  validateConfig,
  applySet,
  parseDatasetString,
  resolveDatasetRef,
  type TrainConfig,
  type TrainConfigInput,
  type DatasetRef,
} from './config.js';
export { RoadError, NonFiniteLossError, EXIT } from './errors.js';
export {
  createTrainStep,
  learningRateAt,
  progressOf,
  type TrainParts,
  type TrainStep,
  type StepBatch,
  type StepResult,
  type StepNet,
  type StepTeacher,
  type StepSpatial,
  type CropLike,
} from './train-step.js';
export { segmentationCrossEntropy } from './seg-loss.js';
export { buildParts, buildNet, loadTeacher, netSlots, type RunParts, type SegNet } from './parts.js';
export { trainRun, type TrainRunOptions, type TrainSummary } from './trainer.js';
export { startWatchdog, type Watchdog, type WatchdogOptions, type WatchPhase } from './watchdog.js';
export { evaluateNet, sideBySide, evalMarkdown, type EvalResult } from './evaluate.js';
export { pretrainTeacher, cachedTeacher, type PretrainOptions, type PretrainResult } from './pretrain.js';
export { runDemo, demoConfig, DEMO_RECIPE, type DemoResult } from './demo.js';
export { benchSynthCity, benchDigits, DANN_PAPER_DIGITS, type SynthCityBench } from './bench.js';
export {
  writeCheckpoint,
  readCheckpoint,
  newestGoodCheckpoint,
  configHash,
  latestCheckpoint,
  restoreSlots,
  nodeCheckpointFs,
  type CheckpointFs,
  type WeightSlot,
} from './checkpoint.js';
export { ensureEngine, type EngineInfo } from './engine.js';
export { acquireRunLock, type RunLock, type RunLockInfo } from './run-lock.js';
export { trainStream, evalStream, type Batch, type BatchStream } from './data.js';
export { lineChartSvg, imageGridPng, writeRunReport } from './report.js';
export { loadNetFromCheckpoint, predictFolder } from './predict.js';
