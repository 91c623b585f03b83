function checkProgress(progress: number, fn: string): void {
  if (typeof progress !== 'number' || !Number.isFinite(progress) || progress < 0 || progress > 1) {
    throw new Error(
      `@road/dann: ${fn}(progress) needs 0 <= progress <= 1 (training progress), got ${String(progress)}`,
    );
  }
}

function checkFinite(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new Error(`@road/dann: ${name} must be a finite number, got ${String(value)}`);
  }
}

/** Options of {@link dannLambda}. */
export interface DannLambdaOptions {
  /** Steepness γ (default 10, as in the DANN paper). */
  gamma?: number;
  /** Value at progress 0 (default 0). */
  low?: number;
  /** Value approached as progress → ∞ (default 1). */
  high?: number;
}

/**
 * The DANN adaptation-factor schedule (Ganin et al., "Domain-Adversarial Training of Neural Networks",
 * JMLR 2016, §5.2.2, https://arxiv.org/abs/1505.07818):
 *
 *   λ_p = low + (high − low) · (2 / (1 + exp(−γ·p)) − 1)
 *
 * with p ∈ [0, 1] the training progress (e.g. step / totalSteps). With the defaults λ rises from 0 to
 * ≈ 0.99991 at p = 1, which suppresses the noisy domain-classifier gradient early in training.
 */
export function dannLambda(progress: number, options: DannLambdaOptions = {}): number {
  const { gamma = 10, low = 0, high = 1 } = options;
  checkProgress(progress, 'dannLambda');
  checkFinite(gamma, 'dannLambda gamma');
  checkFinite(low, 'dannLambda low');
  checkFinite(high, 'dannLambda high');
  return low + (high - low) * (2 / (1 + Math.exp(-gamma * progress)) - 1);
}

/** Options of {@link dannLearningRate}. */
export interface DannLearningRateOptions {
  /** Initial learning rate μ0 (default 0.01). */
  mu0?: number;
  /** α (default 10). */
  alpha?: number;
  /** β (default 0.75). */
  beta?: number;
}

/**
 * The DANN learning-rate annealing (Ganin et al., JMLR 2016, §5.2.2):
 *
 *   μ_p = μ0 / (1 + α·p)^β,   μ0 = 0.01, α = 10, β = 0.75
 *
 * with p ∈ [0, 1] the training progress.
 */
export function dannLearningRate(progress: number, options: DannLearningRateOptions = {}): number {
  const { mu0 = 0.01, alpha = 10, beta = 0.75 } = options;
  checkProgress(progress, 'dannLearningRate');
  checkFinite(mu0, 'dannLearningRate mu0');
  checkFinite(alpha, 'dannLearningRate alpha');
  checkFinite(beta, 'dannLearningRate beta');
  return mu0 / (1 + alpha * progress) ** beta;
}
