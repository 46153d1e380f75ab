// The systems a comparison bench measures, behind one interface: YAKt's metadata quorum, etcd and
// ZooKeeper, each a 3-node cluster on 127.0.0.1 with fsync on, and the loads the benches send them.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Etcd3 } from "etcd3";
import type { Client } from "node-zookeeper-client";
import { Cluster } from "../e2e/harness.js";
import { assert } from "../shared/assert.js";
import type { Operation } from "./closedLoop.js";
import { KeepAliveClient } from "./httpClient.js";
import { base64, EtcdCluster } from "./reference/etcd.js";
import { withTimeout } from "./reference/processes.js";
import { createZnode, getZnodeData, openSession, ZooKeeperCluster } from "./reference/zookeeper.js";

/** Bytes of the record each write carries, and each read returns. */
export const payloadSizeBytes = 200;
/** A request still unanswered after this fails (and counts as an error); the loop goes on. */
const requestTimeoutMs = 10_000;
const leaderTimeoutMs = 30_000;
/** Records written before the read points, read round-robin by the workers. */
export const readKeysCount = 100;
/**
 * Length of the topic names YAKt's reads ask for: GET /v1/topics/{name} answers 414 for a path
 * parameter over Fastify's default maxParamLength of 100 characters, so they cannot be 200 bytes.
 */
export const readNameLength = 96;

export type Via = "leader" | "follower";
export type Consistency = "linearizable" | "stale";

/** Load on one node of a system: an operation for a closed loop, and its connections to close after. */
export interface Load {
  readonly operation: Operation;
  /** What one operation is, exactly, for the report. */
  readonly description: string;
  close(): Promise<void>;
}

export interface SystemUnderTest {
  /** For the tables: "YAKt", "etcd", "ZooKeeper". */
  readonly name: string;
  /** Pids of the servers, for their CPU time. */
  pids(): number[];
  /** Unique records of `payloadSizeBytes`, written through `via`; `point` keeps the names of every point apart. */
  writeLoad(via: Via, concurrency: number, point: number): Promise<Load>;
  /** Writes the `readKeysCount` records the read loads read. */
  prepareReads(): Promise<void>;
  /** Reads of those records through `via`; undefined when this system offers no such read. */
  readLoad(via: Via, consistency: Consistency, concurrency: number): Promise<Load | undefined>;
  stop(): Promise<void>;
}

/** A 200-byte string, unique for (point, worker, sequence): the key or name prefix, padded. */
export function uniqueRecordName(prefix: string, point: number, worker: number, sequence: number): string {
  const name = `${prefix}${point}-${worker}-${sequence}-`;
  assert(name.length <= payloadSizeBytes, `record name ${name} is over ${payloadSizeBytes} bytes`);
  return name.padEnd(payloadSizeBytes, "x");
}

/** The name of YAKt's `key`-th read record, `readNameLength` characters. */
export function readRecordName(key: number): string {
  return `r${key}-`.padEnd(readNameLength, "x");
}

const payload = "v".repeat(payloadSizeBytes);

export class YaktSystem implements SystemUnderTest {
  readonly name = "YAKt";
  private brokersRegisteredCount = 0;

  private constructor(private readonly cluster: Cluster) {}

