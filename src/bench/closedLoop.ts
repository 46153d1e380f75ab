// A closed-loop load generator: `concurrency` workers, each with one request outstanding at a time,
// sending the next as soon as the previous one answers. What it measures is the system's throughput at
// that many requests in flight and the latency each of them saw.
import { assert } from "../shared/assert.js";
import { nearestRank } from "./stats.js";

/** One request of worker `worker` (0-based), its `sequence`-th (0-based); rejects when it failed. */
export type Operation = (worker: number, sequence: number) => Promise<void>;

export interface ClosedLoopOptions {
  readonly concurrency: number;
  /** Requests run but not counted first, so that connections, caches and JIT are warm. */
  readonly warmUpMs: number;
  readonly measureMs: number;
  /** A bound on the requests of one run, whatever the durations (a broken operation that answers at once). */
  readonly operationsCountMax: number;
  /** Called when the measured window opens and when it closes, e.g. to read the servers' CPU time. */
  readonly onWindowStart?: () => void;
  readonly onWindowEnd?: () => void;
}

export interface LatencyPercentiles {
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly p999Ms: number;
  readonly maxMs: number;
}

export interface ClosedLoopResult {
  readonly concurrency: number;
  readonly measuredMs: number;
  /** Requests that succeeded and ended inside the measured window. */
  readonly operationsCount: number;
  readonly operationsPerSecond: number;
  /** Requests that failed inside the measured window; not counted in the throughput or the latencies. */
  readonly errorsCount: number;
  readonly firstError: string | undefined;
  /** Of the requests counted; undefined when none was. */
  readonly latency: LatencyPercentiles | undefined;
  /** CPU time the load generator (this process) used in the measured window, in percent of one core. */
  readonly clientCpuPercent: number;
}

/**
 * Runs `operation` in a closed loop. A request counts when it ends inside the measured window (after
 * the warm-up); workers stop sending at the window's end and the run waits for the requests still
 * in flight (each operation bounds its own time).
 */
export async function runClosedLoop(operation: Operation, options: ClosedLoopOptions): Promise<ClosedLoopResult> {
  assert(Number.isInteger(options.concurrency) && options.concurrency >= 1, `concurrency must be a positive integer, got ${options.concurrency}`);
  assert(options.measureMs > 0 && options.warmUpMs >= 0, "the measured window must be positive and the warm-up not negative");
  const startedMs = performance.now();
  const measureStartMs = startedMs + options.warmUpMs;
  const measureEndMs = measureStartMs + options.measureMs;
  const latenciesMs: number[] = [];
  let errorsCount = 0;
  let firstError: string | undefined;
  let operationsStartedCount = 0;
  // The load generator's own CPU over the measured window: a saturated client caps what it can measure.
  let cpuAtStart: NodeJS.CpuUsage | undefined;
  let cpuInWindow: NodeJS.CpuUsage | undefined;
  const cpuStartTimer = setTimeout(() => {
    cpuAtStart = process.cpuUsage();
    options.onWindowStart?.();
  }, options.warmUpMs);
  const cpuEndTimer = setTimeout(() => {
    cpuInWindow = process.cpuUsage(cpuAtStart);
    options.onWindowEnd?.();
  }, options.warmUpMs + options.measureMs);

  const worker = async (index: number): Promise<void> => {
    for (let sequence = 0; operationsStartedCount < options.operationsCountMax; sequence++) {
      const sentMs = performance.now();
      if (sentMs >= measureEndMs) return;
      operationsStartedCount++;
      let failure: string | undefined;
      try {
        await operation(index, sequence);
      } catch (error) {
        failure = error instanceof Error ? error.message : String(error);
      }
      const endedMs = performance.now();
      if (endedMs < measureStartMs || endedMs >= measureEndMs) continue;
      if (failure === undefined) {
        latenciesMs.push(endedMs - sentMs);
      } else {
        errorsCount++;
        firstError ??= failure;
      }
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, (_, index) => worker(index)));
  clearTimeout(cpuStartTimer);
  clearTimeout(cpuEndTimer);
  const measuredMs = Math.min(performance.now(), measureEndMs) - measureStartMs;
  if (cpuInWindow === undefined) {
    // Every worker stopped early (operationsCountMax): the window closes now.
    cpuInWindow = process.cpuUsage(cpuAtStart);
    if (cpuAtStart !== undefined) options.onWindowEnd?.();
  }
  const cpuMicros = cpuAtStart === undefined ? 0 : cpuInWindow.user + cpuInWindow.system;
  return {
    concurrency: options.concurrency,
    measuredMs,
    operationsCount: latenciesMs.length,
    operationsPerSecond: measuredMs > 0 ? (latenciesMs.length * 1_000) / measuredMs : 0,
    errorsCount,
    firstError,
    latency: latencyPercentiles(latenciesMs),
    clientCpuPercent: measuredMs > 0 ? cpuMicros / 10 / measuredMs : 0,
  };
}

/** p50, p99, p99.9 and the maximum, nearest-rank (each a measured value); undefined for no sample. */
export function latencyPercentiles(samplesMs: readonly number[]): LatencyPercentiles | undefined {
  if (samplesMs.length === 0) return undefined;
  const sorted = Float64Array.from(samplesMs).sort();
  return { p50Ms: nearestRank(sorted, 50), p99Ms: nearestRank(sorted, 99), p999Ms: nearestRank(sorted, 99.9), maxMs: nearestRank(sorted, 100) };
}

