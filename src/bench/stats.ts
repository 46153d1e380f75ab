import { assert } from "../shared/assert.js";

export interface LatencySummary {
  readonly count: number;
  readonly minMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

/**
 * The `p`-th percentile (0 < p ≤ 100) by the nearest-rank method: the smallest sample at or above
 * which p % of the samples lie. No interpolation, so it is always a measured value; with 20 samples
 * p99 is the maximum.
 */
export function percentile(samples: readonly number[], p: number): number {
  assert(samples.length > 0, "a percentile needs at least one sample");
  assert(p > 0 && p <= 100, `p must be in (0, 100], got ${p}`);
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  const value = sorted[rank - 1];
  assert(value !== undefined, `rank ${rank} of ${sorted.length} samples`);
  return value;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  assert(samplesMs.length > 0, "a summary needs at least one sample");
  // Sorted once; and no Math.min(...samples): a produce bench has more samples than a call takes arguments.
  const sorted = [...samplesMs].sort((a, b) => a - b);
  return {
    count: samplesMs.length,
    minMs: sorted[0] ?? 0,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    maxMs: percentile(sorted, 100),
  };
}
