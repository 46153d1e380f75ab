/**
 * Time as producers and consumers see it: the current time and one-shot timers (linger, back-offs,
 * heartbeats, auto-commits, deadlines). Tests put a manual clock in its place (brokerTesting.ts).
 */
export interface Clock {
  nowMs(): number;
  /** Calls `callback` once after `delayMs`; the function returned cancels it if it has not run. */
  setTimer(callback: () => void, delayMs: number): () => void;
}

export const systemClock: Clock = {
  nowMs: () => Date.now(),
  setTimer: (callback, delayMs) => {
    const timer = setTimeout(callback, delayMs);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `delayMs`, or as soon as `signal` aborts (callers look at the signal). Never rejects. */
export function sleepOn(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, Math.max(0, delayMs));
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
