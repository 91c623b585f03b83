export {
  type DannClassificationInputs,
  type DannClassificationTerms,
  dannClassificationObjective,
  type FeatureClassifierNet,
} from './dann-objective.js';
export {
  type DomainAdversarialLossOptions,
  type DomainAdversarialLossResult,
  domainAdversarialLoss,
} from './domain-adversarial-loss.js';
export {
  type ConvDomainClassifierOptions,
  convDomainClassifier,
  DomainClassifier,
  type DomainClassifierActivation,
  type DomainClassifierLike,
  type MlpDomainClassifierOptions,
  mlpDomainClassifier,
} from './domain-classifier.js';
export { gradientReversal, type LambdaSource, resolveLambda } from './gradient-reversal.js';
export { GradientReversal, type GradientReversalArgs, registerDannLayers } from './gradient-reversal-layer.js';
export { type Crop, type RegionGrid, regionAssignment } from './region-grid.js';
export { type DannLambdaOptions, type DannLearningRateOptions, dannLambda, dannLearningRate } from './schedules.js';
export {
  type RegionStats,
  SpatialAwareAdaptation,
  type SpatialAwareAdaptationOptions,
  type SpatialAwareLossOptions,
  type SpatialAwareLossResult,
} from './spatial-aware-adaptation.js';
