// A real local data plane for the produce and consume benches: 3 controllers and 3 brokers on
// 127.0.0.1 with their data in a temp dir, and topics of 3 partitions replicated 3 times. Every process
// it starts is stopped when the bench ends, fails or is interrupted (Ctrl-C, SIGTERM).
import { AdminClient } from "../client/adminClient.js";
import { BrokerProcesses } from "../e2e/brokerProcesses.js";
import { Cluster } from "../e2e/harness.js";
import { waitFor } from "../e2e/waitFor.js";

const controllersCount = 3;
const brokerIds: readonly number[] = [1, 2, 3];
export const partitionsCount = 3;
export const replicationFactor = 3;
/** Brokers register and catch up with the metadata within this (seconds on a loaded 2-core machine). */
const unfencedTimeoutMs = 30_000;
/** Every broker opens its replicas of a new topic within this. */
const topicReadyTimeoutMs = 30_000;
const probeIntervalMs = 100;

/** The running cluster a bench body gets. */
export class DataPlaneCluster {
  constructor(
    readonly controllers: Cluster,
    readonly brokers: BrokerProcesses,
    readonly admin: AdminClient,
  ) {}

  controllerUrls(): string[] {
    return this.brokers.controllerUrls();
  }

  /** Pids of every running controller and broker, for their CPU time. */
  pids(): number[] {
    return [...this.controllers.runningIds().flatMap((id) => this.controllers.pid(id) ?? []), ...this.brokers.pids()];
  }

  /** Creates the topic and waits until every broker has opened its replica of each partition. */
  async createTopic(name: string): Promise<void> {
    await this.admin.createTopic({ name, partitions: partitionsCount, replicationFactor });
    await waitFor(
      `every broker to open its replicas of ${name}`,
      async () => {
        const statuses = await Promise.all(brokerIds.map((id) => this.brokers.status(id)));
        return statuses.every((s) => s.partitions.filter((p) => p.topic === name).length === partitionsCount) ? true : undefined;
      },
      { timeoutMs: topicReadyTimeoutMs, intervalMs: probeIntervalMs },
    );
  }
}

/**
 * Starts the cluster, waits until every broker is UNFENCED, runs `body`, and stops every process it
 * started (by the pids the harness keeps), also when `body` throws — then with the processes' log tails
 * on stderr — or the bench gets SIGINT or SIGTERM.
 */
export async function withDataPlaneCluster<T>(name: string, body: (cluster: DataPlaneCluster) => Promise<T>, options: { readonly brokerCpuProfileDir?: string | undefined } = {}): Promise<T> {
  let controllers: Cluster | undefined;
  let brokers: BrokerProcesses | undefined;
  const stopAll = async (): Promise<void> => {
    await brokers?.close();
    await controllers?.close();
  };
  // Interrupted while still starting, the processes already spawned are killed by the harness's exit hooks.
  const onSignal = (): void => {
    void stopAll().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    controllers = await Cluster.start({ nodesCount: controllersCount, name });
    const profileDir = options.brokerCpuProfileDir;
    brokers = await BrokerProcesses.start(controllers, { brokerIds, ...(profileDir === undefined ? {} : { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] }) });
    const cluster = new DataPlaneCluster(controllers, brokers, new AdminClient({ controllers: brokers.controllerUrls() }));
    await waitForUnfencedBrokers(cluster.admin);
    return await body(cluster);
  } catch (error) {
    if (controllers !== undefined) console.error(await controllers.logTails());
    if (brokers !== undefined) console.error(await brokers.logTails());
    throw error;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    // A profiled broker writes its profile only when it exits by itself: SIGTERM first.
    if (options.brokerCpuProfileDir !== undefined) await Promise.all(brokerIds.map((id) => brokers?.terminate(id).catch(() => undefined)));
    await stopAll();
  }
}

async function waitForUnfencedBrokers(admin: AdminClient): Promise<void> {
  await waitFor(
    `all ${brokerIds.length} brokers to be UNFENCED`,
    async () => {
      const listed = await admin.listBrokers({ status: "UNFENCED" });
      return listed.brokers.length === brokerIds.length ? true : undefined;
    },
    { timeoutMs: unfencedTimeoutMs, intervalMs: probeIntervalMs },
  );
}
