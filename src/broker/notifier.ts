/**
 * Wakes everyone waiting for "something changed" (a log end, a high watermark, a role). Waiters
 * re-check their own condition; a wait also ends after its bound, so a missed wake costs at most that.
 */
export class Notifier {
  private waiters = new Set<() => void>();

  /** Resolves at the next `notify()` or after `timeoutMs`, whichever comes first. */
  wait(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }

  notify(): void {
    const waiters = this.waiters;
    this.waiters = new Set();
    for (const wake of waiters) wake();
  }

  get waitingCount(): number {
    return this.waiters.size;
  }
}
