import assert from "node:assert/strict";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import type { HardState, Message, NodeId, Snapshot } from "../raft/types.js";
import { RaftStorage } from "../storage/raftStorage.js";
import { MemoryNetwork } from "../transport/memoryTransport.js";
import type { MemoryTransport } from "../transport/memoryTransport.js";
import type { ElectionSettings, SnapshotSettings } from "./config.js";
import { Controller } from "./controller.js";
import type { ControllerStorage, Ticker } from "./controller.js";
import { ControllerError } from "./errors.js";
import type { KvResult } from "./kvStateMachine.js";
import { encodeKvPut, KvStateMachine } from "./kvStateMachine.js";

// Controllers over real storage in temp directories and the in-memory transport; time moves only
// when a test ticks, so elections happen exactly when the test asks for them.

const election: ElectionSettings = { tickIntervalMs: 10, electionTimeoutTicks: 10, heartbeatIntervalTicks: 2 };
const noSnapshots: SnapshotSettings = { snapshotEntriesCount: 1_000_000, snapshotBytes: 1 << 30 };

const manualTicker = (): Ticker => ({ start: () => {}, stop: () => {} });

/** Yields to the event loop (IO completions included) until `condition` holds, at most `turnsMax` times. */
/** The node's real storage, with the calls in `replaced` standing in for its own (a slow or failing disk). */
function storageWith(storage: RaftStorage, replaced: Partial<ControllerStorage>): ControllerStorage {
  return {
    appendEntries: (entries) => storage.appendEntries(entries),
    setHardState: (hardState) => storage.setHardState(hardState),
    writeSnapshot: (snapshot) => storage.writeSnapshot(snapshot),
    saveAppSnapshot: (snapshot) => storage.saveAppSnapshot(snapshot),
    compact: (index) => storage.compact(index),
    sync: () => storage.sync(),
    ...replaced,
  };
}