  /** `cpuProfileDir`: the controllers run with --cpu-prof and write their profiles there when they exit. */
  static async start(cpuProfileDir: string | undefined): Promise<YaktSystem> {
    const nodeArgs = cpuProfileDir === undefined ? [] : ["--cpu-prof", `--cpu-prof-dir=${cpuProfileDir}`];
    const cluster = await Cluster.start({ nodesCount: 3, name: "yakt-bench-compare", nodeArgs });
    try {
      await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return new YaktSystem(cluster);
  }

  pids(): number[] {
    return this.cluster.runningIds().flatMap((id) => this.cluster.pid(id) ?? []);
  }

  /**
   * Each worker changes its own broker's registration (`PATCH /v1/brokers/{id}`) with a new 200-byte
   * rack id: a BrokerRegistrationChangeRecord of about 330 bytes of JSON. Topic creations would carry
   * the payload as well (a 200-byte name), but a cluster holds at most 10,000 topics, fewer than one
   * point of the bench writes.
   */
  async writeLoad(via: Via, concurrency: number, point: number): Promise<Load> {
    await this.registerBrokers(concurrency);
    const client = new KeepAliveClient(this.cluster.apiUrl(await this.nodeId(via)), concurrency, requestTimeoutMs);
    return {
      operation: async (worker, sequence) => {
        await client.expect(200, "PATCH", `/v1/brokers/${worker + 1}`, JSON.stringify({ rackId: uniqueRecordName("w", point, worker, sequence) }));
      },
      description: `PATCH /v1/brokers/{id} {"rackId": <unique ${payloadSizeBytes}-byte string>} (each worker its own broker; epoch + 1), sent to the ${via}`,
      close: async () => client.close(),
    };
  }

  /** Brokers 1 to `count` are registered (once: they stay registered, FENCED after their session). */
  private async registerBrokers(count: number): Promise<void> {
    if (count <= this.brokersRegisteredCount) return;
    const client = new KeepAliveClient(this.cluster.apiUrl(await this.nodeId("leader")), 1, requestTimeoutMs);
    try {
      for (let id = this.brokersRegisteredCount + 1; id <= count; id++) {
        await client.expect(201, "POST", "/v1/brokers", JSON.stringify({ brokerId: id, brokerHost: "127.0.0.1", brokerPort: 9_000 + id }));
      }
      this.brokersRegisteredCount = count;
    } finally {
      client.close();
    }
  }

  async prepareReads(): Promise<void> {
    const client = new KeepAliveClient(this.cluster.apiUrl(await this.nodeId("leader")), 1, requestTimeoutMs);
    try {
      for (let key = 0; key < readKeysCount; key++) await client.expect(201, "POST", "/v1/topics", JSON.stringify({ name: readRecordName(key) }));
    } finally {
      client.close();
    }
  }

  async readLoad(via: Via, consistency: Consistency, concurrency: number): Promise<Load> {
    const client = new KeepAliveClient(this.cluster.apiUrl(await this.nodeId(via)), concurrency, requestTimeoutMs);
    const query = consistency === "stale" ? "?consistency=stale" : "";
    return {
      operation: async (worker, sequence) => {
        const key = (worker + sequence * concurrency) % readKeysCount;
        await client.expect(200, "GET", `/v1/topics/${readRecordName(key)}${query}`);
      },
      description:
        consistency === "linearizable"
          ? `GET /v1/topics/{name} on the ${via}: linearizable (ReadIndex, Raft §6.4: the leader confirms the commit index, and the ${via} waits until it has applied it)`
          : `GET /v1/topics/{name}?consistency=stale on the ${via}: the node's applied state, may lag the leader`,
      close: async () => client.close(),
    };
  }

  async stop(): Promise<void> {
    await this.cluster.close();
  }

  /** SIGTERM to every controller (so that --cpu-prof writes its profile), then close. */
  async stopGracefully(): Promise<void> {
    await Promise.all(this.cluster.runningIds().map((id) => this.cluster.terminate(id)));
    await this.cluster.close();
  }

  async leaderId(): Promise<number> {
    return (await this.cluster.waitForLeader({ timeoutMs: leaderTimeoutMs })).id;
  }

  /** "node 2 (pid 1234)": which process a leader profile belongs to. */
  async describeLeader(): Promise<string> {
    const id = await this.leaderId();
    return `node ${id} (pid ${String(this.cluster.pid(id))})`;
  }

  async logTails(): Promise<string> {
    return this.cluster.logTails();
  }

  private async nodeId(via: Via): Promise<number> {
    const leaderId = await this.leaderId();
    if (via === "leader") return leaderId;
    const followerId = this.cluster.runningIds().find((id) => id !== leaderId);
    assert(followerId !== undefined, "a 3-node cluster has a follower");
    return followerId;
  }
}

/** How the bench talks to etcd: its JSON gateway over HTTP/1.1 (as to YAKt), or gRPC with the `etcd3` package. */
export type EtcdClientKind = "json" | "grpc";

export class EtcdSystem implements SystemUnderTest {
  readonly name: string;

