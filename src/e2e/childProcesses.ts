import type { ChildProcess } from "node:child_process";

/**
 * Children of this process (controllers, brokers, reference servers) that a test or bench started and
 * that have not exited: if this process exits first — a failed assertion, an uncaught error — they are
 * killed, so no run leaves processes behind. Only children registered here are touched.
 */
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;

/** Registers a started child until it exits. */
export function trackChild(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    // Synchronous by necessity: an 'exit' listener cannot wait.
    process.on("exit", () => {
      for (const live of liveChildren) live.kill("SIGKILL");
    });
  }
  liveChildren.add(child);
  child.once("exit", () => liveChildren.delete(child));
}