async function until(condition: () => boolean, what: string, turnsMax = 200_000): Promise<void> {
  for (let turn = 0; turn < turnsMax; turn++) {
    if (condition()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  assert.fail(`timed out waiting for ${what}`);
}

interface TestNode {
  readonly id: NodeId;
  readonly dir: string;
  controller: Controller<KvResult | undefined>;
  kv: KvStateMachine;
  storage: RaftStorage;
  transport: MemoryTransport;
  /** Messages to these peers are dropped (a one-way partition). */
  readonly cutOff: Set<NodeId>;
  fatal: Error | undefined;
}

const dirs: string[] = [];
after(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

class TestCluster {
  readonly network = new MemoryNetwork();
  readonly nodes = new Map<NodeId, TestNode>();
  private readonly transports = new Map<NodeId, MemoryTransport>();

  constructor(
    readonly ids: readonly NodeId[],
    readonly snapshot: SnapshotSettings = noSnapshots,
    readonly makeKv: () => KvStateMachine = () => new KvStateMachine(),
  ) {}

  static async start(ids: readonly NodeId[], snapshot: SnapshotSettings = noSnapshots, makeKv?: () => KvStateMachine): Promise<TestCluster> {
    const cluster = new TestCluster(ids, snapshot, makeKv);
    for (const id of ids) {
      const dir = await mkdtemp(join(tmpdir(), `yakt-controller-${id}-`));
      dirs.push(dir);
      await cluster.boot(id, dir);
    }
    return cluster;
  }

  node(id: NodeId): TestNode {
    const node = this.nodes.get(id);
    assert.ok(node !== undefined, `node ${id} exists`);
    return node;
  }

  /** Boots a node with a fresh directory that joins the cluster: it starts with no membership. */
  async bootJoining(id: NodeId): Promise<TestNode> {
    const dir = await mkdtemp(join(tmpdir(), `yakt-controller-${id}-`));
    dirs.push(dir);
    return this.boot(id, dir, (s) => s, []);
  }

  async boot(id: NodeId, dir: string, wrap: (storage: RaftStorage) => ControllerStorage = (s) => s, voters: readonly NodeId[] = this.ids): Promise<TestNode> {
    const { storage, initialState } = await RaftStorage.open(dir);
    const kv = this.makeKv();
    const cutOff = new Set<NodeId>();
    const transport = this.transportOf(id);
    const node: TestNode = { id, dir, kv, storage, transport, cutOff, fatal: undefined, controller: undefined as never };
    const controller = new Controller({
      id,
      voters,
      election,
      snapshot: this.snapshot,
      storage: wrap(storage),
      initialState,
      stateMachine: kv,
      send: (m: Message) => {
        if (!cutOff.has(m.to)) transport.send(m);
      },
      ticker: manualTicker(),
      onFatal: (error) => (node.fatal = error),
    });
    node.controller = controller;
    this.nodes.set(id, node);
    await transport.start();
    controller.start();
    return node;
  }

  /** Stops a node as a crash would (no hand-over, no final hard state), keeping its directory. */
  async crash(id: NodeId): Promise<void> {
    const node = this.node(id);
    await node.controller.stop();
    await node.transport.stop();
    await node.storage.close();
    this.nodes.delete(id);
  }

  /** One transport per id for the cluster's life; it hands messages to whichever controller runs now. */
  private transportOf(id: NodeId): MemoryTransport {
    let transport = this.transports.get(id);
    if (transport === undefined) {
      transport = this.network.createTransport(id, {
        onMessage: (m) => this.nodes.get(id)?.controller.receive(m),
        onPeerDisconnected: (peer) => this.nodes.get(id)?.controller.peerDisconnected(peer),
      });
      this.transports.set(id, transport);
    }
    return transport;
  }

  async electLeader(id: NodeId): Promise<TestNode> {
    const node = this.node(id);
    node.controller.campaign();
    await until(() => node.controller.status().role === "leader" && node.controller.status().commitIndex >= node.controller.status().lastIndex, `node ${id} to lead`);
    return node;
  }

  tickAll(count = 1): void {
    for (let i = 0; i < count; i++) for (const node of this.nodes.values()) node.controller.tick();
  }

  async stopAll(): Promise<void> {
    for (const id of [...this.nodes.keys()]) await this.crash(id);
  }
}

const put = (node: TestNode, key: string, value: string) => node.controller.propose(encodeKvPut(key, value));

/**
 * A key-value state machine whose snapshot is encoded a step at a time, as the metadata state machine's
 * is: the bytes are captured when the encoding starts, and `held` keeps it from finishing.
 */
class SteppedKv extends KvStateMachine {
  held = false;
  stepsCount = 0;

  snapshotInSteps(): { readonly offset: number; step(): boolean; bytes(): Uint8Array } {
    const offset = this.appliedIndex;
    const data = this.snapshot();
    let stepsLeft = 3;
    return {
      offset,
      step: () => {
        this.stepsCount++;
        return !this.held && --stepsLeft <= 0;
      },
      bytes: () => data,
    };
  }
}

function steppedKv(node: TestNode): SteppedKv {
  assert.ok(node.kv instanceof SteppedKv);
  return node.kv;
}

function kvEntries(snapshot: Snapshot): [string, { value: string }][] {
  return JSON.parse(new TextDecoder().decode(snapshot.data)) as [string, { value: string }][];
}

async function rejection(promise: Promise<unknown>): Promise<ControllerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof ControllerError, `expected a ControllerError, got ${String(error)}`);
    return error;
  }
  assert.fail("expected the promise to reject");
}

