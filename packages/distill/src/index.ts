export {
  type AttentionMapOptions,
  type AttentionTransferOptions,
  attentionMap,
  attentionTransferLoss,
} from './attention-transfer.js';
export { FrozenTeacher, type FrozenTeacherOptions, type TeacherModel } from './frozen-teacher.js';
export {
  type HintLossOptions,
  type HintRegressor,
  type HintRegressorLike,
  hintLoss,
  hintRegressor,
} from './hint-loss.js';
export { type KdLossOptions, kdLoss } from './kd-loss.js';
export { type LwfLossOptions, lwfLoss } from './lwf-loss.js';
export { stopGradient } from './stop-gradient.js';
export {
  type TargetGuidedDistillationOptions,
  targetGuidedDistillation,
} from './target-guided-distillation.js';
