// The processes of a reference system (etcd, ZooKeeper) started by a bench: each one's output goes to
// a log file in the bench's temp dir, and every process is stopped at the end — by the pid this module
// started, never by name — also when the bench fails or the process exits.
import { trackChild } from "../../e2e/childProcesses.js";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { appendFileSync, closeSync, openSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { formatExit } from "../../e2e/harness.js";
import type { Exit } from "../../e2e/harness.js";

/** A stopped process that ignores SIGTERM this long is killed. */
const stopTimeoutMs = 10_000;
const killTimeoutMs = 5_000;
const logTailLinesCount = 20;

export interface StartedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  readonly exited: Promise<Exit>;
  /** Set once the process has exited. */
  exit: Exit | undefined;
}

/** The processes one reference cluster runs, with their logs under `dir`. */
export class ProcessGroup {
  private readonly processes: { readonly started: StartedProcess; readonly child: ChildProcess }[] = [];

  constructor(private readonly dir: string) {}

  /** Starts `command` with `args`; throws if it cannot be spawned (e.g. not installed). */
  async spawn(name: string, command: string, args: readonly string[]): Promise<StartedProcess> {
    const logFile = join(this.dir, `${name}.log`);
    appendFileSync(logFile, `--- ${new Date().toISOString()} starting ${name}: ${command} ${args.join(" ")}\n`);
    const fd = openSync(logFile, "a");
    let child: ChildProcess;
    try {
      child = spawn(command, args, { stdio: ["ignore", fd, fd] });
    } finally {
      closeSync(fd);
    }
    const exited = new Promise<Exit>((resolve) => {
      child.once("exit", (code, signal) => resolve({ code, signal }));
      // A spawn that fails never emits 'exit'.
      child.once("error", () => resolve({ code: null, signal: null }));
    });
    if (child.pid === undefined) throw new Error(`Cannot start ${name} as spawning ${command} failed (${formatExit(await exited)})`);
    trackChild(child);
    const started: StartedProcess = { name, pid: child.pid, logFile, exited, exit: undefined };
    void exited.then((exit) => {
      started.exit = exit;
      appendFileSync(logFile, `--- ${new Date().toISOString()} ${name} (pid ${started.pid}) exited: ${formatExit(exit)}\n`);
    });
    this.processes.push({ started, child });
    return started;
  }

  pids(): number[] {
    return this.processes.map((p) => p.started.pid);
  }

  /** Throws if a process has exited: a reference that lost a member is not measured. */
  assertRunning(): void {
    const dead = this.processes.filter((p) => p.started.exit !== undefined);
    if (dead.length > 0) throw new Error(`Reference processes exited: ${dead.map((p) => `${p.started.name} (${formatExit(p.started.exit ?? { code: null, signal: null })})`).join(", ")}`);
  }

  /**
   * Runs a cluster's start-up (spawning its processes, waiting until it serves); if that fails, prints
   * the processes' log tails, stops them all and rethrows, so a failed start leaves nothing running.
   */
  async startOrStop(start: () => Promise<void>): Promise<void> {
    try {
      await start();
    } catch (error) {
      console.error(await this.logTails());
      await this.stop();
      throw error;
    }
  }

  /** SIGTERM to every running process, then SIGKILL to those still there after `stopTimeoutMs`. Safe to call twice. */
  async stop(): Promise<void> {
    const running = this.processes.filter((p) => p.started.exit === undefined);
    for (const p of running) p.child.kill("SIGTERM");
    await Promise.all(
      running.map(async (p) => {
        if ((await withTimeout(p.started.exited, stopTimeoutMs)) !== undefined) return;
        p.child.kill("SIGKILL");
        await withTimeout(p.started.exited, killTimeoutMs);
      }),
    );
  }

  /** The last lines of every process's log, for a failure message. */
  async logTails(): Promise<string> {
    const tails = await Promise.all(
      this.processes.map(async ({ started }) => {
        const text = await readFile(started.logFile, "utf8").catch((error: unknown) => `(cannot read: ${String(error)})`);
        return `--- last lines of ${started.logFile} ---\n${text.trimEnd().split("\n").slice(-logTailLinesCount).join("\n")}`;
      }),
    );
    return tails.join("\n");
  }
}

export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T | undefined> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
  return Promise.race([promise, timedOut]).finally(() => clearTimeout(timer));
}
