import { describe, expect, it } from 'vitest';
import { dannLambda, dannLearningRate } from './schedules.js';

describe('dannLambda', () => {
  it('matches 2/(1+exp(-10p)) - 1 at p = 0, 0.5, 1', () => {
    // p = 0:   2/(1+e^0) - 1 = 2/2 - 1 = 0
    expect(dannLambda(0)).toBe(0);
    // p = 0.5: 2/(1+e^-5) - 1, e^-5 = 0.006737946999085467 → 2/1.006737946999085467 - 1 = 0.98661429815143...
    expect(dannLambda(0.5)).toBeCloseTo(0.9866142981514305, 14);
    expect(dannLambda(0.5)).toBeCloseTo(2 / (1 + 0.006737946999085467) - 1, 14);
    // p = 1:   2/(1+e^-10) - 1, e^-10 = 4.5399929762484854e-5 → 0.99990920426259...
    expect(dannLambda(1)).toBeCloseTo(0.9999092042625952, 14);
  });

  it('honours gamma, low and high', () => {
    // γ = 2, p = 0.5: 2/(1+e^-1) - 1 = 2/1.3678794411714423 - 1 = 0.46211715726000974 (= tanh(0.5))
    expect(dannLambda(0.5, { gamma: 2 })).toBeCloseTo(0.46211715726000974, 14);
    // low 0.1, high 0.5 at p = 0.5: 0.1 + 0.4·0.9866142981514305 = 0.4946457192605722
    expect(dannLambda(0.5, { low: 0.1, high: 0.5 })).toBeCloseTo(0.4946457192605722, 14);
    expect(dannLambda(0, { low: 0.1, high: 0.5 })).toBeCloseTo(0.1, 15);
  });

  it('rejects progress outside [0, 1] and non-numbers', () => {
    expect(() => dannLambda(-0.1)).toThrow(/dannLambda\(progress\) needs 0 <= progress <= 1.*-0.1/);
    expect(() => dannLambda(1.5)).toThrow(/1.5/);
    expect(() => dannLambda(Number.NaN)).toThrow(/NaN/);
    expect(() => dannLambda(0.5, { gamma: Number.NaN })).toThrow(/gamma/);
  });
});

describe('dannLearningRate', () => {
  it('is mu0 / (1 + alpha p)^beta', () => {
    expect(dannLearningRate(0)).toBe(0.01);
    // p = 0.5: 0.01 / 6^0.75 = 0.01 / 3.833658625477635 = 0.0026084743001221454
    expect(dannLearningRate(0.5)).toBeCloseTo(0.0026084743001221454, 15);
    // p = 1: 0.01 / 11^0.75 = 0.01 / 6.0401053545372365 = 0.0016556002607617019
    expect(dannLearningRate(1)).toBeCloseTo(0.0016556002607617019, 15);
    // custom: 0.1 / (1 + 1·1)^1 = 0.05
    expect(dannLearningRate(1, { mu0: 0.1, alpha: 1, beta: 1 })).toBeCloseTo(0.05, 15);
    expect(() => dannLearningRate(2)).toThrow(/dannLearningRate\(progress\)/);
  });
});
