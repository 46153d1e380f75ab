import { createPrng } from "../shared/prng.js";
import type { ClusterStats } from "./cluster.js";
import { Cluster } from "./cluster.js";
import type { ParamsOverrides } from "./params.js";
import { describeParams, drawParams } from "./params.js";
import type { WorkloadStats } from "./workload.js";

export interface RunOptions {
  /** Collect a readable trace of the run (slower; for replaying one seed). */
  readonly trace?: boolean;
  /** Also trace every message sent and delivered. */
  readonly traceMessages?: boolean;
  readonly overrides?: ParamsOverrides;
}

export interface RunResult {
  readonly seed: number;
  readonly params: string;
  /** Safety violations; the run stops at the first, so there is at most one. */
  readonly violations: readonly string[];
  readonly livenessFailure: string | undefined;
  readonly trace: readonly string[];
  readonly stats: ClusterStats & WorkloadStats;
}

/** Runs one seed: a fault phase and a liveness phase on a whole simulated cluster, checked throughout. */
export function runSeed(seed: number, options: RunOptions = {}): RunResult {
  // Parameters come from their own stream so that the run's choices do not shift when a knob is added.
  const params = drawParams(seed, createPrng(seed ^ 0x5eed5eed), options.overrides);
  const cluster = new Cluster(seed, params, { trace: options.trace ?? false, traceMessages: options.traceMessages ?? false });
  cluster.run();
  const described = describeParams(params);
  return {
    seed,
    params: described,
    violations: [...cluster.checker.violations],
    livenessFailure: cluster.livenessFailure,
    trace: options.trace === true ? [`seed ${seed}: ${described}`, ...cluster.traceLines] : [],
    stats: { ...cluster.stats, ...cluster.workloadStats },
  };
}
