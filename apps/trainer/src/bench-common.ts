/** Mean, sample standard deviation, min and max of a list (bench tables). */
export function summarize(values: number[]): { mean: number; sd: number; min: number; max: number; n: number } {
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, n);
  const sd = n > 1 ? Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values), n };
}

/** The DANN paper's MNIST → MNIST-M classification accuracies (Ganin et al., JMLR 2016, Table 2). */
export const DANN_PAPER_DIGITS = { sourceOnly: 0.5225, dann: 0.7666, targetTrained: 0.9596 } as const;
