// CPU time of server processes, from /proc/<pid>/stat (Linux): how busy the system under test was
// while it was measured, so that a table shows when a run was CPU-bound on this 2-core machine.
import { readFileSync } from "node:fs";

/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node runs on. */
const clockTicksPerSecond = 100;

/** utime + stime (fields 14 and 15) of a /proc/<pid>/stat line, in clock ticks. */
export function parseProcStatCpuTicks(statLine: string): number {
  // The command name (field 2) is in parentheses and may hold spaces: count fields after its last ')'.
  const rest = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
  const userTicks = Number(rest[11]);
  const systemTicks = Number(rest[12]);
  if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) throw new Error(`Cannot read CPU times as the stat line has no fields 14 and 15: current value is "${statLine.slice(0, 200)}"`);
  return userTicks + systemTicks;
}

/** Total CPU time of `pids` in ms (all their threads); a process that has gone counts 0. */
export function cpuTimeMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      ticks += parseProcStatCpuTicks(readFileSync(`/proc/${pid}/stat`, "utf8"));
    } catch {
      // Gone, or not Linux: no figure for it.
    }
  }
  return (ticks * 1_000) / clockTicksPerSecond;
}
