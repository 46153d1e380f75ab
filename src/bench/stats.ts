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
  return nearestRank([...samples].sort((a, b) => a - b), p);
}

/** `percentile` of samples already sorted in ascending order (sort once, rank many times). */
export function nearestRank(sorted: ArrayLike<number>, p: number): number {
  assert(sorted.length > 0, "a percentile needs at least one sample");
  assert(p > 0 && p <= 100, `p must be in (0, 100], got ${p}`);
  // p is a decimal like 99.9 that binary floating point cannot hold exactly: 0.999 * 1000 comes out a
  // hair above 999, and a plain ceil would take the 1000th. Round away that error before the ceil.
  const rank = Math.max(1, Math.ceil(Math.round((p / 100) * sorted.length * 1e6) / 1e6));
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
    p50Ms: nearestRank(sorted, 50),
    p99Ms: nearestRank(sorted, 99),
    maxMs: nearestRank(sorted, 100),
  };
}
