import { setTimeout as sleep } from "node:timers/promises";

export interface WaitOptions {
  readonly timeoutMs: number;
  /** Pause between probes. */
  readonly intervalMs?: number;
}

const defaultIntervalMs = 25;

/**
 * Probes until `probe` returns something other than `undefined`, every `intervalMs`, for at most
 * `timeoutMs` (and so a bounded number of probes). A probe that throws counts as "not yet"; the last
 * error is part of the failure message. `what` names the condition, or builds its description at
 * failure time (so it can show the last state seen).
 */
export async function waitFor<T>(what: string | (() => string), probe: () => Promise<T | undefined> | T | undefined, options: WaitOptions): Promise<T> {
  const intervalMs = options.intervalMs ?? defaultIntervalMs;
  const deadlineMs = performance.now() + options.timeoutMs;
  const probesCountMax = Math.ceil(options.timeoutMs / intervalMs) + 1;
  let lastError: unknown;
  for (let probesCount = 0; probesCount < probesCountMax; probesCount++) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() + intervalMs > deadlineMs) break;
    await sleep(intervalMs);
  }
  const description = typeof what === "string" ? what : what();
  const cause = lastError === undefined ? "" : `; last probe failed: ${lastError instanceof Error ? lastError.message : String(lastError)}`;
  throw new Error(`Timed out after ${options.timeoutMs} ms waiting for ${description}${cause}`);
}