describe("Controller", () => {
  test("propose() on the leader resolves once the entry is committed and applied, with the state machine's result", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    const applied = await put(leader, "a", "x");
    assert.deepEqual(applied.result, { ok: true, key: "a", version: 1 });
    assert.equal(leader.kv.get("a")?.value, "x");
    assert.ok(applied.index <= leader.kv.appliedIndex);
    // Followers apply it once the next heartbeat carries the commit index.
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => cluster.node(2).kv.get("a")?.value === "x" && cluster.node(3).kv.get("a")?.value === "x", "followers to apply");
    await cluster.stopAll();
  });

  test("propose() on a follower fails at once with NOT_LEADER naming the leader, and with NO_LEADER when none is known", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const before = await rejection(put(cluster.node(2), "a", "x"));
    assert.equal(before.code, "NO_LEADER");
    assert.equal(before.retriable, true);
    await cluster.electLeader(1);
    await until(() => cluster.node(2).controller.status().leaderId === 1, "follower to learn the leader");
    const error = await rejection(put(cluster.node(2), "a", "x"));
    assert.equal(error.code, "NOT_LEADER");
    assert.equal(error.details.leaderId, 1);
    await cluster.stopAll();
  });

  test("a leader that loses its quorum fails its uncommitted proposals with LEADERSHIP_LOST", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    leader.cutOff.add(2).add(3);
    const pending = put(leader, "a", "x");
    const failed = rejection(pending);
    // Check-quorum: after an election timeout without answers the leader steps down.
    for (let i = 0; i < 2 * election.electionTimeoutTicks && leader.controller.status().role === "leader"; i++) {
      leader.controller.tick();
      await until(() => true, "a turn");
    }
    const error = await failed;
    assert.equal(error.code, "LEADERSHIP_LOST");
    assert.equal(error.details.outcome, "unknown");
    await cluster.stopAll();
  });

  test("readBarrier() on a follower resolves only once the follower has applied every write acknowledged before it", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    await until(() => cluster.node(2).controller.status().leaderId === 1, "follower to learn the leader");
    for (let i = 0; i < 5; i++) await put(leader, `k${i}`, `v${i}`);
    const follower = cluster.node(2);
    const readIndex = follower.controller.readBarrier();
    // The leader confirms its leadership with a heartbeat round before answering.
    cluster.tickAll(election.heartbeatIntervalTicks);
    const index = await readIndex;
    assert.ok(index >= leader.kv.get("k4")!.index, `read index ${index} covers the last write`);
    assert.ok(follower.kv.appliedIndex >= index);
    assert.equal(follower.kv.get("k4")?.value, "v4");
    await cluster.stopAll();
  });

  test("readBarrier() fails at once with NO_LEADER when no leader is known", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const error = await rejection(cluster.node(1).controller.readBarrier());
    assert.equal(error.code, "NO_LEADER");
    assert.equal(error.message, "Cannot read as no leader is known: an election is under way");
    await cluster.stopAll();
  });

  test("an unanswered read fails with READ_TIMEOUT after two election timeouts", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    await cluster.electLeader(1);
    const follower = cluster.node(2);
    await until(() => follower.controller.status().leaderId === 1, "follower to learn the leader");
    follower.cutOff.add(1);
    const failed = rejection(follower.controller.readBarrier());
    for (let i = 0; i < 2 * election.electionTimeoutTicks; i++) follower.controller.tick();
    assert.equal((await failed).code, "READ_TIMEOUT");
    await cluster.stopAll();
  });

  test("a follower's vote leaves only after its term and vote are durable", async () => {
    const cluster = await TestCluster.start([1, 2]);
    const dir = cluster.node(2).dir;
    await cluster.crash(2);
    const syncs: { resolve: () => void }[] = [];
    const hardStates: HardState[] = [];
    await cluster.boot(2, dir, (storage) =>
      storageWith(storage, {
        setHardState: (hardState: HardState) => {
          hardStates.push(hardState);
          return storage.setHardState(hardState);
        },
        // The disk is slow: this sync completes only when the test says so.
        sync: () => new Promise<void>((resolve) => syncs.push({ resolve: () => void storage.sync().then(resolve) })),
      }),
    );
    const node1 = cluster.node(1);
    node1.controller.campaign();
    await until(() => syncs.length > 0, "node 2 to persist its vote");
    assert.equal(hardStates.at(-1)?.votedFor, 1);
    for (let i = 0; i < 1000; i++) await until(() => true, "a turn");
    assert.notEqual(node1.controller.status().role, "leader", "no vote may arrive before node 2's fsync");
    for (const sync of syncs.splice(0)) sync.resolve();
    const drain = setInterval(() => syncs.splice(0).forEach((s) => s.resolve()), 1);
    await until(() => node1.controller.status().role === "leader", "node 1 to win with the durable vote");
    clearInterval(drain);
    await cluster.stopAll();
  });

  test("a committed write is answered while the leader's fsync of later writes is still running", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const dir = cluster.node(1).dir;
    await cluster.crash(1);
    let holding = false;
    const held: (() => void)[] = [];
    await cluster.boot(1, dir, (storage) =>
      storageWith(storage, {
        // Once holding, the leader's syncs complete only when the test releases them.
        sync: () => (holding ? new Promise<void>((resolve) => held.push(() => void storage.sync().then(resolve))) : storage.sync()),
      }),
    );
    const leader = await cluster.electLeader(1);
    holding = true;
    let firstAnswered = false;
    const first = put(leader, "a", "x").then((applied) => {
      firstAnswered = true;
      return applied;
    });
    await until(() => held.length === 1, "the leader's fsync of the first write");
    const firstIndex = leader.controller.status().lastIndex;
    // The second write arrives while the first one's Ready is on disk, so it goes out with the next Ready.
    let secondAnswered = false;
    const second = put(leader, "b", "y").then(() => (secondAnswered = true));
    // One follower makes a quorum (a follower still being probed gets its next append only with the next
    // Ready); its real fsync can take many event-loop turns on a busy disk.
    const acknowledged = () => leader.controller.status().progress.some((p) => p.matchIndex >= firstIndex);
    await until(acknowledged, "a follower to acknowledge the first write", 10_000_000);
    held.shift()?.();
    await until(() => firstAnswered, "the first write to be answered", 10_000_000);
    assert.equal(held.length, 1, "the second write's fsync is still running");
    assert.equal(secondAnswered, false);
    assert.equal((await first).index, firstIndex);
    holding = false;
    for (const release of held.splice(0)) release();
    await second;
    await cluster.stopAll();
  });

  test("a snapshot is taken after snapshotEntriesCount entries, the log is compacted, and a restart recovers the state", async () => {
    const cluster = await TestCluster.start([1], { snapshotEntriesCount: 20, snapshotBytes: 1 << 30 });
    const leader = await cluster.electLeader(1);
    for (let i = 0; i < 45; i++) await put(leader, `k${i % 10}`, `v${i}`);
    await until(() => leader.controller.status().snapshotIndex >= 40, "two snapshots");
    // The file is written beside the Ready loop; the older one goes once the new one is durable.
    let snapshotFiles: string[] = [];
    for (let i = 0; i < 10_000; i++) {
      snapshotFiles = (await readdir(leader.dir)).filter((f) => f.startsWith("snapshot-"));
      if (snapshotFiles.length === 1 && snapshotFiles[0]?.startsWith("snapshot-00000000000000000040-") === true) break;
    }
    assert.deepEqual(snapshotFiles, ["snapshot-00000000000000000040-00000000000000000001.snap"], "one snapshot file is kept, the latest");
    await cluster.crash(1);
    const restarted = await cluster.boot(1, leader.dir);
    // The snapshot alone restores most of the state; the log tail is applied once committed again.
    assert.ok(restarted.kv.appliedIndex >= 40, `state restored from the snapshot at ${restarted.kv.appliedIndex}`);
    await cluster.electLeader(1);
    // Key k<j> was last written by put number 40 + j (j < 5) or 30 + j.
    for (let j = 0; j < 10; j++) assert.equal(restarted.kv.get(`k${j}`)?.value, `v${j < 5 ? 40 + j : 30 + j}`);
    await cluster.stopAll();
  });

  test("a snapshot's file is saved beside the Ready loop: writes go on committing while its fsync is slow", async () => {
    const cluster = await TestCluster.start([1], { snapshotEntriesCount: 20, snapshotBytes: 1 << 30 });
    const dir = cluster.node(1).dir;
    await cluster.crash(1);
    const held: (() => void)[] = [];
    await cluster.boot(1, dir, (storage) =>
      storageWith(storage, {
        // The disk is slow for snapshot files: each is saved only when the test says so.
        saveAppSnapshot: (snapshot: Snapshot) => new Promise<void>((resolve, reject) => held.push(() => void storage.saveAppSnapshot(snapshot).then(resolve, reject))),
      }),
    );
    const leader = await cluster.electLeader(1);
    for (let i = 0; i < 20 && held.length === 0; i++) await put(leader, `k${i}`, "before");
    assert.equal(held.length, 1, "a snapshot is being saved");
    let answered = 0;
    // More than snapshotEntriesCount, so that the next snapshot becomes due meanwhile.
    for (let i = 0; i < 25; i++) void put(leader, `k${i}`, "during").then(() => answered++);
    await until(() => answered === 25, "writes to be answered while the snapshot's file is not yet saved");
    assert.equal(held.length, 1, "still one snapshot being saved, no second one started");
    held.shift()?.();
    await until(() => held.length === 1, "the snapshot that became due meanwhile to be saved next");
    held.shift()?.();
    await cluster.stopAll();
  });

  test("a snapshot encoded in steps runs beside the Ready loop: writes commit between its steps, and it holds the state at the index it started at", async () => {
    const cluster = await TestCluster.start([1], noSnapshots, () => new SteppedKv());
    const leader = await cluster.electLeader(1);
    for (let i = 0; i < 5; i++) await put(leader, `k${i}`, "before");
    const kv = steppedKv(leader);
    kv.held = true;
    const startIndex = kv.appliedIndex;
    const taken = leader.controller.snapshotNow();
    await until(() => kv.stepsCount > 0, "the encoding to start");
    // Held in the middle of the encoding, the node still commits and applies writes.
    void put(leader, "k0", "during");
    await until(() => kv.get("k0")?.value === "during", "a write to be applied while the snapshot is encoded");
    assert.ok(kv.stepsCount > 1, "the encoding went on a step a turn");
    assert.equal(leader.controller.status().snapshotIndex, 0, "no snapshot until the encoding ends");
    kv.held = false;
    const snapshot = await taken;
    assert.equal(snapshot.meta.index, startIndex);
    assert.equal(leader.controller.status().snapshotIndex, startIndex);
    assert.deepEqual(kvEntries(snapshot).map(([key, { value }]) => `${key}=${value}`), ["k0=before", "k1=before", "k2=before", "k3=before", "k4=before"]);
    await cluster.crash(1);
    const restarted = await cluster.boot(1, leader.dir);
    assert.ok(restarted.kv.appliedIndex >= startIndex, `state restored from the snapshot at ${restarted.kv.appliedIndex}`);
    await cluster.electLeader(1);
    assert.equal(restarted.kv.get("k0")?.value, "during", "the write after the snapshot's index comes back from the log");
    await cluster.stopAll();
  });

  test("a snapshot asked for while one is encoded in steps is answered by the next, which covers everything applied when it was asked", async () => {
    const cluster = await TestCluster.start([1], noSnapshots, () => new SteppedKv());
    const leader = await cluster.electLeader(1);
    await put(leader, "a", "1");
    const kv = steppedKv(leader);
    kv.held = true;
    const firstIndex = kv.appliedIndex;
    const first = leader.controller.snapshotNow();
    await until(() => kv.stepsCount > 0, "the encoding to start");
    void put(leader, "a", "2");
    await until(() => kv.get("a")?.value === "2", "a write while the first is encoded");
    const secondIndex = kv.appliedIndex;
    const second = leader.controller.snapshotNow();
    kv.held = false;
    assert.equal((await first).meta.index, firstIndex);
    const secondSnapshot = await second;
    assert.equal(secondSnapshot.meta.index, secondIndex);
    assert.deepEqual(kvEntries(secondSnapshot).map(([key, { value }]) => `${key}=${value}`), ["a=2"]);
    await cluster.stopAll();
  });

  test("stopping while a snapshot is encoded in steps fails its waiters with STOPPING and ends the encoding", async () => {
    const cluster = await TestCluster.start([1], noSnapshots, () => new SteppedKv());
    const leader = await cluster.electLeader(1);
    await put(leader, "a", "1");
    const kv = steppedKv(leader);
    kv.held = true;
    const pending = rejection(leader.controller.snapshotNow());
    await until(() => kv.stepsCount > 0, "the encoding to start");
    await cluster.crash(1);
    assert.equal((await pending).code, "STOPPING");
    await until(() => true, "a turn");
    const stepsAfterStop = kv.stepsCount;
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.equal(kv.stepsCount, stepsAfterStop, "no step after the stop");
  });

  test("a snapshot is also taken once snapshotBytes of entry data were applied, whatever the entry count", async () => {
    const cluster = await TestCluster.start([1], { snapshotEntriesCount: 1_000_000, snapshotBytes: 4096 });
    const leader = await cluster.electLeader(1);
    await put(leader, "small", "x");
    assert.equal(leader.controller.status().snapshotIndex, 0, "a few bytes take no snapshot");
    const applied = await put(leader, "large", "y".repeat(5000));
    await until(() => leader.controller.status().snapshotIndex >= applied.index, "a snapshot after the large entry");
    await cluster.stopAll();
  });

  test("a follower far behind catches up through the leader's snapshot and settles on the same state", async () => {
    const cluster = await TestCluster.start([1, 2, 3], { snapshotEntriesCount: 10, snapshotBytes: 1 << 30 });
    const leader = await cluster.electLeader(1);
    const lagging = cluster.node(3);
    const laggingDir = lagging.dir;
    await cluster.crash(3);
    for (let i = 0; i < 30; i++) await put(leader, `k${i}`, `v${i}`);
    await until(() => leader.controller.status().snapshotIndex >= 20, "the leader to compact");
    const back = await cluster.boot(3, laggingDir);
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => back.kv.appliedIndex >= 31, "the follower to catch up", 400_000);
    assert.ok(back.controller.status().snapshotIndex >= 20, "it installed a snapshot");
    assert.deepEqual(back.kv.entries(), leader.kv.entries());
    await cluster.stopAll();
  });

  test("transferLeadership() hands over to an up-to-date voter, and stop() fails waiting requests with STOPPING", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    await put(leader, "a", "x");
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => leader.controller.status().progress.every((p) => p.matchIndex === leader.controller.status().lastIndex), "followers to catch up");
    assert.equal(await leader.controller.transferLeadership(), true);
    await until(() => [2, 3].some((id) => cluster.node(id).controller.status().role === "leader"), "a new leader");
    const newLeaderId = cluster.node(2).controller.status().role === "leader" ? 2 : 3;
    const follower = cluster.node(newLeaderId === 2 ? 3 : 2);
    await until(() => follower.controller.status().leaderId === newLeaderId, "the other follower to learn the new leader");
    follower.cutOff.add(1).add(2).add(3);
    const read = rejection(follower.controller.readBarrier());
    await follower.controller.stop();
    assert.equal((await read).code, "STOPPING");
    await cluster.stopAll();
  });

  test("a failed disk stops the node: waiting writes fail with STORAGE_FAILED and onFatal is called", async () => {
    const cluster = await TestCluster.start([1]);
    const dir = cluster.node(1).dir;
    await cluster.crash(1);
    let failSync = false;
    const node = await cluster.boot(1, dir, (storage) =>
      storageWith(storage, {
        sync: () => (failSync ? Promise.reject(new Error("EIO: i/o error, fsync")) : storage.sync()),
      }),
    );
    await cluster.electLeader(1);
    failSync = true;
    const error = await rejection(put(node, "a", "x"));
    assert.equal(error.code, "STORAGE_FAILED");
    assert.match(node.fatal?.message ?? "", /EIO/);
    assert.equal((await rejection(put(node, "b", "y"))).code, "STORAGE_FAILED");
    await cluster.stopAll();
  });

  test("changeMembership() adds a node that joined with no membership as a learner; once it has caught up it is promoted to voter", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    for (let i = 0; i < 5; i++) await put(leader, `k${i}`, `v${i}`);
    const joiner = await cluster.bootJoining(4);
    for (let i = 0; i < 3 * election.electionTimeoutTicks; i++) joiner.controller.tick();
    assert.equal(joiner.controller.status().term, 0, "a joining node never campaigns");
    assert.deepEqual(joiner.controller.status().membership, { voters: [], learners: [] });

    const added = await leader.controller.changeMembership({ kind: "addLearner", nodeId: 4 });
    assert.ok(added.index > leader.kv.get("k4")!.index);
    assert.deepEqual(leader.controller.status().membership, { voters: [1, 2, 3], learners: [4] });
    const commitIndex = leader.controller.status().commitIndex;
    // No tick needed: the leader probes the learner once the change commits, and the learner, refusing
    // index 0, is sent the cluster's initial membership (the snapshot at index 0), then the entries.
    await leader.controller.awaitMatch(4, commitIndex, 10_000);
    await until(() => joiner.kv.get("k4")?.value === "v4", "the learner to apply the writes made before it joined");
    assert.deepEqual(joiner.controller.status().membership, { voters: [1, 2, 3], learners: [4] });

    await leader.controller.changeMembership({ kind: "addVoter", nodeId: 4 });
    assert.deepEqual(leader.controller.status().membership, { voters: [1, 2, 3, 4], learners: [] });
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => joiner.controller.status().membership.voters.length === 4, "the new voter to learn it is one");
    assert.equal(joiner.controller.status().term, leader.controller.status().term);

    // Restarted, it keeps the cluster's initial membership (the snapshot at index 0 it was sent is on
    // its disk): replaying the changes from an empty membership would make it the only voter.
    const dir = joiner.dir;
    await cluster.crash(4);
    const restarted = await cluster.boot(4, dir, (s) => s, []);
    const votersAfterRestart = restarted.controller.status().membership.voters;
    assert.deepEqual(votersAfterRestart.filter((id) => id !== 4), [1, 2, 3], `it knows the initial voters: ${votersAfterRestart.join(",")}`);
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => restarted.controller.status().membership.voters.length === 4 && restarted.kv.get("k4")?.value === "v4", "the restarted voter to catch up");
    assert.equal(leader.controller.status().role, "leader");
    await cluster.stopAll();
  });

  test("awaitMatch() fails with LEARNER_NOT_CAUGHT_UP once its timeout has passed in ticks, and the learner stays a learner", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    await leader.controller.changeMembership({ kind: "addLearner", nodeId: 5 });
    const timeoutMs = 5 * election.tickIntervalMs;
    const failed = rejection(leader.controller.awaitMatch(5, leader.controller.status().commitIndex, timeoutMs));
    for (let i = 0; i < 5; i++) leader.controller.tick();
    const error = await failed;
    assert.equal(error.code, "LEARNER_NOT_CAUGHT_UP");
    assert.match(error.message, /controller 5 caught up as its match index is 0, below \d+, after 50 ms/);
    assert.equal(error.retriable, true);
    assert.deepEqual(leader.controller.status().membership, { voters: [1, 2, 3], learners: [5] });
    await cluster.stopAll();
  });

  test("changeMembership() is refused: NOT_LEADER on a follower, MEMBERSHIP_CHANGE_PENDING while one is uncommitted, INVALID_MEMBERSHIP_CHANGE when it does not fit", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    await until(() => cluster.node(2).controller.status().leaderId === 1, "the follower to learn the leader");
    const onFollower = await rejection(cluster.node(2).controller.changeMembership({ kind: "addLearner", nodeId: 5 }));
    assert.equal(onFollower.code, "NOT_LEADER");
    assert.equal(onFollower.details.leaderId, 1);

    const first = leader.controller.changeMembership({ kind: "addLearner", nodeId: 5 });
    const pending = await rejection(leader.controller.changeMembership({ kind: "addLearner", nodeId: 6 }));
    assert.equal(pending.code, "MEMBERSHIP_CHANGE_PENDING");
    assert.equal(pending.retriable, true);
    await first;
    const twice = await rejection(leader.controller.changeMembership({ kind: "addVoter", nodeId: 2 }));
    assert.equal(twice.code, "INVALID_MEMBERSHIP_CHANGE");
    assert.equal(twice.message, "Cannot change the membership as node 2 is already a voter");
    assert.equal(twice.retriable, false);
    await cluster.stopAll();

    const single = await TestCluster.start([1]);
    const only = await single.electLeader(1);
    const last = await rejection(only.controller.changeMembership({ kind: "removeNode", nodeId: 1 }));
    assert.equal(last.code, "INVALID_MEMBERSHIP_CHANGE");
    assert.match(last.message, /node 1 is the last voter/);
    await single.stopAll();
  });

  test("a leader that removes itself resolves once the removal commits, steps down, and a remaining voter takes over", async () => {
    const cluster = await TestCluster.start([1, 2, 3]);
    const leader = await cluster.electLeader(1);
    await put(leader, "a", "x");
    cluster.tickAll(election.heartbeatIntervalTicks);
    await until(() => leader.controller.status().progress.every((p) => p.matchIndex === leader.controller.status().lastIndex), "followers to catch up");
    const removed = await leader.controller.changeMembership({ kind: "removeNode", nodeId: 1 });
    assert.ok(removed.index > 0);
    assert.deepEqual(leader.controller.status().membership, { voters: [2, 3], learners: [] });
    const leads = (id: NodeId): boolean => {
      const status = cluster.node(id).controller.status();
      return status.role === "leader" && status.commitIndex >= status.lastIndex;
    };
    await until(() => leads(2) || leads(3), "a remaining voter to lead");
    assert.notEqual(leader.controller.status().role, "leader");
    const next = cluster.node(leads(2) ? 2 : 3);
    assert.deepEqual((await put(next, "b", "y")).result, { ok: true, key: "b", version: 1 });
    await cluster.stopAll();
  });
});
