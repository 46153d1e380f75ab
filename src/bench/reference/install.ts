// Reference systems of the comparison benches: installed from Debian's packages by the project's
// script when missing, and named with their package version in the results.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The name `scripts/install-references.sh` takes. */
export type InstalledReference = "etcd" | "zookeeper" | "nats";

const installScript = fileURLToPath(new URL("../../../scripts/install-references.sh", import.meta.url));

/** The Debian package each reference comes from. */
export const referencePackages: Readonly<Record<InstalledReference, string>> = { etcd: "etcd-server", zookeeper: "zookeeper", nats: "nats-server" };

/** Runs the project's install script when `isInstalled()` is false; throws if it still is afterwards. */
export function ensureInstalled(reference: InstalledReference, isInstalled: () => boolean, print: (line: string) => void): void {
  if (isInstalled()) return;
  print(`${reference} is not installed: running ${installScript} ${reference}`);
  const run = spawnSync("bash", [installScript, reference], { stdio: "inherit" });
  if (run.status !== 0 || !isInstalled()) throw new Error(`Cannot run the bench against ${reference} as ${installScript} ${reference} failed (exit ${String(run.status)})`);
}

/** "Debian etcd-server 3.4.23-4+b5", from dpkg. */
export function referenceVersion(reference: InstalledReference): string {
  const packageName = referencePackages[reference];
  const query = spawnSync("dpkg-query", ["-W", "-f=${Version}", packageName], { encoding: "utf8" });
  return query.status === 0 ? `Debian ${packageName} ${query.stdout.trim()}` : "unknown version";
}

/** 1, 5 and 15-minute load averages as "1.23, 0.47, 0.21". */
export function formatLoad(load: readonly number[]): string {
  return load.map((l) => l.toFixed(2)).join(", ");
}
