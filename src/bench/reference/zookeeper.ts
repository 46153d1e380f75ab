// A 3-server ZooKeeper ensemble on 127.0.0.1 (Debian's zookeeper 3.8), started for a comparison bench:
// three QuorumPeerMain JVMs run straight from the package's jars, each with its own zoo.cfg and myid,
// with ZooKeeper's defaults otherwise — forceSync=yes, so every transaction is fsynced before it is
// acknowledged, as in YAKt.
import { access, mkdir, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { join } from "node:path";
import { createClient } from "node-zookeeper-client";
import type { Client } from "node-zookeeper-client";
import { freePorts } from "../../e2e/harness.js";
import { waitFor } from "../../e2e/waitFor.js";
import { assert } from "../../shared/assert.js";
import { ProcessGroup } from "./processes.js";

const host = "127.0.0.1";
const serversCount = 3;
/**
 * Debian's layout: zookeeper.jar names every jar it needs in its manifest's Class-Path; slf4j-simple is
 * added so that the server's log (slf4j, with no binding otherwise) reaches its log file.
 */
export const zookeeperJars = ["/usr/share/java/zookeeper.jar", "/usr/share/java/slf4j-simple.jar"];
const mainClass = "org.apache.zookeeper.server.quorum.QuorumPeerMain";
/** A modest fixed heap: three JVMs share a 2-core machine with the other system under test. */
const heapSizeMbMax = 256;
const readyTimeoutMs = 60_000;
const fourLetterTimeoutMs = 2_000;
const fourLetterAnswerSizeMax = 64 * 1024;
const sessionConnectTimeoutMs = 10_000;
/** Long enough that a busy machine does not expire the bench's sessions; the client pings at a third of it. */
const sessionTimeoutMs = 30_000;

export interface ZooKeeperServer {
  /** ZooKeeper's server id (myid), 1-based. */
  readonly id: number;
  readonly clientPort: number;
  readonly quorumPort: number;
  readonly electionPort: number;
  readonly dir: string;
}

/**
 * zoo.cfg of one server: ZooKeeper's defaults (tickTime 2000, forceSync) and the ensemble, on loopback.
 * `maxClientCnxns=0` lifts the default limit of 60 connections per client address, since the bench
 * opens one session per outstanding request (up to 128) from 127.0.0.1; the admin server is off so
 * that it does not take port 8080.
 */
export function zooCfg(servers: readonly ZooKeeperServer[], id: number): string {
  const server = servers.find((s) => s.id === id);
  assert(server !== undefined, `no server ${id} among ${servers.length}`);
  return [
    "tickTime=2000",
    "initLimit=10",
    "syncLimit=5",
    `dataDir=${join(server.dir, "data")}`,
    `clientPort=${server.clientPort}`,
    `clientPortAddress=${host}`,
    "maxClientCnxns=0",
    "admin.enableServer=false",
    "4lw.commands.whitelist=srvr",
    ...servers.map((s) => `server.${s.id}=${host}:${s.quorumPort}:${s.electionPort}`),
    "",
  ].join("\n");
}

export function javaArgs(configFile: string, logDir: string): string[] {
  return [`-Xmx${heapSizeMbMax}m`, `-Dzookeeper.log.dir=${logDir}`, "-cp", zookeeperJars.join(":"), mainClass, configFile];
}

/** The `Mode:` line of a `srvr` answer: leader, follower, standalone…; undefined when absent (not serving). */
export function parseServerMode(srvrAnswer: string): string | undefined {
  return /^Mode: (\S+)$/m.exec(srvrAnswer)?.[1];
}

export class ZooKeeperCluster {
  private constructor(
    private readonly servers: readonly ZooKeeperServer[],
    readonly processes: ProcessGroup,
  ) {}

  /** Starts the servers with data under `dir` and waits until one leads and the others follow. */
  static async start(dir: string): Promise<ZooKeeperCluster> {
    for (const jar of zookeeperJars) {
      await access(jar).catch(() => {
        throw new Error(`Cannot start ZooKeeper as ${jar} is missing: run scripts/install-references.sh zookeeper`);
      });
    }
    const ports = await freePorts(3 * serversCount);
    const servers = Array.from({ length: serversCount }, (_, i): ZooKeeperServer => {
      const [clientPort, quorumPort, electionPort] = ports.slice(3 * i, 3 * i + 3);
      assert(clientPort !== undefined && quorumPort !== undefined && electionPort !== undefined, "three ports per server");
      return { id: i + 1, clientPort, quorumPort, electionPort, dir: join(dir, `zookeeper-${i + 1}`) };
    });
    const processes = new ProcessGroup(dir);
    const cluster = new ZooKeeperCluster(servers, processes);
    await processes.startOrStop(async () => {
      for (const server of servers) {
        await mkdir(join(server.dir, "data"), { recursive: true });
        await writeFile(join(server.dir, "data", "myid"), `${server.id}\n`);
        const configFile = join(server.dir, "zoo.cfg");
        await writeFile(configFile, zooCfg(servers, server.id));
        await processes.spawn(`zookeeper-${server.id}`, "java", javaArgs(configFile, server.dir));
      }
      await cluster.waitForLeader();
    });
    return cluster;
  }

  get serversCount(): number {
    return this.servers.length;
  }

  /** `127.0.0.1:<port>` of server `index` (0-based), a client's connection string. */
  clientAddress(index: number): string {
    const server = this.servers[index];
    assert(server !== undefined, `no server ${index}`);
    return `${host}:${server.clientPort}`;
  }

  /** The index of the leader, once every server serves as leader or follower. */
  async waitForLeader(): Promise<number> {
    let seen: (string | undefined)[] = [];
    return waitFor(
      () => `the ZooKeeper servers to elect a leader; modes last seen: ${JSON.stringify(seen)}`,
      async () => {
        this.processes.assertRunning();
        seen = await Promise.all(this.servers.map((s) => fourLetterWord(s.clientPort, "srvr").then(parseServerMode, () => undefined)));
        const leaders = seen.flatMap((mode, index) => (mode === "leader" ? [index] : []));
        return leaders.length === 1 && seen.every((mode) => mode === "leader" || mode === "follower") ? leaders[0] : undefined;
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 200 },
    );
  }

  async stop(): Promise<void> {
    await this.processes.stop();
  }
}

/** Sends a four-letter command and returns the whole answer (the server closes the connection after it). */
function fourLetterWord(port: number, word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port });
    const chunks: Buffer[] = [];
    let size = 0;
    socket.setTimeout(fourLetterTimeoutMs, () => socket.destroy(new Error(`${word} on port ${port} took over ${fourLetterTimeoutMs} ms`)));
    socket.on("connect", () => socket.end(word));
    socket.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > fourLetterAnswerSizeMax) socket.destroy(new Error(`${word} answered over ${fourLetterAnswerSizeMax} bytes`));
      else chunks.push(chunk);
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(Buffer.concat(chunks).toString("utf8")));
  });
}

/** A connected ZooKeeper session to one server; rejects if it cannot connect in time. */
export async function openSession(address: string): Promise<Client> {
  // retries 0: a failed request is reported, not silently re-sent.
  const client = createClient(address, { sessionTimeout: sessionTimeoutMs, spinDelay: 100, retries: 0 });
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`Cannot open a ZooKeeper session to ${address} within ${sessionConnectTimeoutMs} ms`)), sessionConnectTimeoutMs);
    client.once("connected", () => {
      clearTimeout(timer);
      resolve();
    });
  });
  client.connect();
  try {
    await connected;
  } catch (error) {
    client.close();
    throw error;
  }
  return client;
}

/** Creates a persistent znode; resolves with its path. */
export function createZnode(client: Client, path: string, data: Buffer): Promise<string> {
  return new Promise((resolve, reject) => client.create(path, data, (error, created) => (error ? reject(toError(error)) : resolve(created))));
}

export function getZnodeData(client: Client, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => client.getData(path, (error, data) => (error ? reject(toError(error)) : resolve(data))));
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