  private constructor(
    private readonly cluster: EtcdCluster,
    private readonly dir: string,
    private readonly clientKind: EtcdClientKind,
  ) {
    this.name = clientKind === "json" ? "etcd" : "etcd gRPC";
  }

  static async start(clientKind: EtcdClientKind): Promise<EtcdSystem> {
    const dir = await mkdtemp(join(tmpdir(), "yakt-bench-etcd-"));
    return new EtcdSystem(await EtcdCluster.start(dir), dir, clientKind);
  }

  pids(): number[] {
    return this.cluster.processes.pids();
  }

  async writeLoad(via: Via, concurrency: number, point: number): Promise<Load> {
    const url = this.cluster.clientUrl(await this.memberIndex(via));
    const key = (worker: number, sequence: number): string => `bench/w${point}-${worker}-${sequence}`;
    if (this.clientKind === "grpc") {
      const client = grpcClient(url);
      return {
        operation: async (worker, sequence) => {
          await bounded(client.put(key(worker, sequence)).value(payload).exec());
        },
        description: `gRPC KV.Put (etcd3) of a unique key with a ${payloadSizeBytes}-byte value, sent to the ${via}`,
        close: async () => client.close(),
      };
    }
    const client = new KeepAliveClient(url, concurrency, requestTimeoutMs);
    const value = base64(payload);
    return {
      operation: async (worker, sequence) => {
        await client.expect(200, "POST", "/v3/kv/put", JSON.stringify({ key: base64(key(worker, sequence)), value }));
      },
      description: `POST /v3/kv/put (JSON gateway) of a unique key with a ${payloadSizeBytes}-byte value, sent to the ${via}`,
      close: async () => client.close(),
    };
  }

  async prepareReads(): Promise<void> {
    const client = new KeepAliveClient(this.cluster.clientUrl(await this.memberIndex("leader")), 1, requestTimeoutMs);
    try {
      for (let key = 0; key < readKeysCount; key++) await client.expect(200, "POST", "/v3/kv/put", JSON.stringify({ key: base64(`bench/r${key}`), value: base64(payload) }));
    } finally {
      client.close();
    }
  }

