import { cpus, release, type } from "node:os";

export interface Machine {
  readonly cpuModel: string;
  readonly cpusCount: number;
  readonly nodeVersion: string;
  readonly os: string;
}

export function describeMachine(): Machine {
  const all = cpus();
  return { cpuModel: all[0]?.model.trim() ?? "unknown", cpusCount: all.length, nodeVersion: process.version, os: `${type()} ${release()}` };
}

export function formatMachine(machine: Machine): string {
  return `${machine.cpuModel} × ${machine.cpusCount}, Node ${machine.nodeVersion}, ${machine.os}`;
}
