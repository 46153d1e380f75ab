// A 3-node NATS cluster with JetStream on 127.0.0.1 (Debian's nats-server), started for the produce
// bench's comparison: one config file per node (client port, cluster routes between the three, file
// storage under the bench's temp dir), ready once a stream with 3 replicas can be created.
//
// Durability: YAKt fsyncs before it acknowledges. JetStream's file store does not by default: it
// writes with plain pwrite and syncs in the background; `sync_interval: always` (nats-server 2.10 and
// later) makes it sync every write. The config asks for it when the installed server accepts it.
import { spawnSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import type { JetStreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import type { NatsConnection } from "@nats-io/transport-node";
import { freePorts } from "../../e2e/harness.js";
import { waitFor } from "../../e2e/waitFor.js";
import { assert } from "../../shared/assert.js";
import { ProcessGroup } from "./processes.js";

const host = "127.0.0.1";
export const natsCommand = "nats-server";
const nodesCount = 3;
export const natsClusterName = "yakt-bench";
/** Routes connect, a JetStream meta leader is elected and an R3 stream is placed within this. */
const readyTimeoutMs = 60_000;
const readyProbeIntervalMs = 250;
/** A readiness probe's requests: short, since before a meta leader is elected JetStream does not answer at all. */
const readyRequestTimeoutMs = 2_000;
/** A client connect or JetStream API request still unanswered after this fails. */
export const natsRequestTimeoutMs = 10_000;
const readyStreamName = "bench-ready";

export interface NatsNode {
  readonly name: string;
  readonly clientPort: number;
  readonly clusterPort: number;
  /** JetStream's store_dir (the server keeps its files in a jetstream/ folder inside). */
  readonly storeDir: string;
}

/**
 * How JetStream's file store syncs: `always` (an fsync on every write, as YAKt does before it
 * acknowledges) where the server accepts `sync_interval: always`, else the server's default (writes
 * reach the disk when the OS flushes them or the server's periodic sync runs).
 */
export type NatsSync = "always" | "default";

/** The config file of node `index`: its client and cluster ports on loopback, the routes to all three, JetStream with file storage. */
export function natsConfig(nodes: readonly NatsNode[], index: number, sync: NatsSync): string {
  const node = nodes[index];
  assert(node !== undefined, `no node ${index} among ${nodes.length}`);
  return [
    `server_name: ${node.name}`,
    `listen: ${host}:${node.clientPort}`,
    "jetstream {",
    `  store_dir: ${JSON.stringify(node.storeDir)}`,
    ...(sync === "always" ? ["  sync_interval: always"] : []),
    "}",
    "cluster {",
    `  name: ${natsClusterName}`,
    `  listen: ${host}:${node.clusterPort}`,
    // A node skips the route to itself.
    `  routes: [${nodes.map((n) => `nats-route://${host}:${n.clusterPort}`).join(", ")}]`,
    "}",
    "",
  ].join("\n");
}

export class NatsCluster {
  private constructor(
    private readonly nodes: readonly NatsNode[],
    readonly processes: ProcessGroup,
    readonly sync: NatsSync,
  ) {}

  /**
   * Starts the nodes with data under `dir` (`sync: "always"` where the server takes it, else its
   * default) and waits until JetStream places a stream with 3 replicas.
   */
  static async start(dir: string): Promise<NatsCluster> {
    const sync: NatsSync = (await acceptsSyncAlways(dir)) ? "always" : "default";
    const ports = await freePorts(2 * nodesCount);
    const nodes = Array.from({ length: nodesCount }, (_, i): NatsNode => {
      const clientPort = ports[2 * i];
      const clusterPort = ports[2 * i + 1];
      assert(clientPort !== undefined && clusterPort !== undefined, "two ports per node");
      return { name: `nats-${i + 1}`, clientPort, clusterPort, storeDir: join(dir, `nats-${i + 1}`) };
    });
    const processes = new ProcessGroup(dir);
    const cluster = new NatsCluster(nodes, processes, sync);
    await processes.startOrStop(async () => {
      for (let i = 0; i < nodes.length; i++) {
        const node = nodes[i];
        assert(node !== undefined, `node ${i}`);
        await mkdir(node.storeDir, { recursive: true });
        const configFile = join(dir, `${node.name}.conf`);
        await writeFile(configFile, natsConfig(nodes, i, sync));
        await processes.spawn(node.name, natsCommand, ["-c", configFile]);
      }
      await cluster.waitUntilReady();
    });
    return cluster;
  }

  /** "127.0.0.1:port" of every node, for a client's server list. */
  servers(): string[] {
    return this.nodes.map((node) => `${host}:${node.clientPort}`);
  }

  /** A connection to node `index` (round-robin over the nodes), which routes to the stream leaders. */
  async connect(index: number, timeoutMs = natsRequestTimeoutMs): Promise<NatsConnection> {
    const servers = this.servers();
    const first = index % servers.length;
    return connect({ servers: [...servers.slice(first), ...servers.slice(0, first)], noRandomize: true, timeout: timeoutMs });
  }

  /** Until a stream with 3 replicas can be created (a meta leader, routes between all three) and deleted again. */
  async waitUntilReady(): Promise<void> {
    await waitFor(
      `JetStream to place a stream with ${nodesCount} replicas`,
      async () => {
        this.processes.assertRunning();
        const connection = await this.connect(0, readyRequestTimeoutMs);
        try {
          const manager = await natsManager(connection, readyRequestTimeoutMs);
          await manager.streams.add({ name: readyStreamName, subjects: [readyStreamName], num_replicas: nodesCount, storage: "file" });
          await manager.streams.delete(readyStreamName);
          return true;
        } finally {
          await connection.close();
        }
      },
      { timeoutMs: readyTimeoutMs, intervalMs: readyProbeIntervalMs },
    );
  }

  async stop(): Promise<void> {
    await this.processes.stop();
  }
}

/** The JetStream API (streams, account) on a connection of the caller's. */
export async function natsManager(connection: NatsConnection, timeoutMs = natsRequestTimeoutMs): Promise<JetStreamManager> {
  return jetstreamManager(connection, { timeout: timeoutMs });
}

/** "nats-server: v2.9.10" → "v2.9.10"; undefined when not installed. */
export function natsServerVersion(): string | undefined {
  const run = spawnSync(natsCommand, ["--version"], { encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return /v\d+\.\d+\.\d+\S*/.exec(run.stdout)?.[0] ?? run.stdout.trim();
}

/** Whether the installed server accepts `sync_interval: always` (`nats-server -t` checks a config and exits). */
async function acceptsSyncAlways(dir: string): Promise<boolean> {
  const probe = join(dir, "sync-probe.conf");
  await writeFile(probe, `listen: ${host}:-1\njetstream {\n  store_dir: ${JSON.stringify(join(dir, "sync-probe"))}\n  sync_interval: always\n}\n`);
  return spawnSync(natsCommand, ["-t", "-c", probe], { stdio: "ignore" }).status === 0;
}