  async readLoad(via: Via, consistency: Consistency, concurrency: number): Promise<Load> {
    const url = this.cluster.clientUrl(await this.memberIndex(via));
    const serializable = consistency === "stale";
    const guarantee = serializable
      ? `serializable: the member's local state, may lag the leader`
      : `linearizable (ReadIndex through the leader, then the member waits until it has applied it)`;
    const keyOf = (worker: number, sequence: number): string => `bench/r${(worker + sequence * concurrency) % readKeysCount}`;
    if (this.clientKind === "grpc") {
      const client = grpcClient(url);
      return {
        operation: async (worker, sequence) => {
          const value = await bounded(client.get(keyOf(worker, sequence)).serializable(serializable).string());
          if (value?.length !== payloadSizeBytes) throw new Error(`range of ${keyOf(worker, sequence)} returned ${String(value?.length)} bytes`);
        },
        description: `gRPC KV.Range (etcd3, serializable ${String(serializable)}) on the ${via}: ${guarantee}`,
        close: async () => client.close(),
      };
    }
    const client = new KeepAliveClient(url, concurrency, requestTimeoutMs);
    return {
      operation: async (worker, sequence) => {
        const key = keyOf(worker, sequence);
        const body = await client.expect(200, "POST", "/v3/kv/range", JSON.stringify({ key: base64(key), serializable }));
        if (!body.includes('"kvs"')) throw new Error(`range of ${key} found nothing: ${body.slice(0, 300)}`);
      },
      description: `POST /v3/kv/range (JSON gateway, serializable ${String(serializable)}) on the ${via}: ${guarantee}`,
      close: async () => client.close(),
    };
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    if (process.env["YAKT_E2E_KEEP"] === "1") console.error(`keeping ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
  }

  private async memberIndex(via: Via): Promise<number> {
    const leader = await this.cluster.waitForLeader();
    return via === "leader" ? leader : (leader + 1) % this.cluster.membersCount;
  }
}

/** One gRPC channel (HTTP/2, requests multiplexed) to one member, etcd3's default retry policy. */
function grpcClient(url: string): Etcd3 {
  return new Etcd3({ hosts: url, dialTimeout: requestTimeoutMs });
}

export class ZooKeeperSystem implements SystemUnderTest {
  readonly name = "ZooKeeper";

  private constructor(
    private readonly cluster: ZooKeeperCluster,
    private readonly dir: string,
  ) {}

  static async start(): Promise<ZooKeeperSystem> {
    const dir = await mkdtemp(join(tmpdir(), "yakt-bench-zookeeper-"));
    const system = new ZooKeeperSystem(await ZooKeeperCluster.start(dir), dir);
    const [session] = await system.openSessions("leader", 1);
    assert(session !== undefined, "one session");
    try {
      await createZnode(session, "/bench", Buffer.alloc(0));
    } finally {
      session.close();
    }
    return system;
  }

  pids(): number[] {
    return this.cluster.processes.pids();
  }

  async writeLoad(via: Via, concurrency: number, point: number): Promise<Load> {
    const sessions = await this.openSessions(via, concurrency);
    const data = Buffer.from(payload);
    return {
      operation: async (worker, sequence) => {
        const session = sessions[worker];
        assert(session !== undefined, `a session per worker, none for ${worker}`);
        await bounded(createZnode(session, `/bench/w${point}-${worker}-${sequence}`, data));
      },
      description: `create of a unique persistent znode with ${payloadSizeBytes} bytes of data, on a session with the ${via}`,
      close: async () => closeSessions(sessions),
    };
  }

  async prepareReads(): Promise<void> {
    const sessions = await this.openSessions("leader", 1);
    try {
      for (const session of sessions) for (let key = 0; key < readKeysCount; key++) await bounded(createZnode(session, `/bench/r${key}`, Buffer.from(payload)));
    } finally {
      closeSessions(sessions);
    }
  }

  /**
   * Only stale reads: a plain getData is sequentially consistent (the server's own state, which may lag
   * the leader; a session never sees older state than it saw before). A linearizable-ish read needs
   * `sync` first, and node-zookeeper-client 1.1.3 does not implement `sync`.
   */
  async readLoad(via: Via, consistency: Consistency, concurrency: number): Promise<Load | undefined> {
    if (consistency === "linearizable") return undefined;
    const sessions = await this.openSessions(via, concurrency);
    return {
      operation: async (worker, sequence) => {
        const session = sessions[worker];
        assert(session !== undefined, `a session per worker, none for ${worker}`);
        const key = (worker + sequence * concurrency) % readKeysCount;
        const data = await bounded(getZnodeData(session, `/bench/r${key}`));
        if (data.length !== payloadSizeBytes) throw new Error(`getData of /bench/r${key} returned ${data.length} bytes`);
      },
      description: `getData on a session with the ${via}: sequentially consistent (the server's own state, may lag the leader; no sync)`,
      close: async () => closeSessions(sessions),
    };
  }

  async stop(): Promise<void> {
    await this.cluster.stop();
    if (process.env["YAKT_E2E_KEEP"] === "1") console.error(`keeping ${this.dir}`);
    else await rm(this.dir, { recursive: true, force: true });
  }

  /** One session per outstanding request, like one socket per request for the HTTP systems. */
  private async openSessions(via: Via, count: number): Promise<Client[]> {
    const leader = await this.cluster.waitForLeader();
    const index = via === "leader" ? leader : (leader + 1) % this.cluster.serversCount;
    const sessions: Client[] = [];
    try {
      for (let i = 0; i < count; i++) sessions.push(await openSession(this.cluster.clientAddress(index)));
    } catch (error) {
      closeSessions(sessions);
      throw error;
    }
    return sessions;
  }
}

function closeSessions(sessions: readonly Client[]): void {
  for (const session of sessions) session.close();
}

/** node-zookeeper-client and etcd3 set no deadline on a request by default. */
async function bounded<T>(request: Promise<T>): Promise<T> {
  const result = await withTimeout(request, requestTimeoutMs);
  if (result === undefined) throw new Error(`a request took over ${requestTimeoutMs} ms`);
  return result;
}
