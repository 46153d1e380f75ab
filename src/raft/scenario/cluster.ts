import { assert } from "../../shared/assert.js";
import { createPrng } from "../../shared/prng.js";
import type { RaftConfig } from "../config.js";
import { RaftNode } from "../node.js";
import type { Entry, HardState, InitialState, Membership, Message, NodeId, Ready, Snapshot } from "../types.js";
import { emptyHardState } from "../types.js";
import { describeMessage, describeReady, describeStatusChange } from "./format.js";

/** A node's config without its PRNG, which is rebuilt from the id on every (re)start. */
export type NodeSettings = Omit<RaftConfig, "prng" | "id">;

/** What one node has made durable: exactly what a restart may recover. */
interface MemoryStorage {
  hardState: HardState;
  snapshot: Snapshot | undefined;
  /** Entries after the snapshot, contiguous. */
  entries: Entry[];
}

/** The toy state machine: the texts of applied normal entries, in order. */
interface AppState {
  appliedIndex: number;
  values: string[];
}

interface SimNode {
  readonly id: NodeId;
  readonly settings: NodeSettings;
  /** Undefined while crashed. */
  raft: RaftNode | undefined;
  readonly storage: MemoryStorage;
  app: AppState;
}

/** Bound on the rounds of `stabilize`: a healthy scenario settles in far fewer. */
export const stabilizeRoundsMax = 200;

const utf8Decoder = new TextDecoder();
const utf8Encoder = new TextEncoder();

/** The snapshot data format of the toy state machine: applied values joined by commas. */
function encodeAppState(values: readonly string[]): Uint8Array {
  return utf8Encoder.encode(values.join(","));
}

function decodeAppState(data: Uint8Array): string[] {
  const text = utf8Decoder.decode(data);
  return text === "" ? [] : text.split(",");
}

/**
 * An in-memory cluster for scenario scripts: real RaftNodes, a storage per node that persists every
 * Ready, one FIFO queue of undelivered messages per recipient, and partitions. Nothing here happens on
 * its own; every step is a command of the script, and every method returns the lines it prints.
 */
export class Cluster {
  private readonly nodes = new Map<NodeId, SimNode>();
  private readonly queues = new Map<NodeId, Message[]>();
  /** Partition group of each node; messages between different groups are dropped. Empty when healed. */
  private groups = new Map<NodeId, number>();

  ids(): NodeId[] {
    return [...this.nodes.keys()].sort((a, b) => a - b);
  }

  nextId(): NodeId {
    return Math.max(0, ...this.nodes.keys()) + 1;
  }

  addNode(id: NodeId, settings: NodeSettings): void {
    assert(!this.nodes.has(id), `node ${id} already exists`);
    const node: SimNode = {
      id,
      settings,
      raft: undefined,
      storage: { hardState: emptyHardState, snapshot: undefined, entries: [] },
      app: { appliedIndex: 0, values: [] },
    };
    this.nodes.set(id, node);
    this.queues.set(id, []);
    this.start(node);
  }

  /** The running node `id`; a script error when it does not exist or has crashed. */
  raft(id: NodeId): RaftNode {
    const raft = this.node(id).raft;
    if (raft === undefined) throw new Error(`node ${id} is crashed`);
    return raft;
  }

  settings(id: NodeId): NodeSettings {
    return this.node(id).settings;
  }

  isCrashed(id: NodeId): boolean {
    return this.node(id).raft === undefined;
  }

  app(id: NodeId): AppState {
    return this.node(id).app;
  }

  storedEntries(id: NodeId): readonly Entry[] {
    return this.node(id).storage.entries;
  }

  private node(id: NodeId): SimNode {
    const node = this.nodes.get(id);
    if (node === undefined) throw new Error(`no node ${id}`);
    return node;
  }

  private start(node: SimNode): void {
    const initial: InitialState = {
      hardState: node.storage.hardState,
      snapshot: node.storage.snapshot,
      entries: [...node.storage.entries],
    };
    node.raft = new RaftNode({ ...node.settings, id: node.id, prng: createPrng(node.id) }, initial);
    // The application restarts from its snapshot; the log tail is applied again from committedEntries.
    const snapshot = node.storage.snapshot;
    node.app = { appliedIndex: snapshot?.meta.index ?? 0, values: snapshot === undefined ? [] : decodeAppState(snapshot.data) };
  }

  /** Runs `input` against node `id` and returns the state changes it caused, as a line (or none). */
  observe(id: NodeId, input: (raft: RaftNode) => void): string[] {
    const raft = this.raft(id);
    const before = raft.status();
    input(raft);
    const change = describeStatusChange(before, raft.status());
    return change === undefined ? [] : [change];
  }

  // ------------------------------------------------------------------ Ready

  /** Executes one Ready of node `id` the way the shell must: persist, send, apply, advance. */
  processReady(id: NodeId): string[] {
    const node = this.node(id);
    const raft = this.raft(id);
    if (!raft.hasReady()) return [];
    const ready = raft.ready();
    this.persist(node, ready);
    const lines = [`> ${id} handling Ready`, ...describeReady(ready).map((l) => `  ${l}`)];
    lines.push(...this.send(ready.messages).map((l) => `  ${l}`));
    this.apply(node, ready);
    raft.advance();
    return lines;
  }

  private persist(node: SimNode, ready: Ready): void {
    const storage = node.storage;
    if (ready.snapshot !== undefined) {
      storage.snapshot = ready.snapshot;
      storage.entries = [];
    }
    const first = ready.entries[0];
    if (first !== undefined) {
      const base = storage.snapshot?.meta.index ?? 0;
      assert(first.index <= base + storage.entries.length + 1, `entry ${first.index} would leave a gap in storage`);
      storage.entries = [...storage.entries.slice(0, first.index - base - 1), ...ready.entries];
    }
    if (ready.hardState !== undefined) storage.hardState = ready.hardState;
  }

  private apply(node: SimNode, ready: Ready): void {
    if (ready.snapshot !== undefined) {
      node.app = { appliedIndex: ready.snapshot.meta.index, values: decodeAppState(ready.snapshot.data) };
    }
    for (const entry of ready.committedEntries) {
      assert(entry.index === node.app.appliedIndex + 1, `node ${node.id} applied ${entry.index} after ${node.app.appliedIndex}`);
      if (entry.type === "normal") node.app.values.push(utf8Decoder.decode(entry.data));
      node.app.appliedIndex = entry.index;
    }
  }

  /** Queues messages for their recipients; those crossing a partition or to a crashed node are lost. */
  private send(messages: readonly Message[]): string[] {
    const lines: string[] = [];
    for (const m of messages) {
      const lost = this.lossReason(m);
      if (lost !== undefined) lines.push(`  dropped (${lost}): ${describeMessage(m)}`);
      else this.queues.get(m.to)?.push(m);
    }
    return lines;
  }

  private lossReason(m: Message): string | undefined {
    if (!this.nodes.has(m.to)) return "no such node";
    if (this.isCrashed(m.to)) return "crashed";
    if (this.partitioned(m.from, m.to)) return "partitioned";
    return undefined;
  }

  private partitioned(a: NodeId, b: NodeId): boolean {
    if (this.groups.size === 0) return false;
    return (this.groups.get(a) ?? -a) !== (this.groups.get(b) ?? -b);
  }

  // ------------------------------------------------------------------ messages

  /** Steps node `id` with its queued messages (those matching `type`, when given), or drops them. */
  deliver(id: NodeId, options: { type?: string; from?: NodeId; drop?: boolean }): string[] {
    const queue = this.queues.get(id) ?? [];
    const matches = (m: Message): boolean =>
      (options.type === undefined || m.type === options.type) && (options.from === undefined || m.from === options.from);
    const chosen = queue.filter(matches);
    this.queues.set(id, queue.filter((m) => !matches(m)));
    const lines: string[] = [];
    for (const m of chosen) {
      if (options.drop === true) {
        lines.push(`dropped: ${describeMessage(m)}`);
        continue;
      }
      lines.push(describeMessage(m));
      lines.push(...this.observe(id, (raft) => raft.step(m)).map((l) => `  ${l}`));
    }
    return lines;
  }

  /** Appends a copy of every queued message to `id` (matching `type`), as a network may duplicate them. */
  duplicate(id: NodeId, type: string | undefined): string[] {
    const queue = this.queues.get(id) ?? [];
    const copies = queue.filter((m) => type === undefined || m.type === type);
    queue.push(...copies);
    return copies.map((m) => `duplicated: ${describeMessage(m)}`);
  }

  queued(id: NodeId): readonly Message[] {
    return this.queues.get(id) ?? [];
  }

  /**
   * Processes every Ready and delivers every message among `ids` until nothing is left to do. Messages
   * to nodes outside `ids` stay queued.
   */
  stabilize(ids: readonly NodeId[]): string[] {
    const lines: string[] = [];
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      let busy = false;
      for (const id of ids) {
        if (this.isCrashed(id)) continue;
        const ready = this.processReady(id);
        if (ready.length > 0) busy = true;
        lines.push(...ready);
      }
      for (const id of ids) {
        if (this.isCrashed(id) || this.queued(id).length === 0) continue;
        busy = true;
        lines.push(`> ${id} receiving messages`, ...this.deliver(id, {}).map((l) => `  ${l}`));
      }
      if (!busy) return lines;
    }
    throw new Error(`stabilize did not settle within ${stabilizeRoundsMax} rounds`);
  }

  // ------------------------------------------------------------------ faults

  /** Splits the cluster into groups; nodes named in no group are each cut off alone. */
  partition(groups: readonly (readonly NodeId[])[]): string[] {
    this.groups = new Map();
    groups.forEach((group, k) => group.forEach((id) => this.groups.set(id, k)));
    const lines: string[] = [];
    for (const id of this.ids()) {
      const queue = this.queued(id);
      const kept = queue.filter((m) => !this.partitioned(m.from, m.to));
      for (const m of queue) if (!kept.includes(m)) lines.push(`dropped (partitioned): ${describeMessage(m)}`);
      this.queues.set(id, kept);
    }
    return lines;
  }

  heal(): void {
    this.groups = new Map();
  }

  /** Loses the node's memory and every message on its way to it; its storage survives. */
  crash(id: NodeId): string[] {
    const node = this.node(id);
    assert(node.raft !== undefined, `node ${id} is already crashed`);
    node.raft = undefined;
    const lost = this.queued(id).map((m) => `dropped (crashed): ${describeMessage(m)}`);
    this.queues.set(id, []);
    return lost;
  }

  restart(id: NodeId): void {
    const node = this.node(id);
    assert(node.raft === undefined, `node ${id} is running: crash it first`);
    this.start(node);
  }

  // ------------------------------------------------------------------ the application

  /** The toy state machine's snapshot at `index`: the stored snapshot plus the normal entries up to it. */
  snapshotData(id: NodeId, index: number): Uint8Array {
    const node = this.node(id);
    const raft = this.raft(id);
    const base = raft.snapshot();
    const values = decodeAppState(base.data);
    for (let i = base.meta.index + 1; i <= index; i++) {
      const entry = raft.entryAt(i);
      assert(entry !== undefined, `entry ${i} of node ${node.id} must be in memory`);
      if (entry.type === "normal") values.push(utf8Decoder.decode(entry.data));
    }
    return encodeAppState(values);
  }

  /** After `compact` succeeded: the shell stores the new snapshot and drops the entries it covers. */
  storeCompaction(id: NodeId): void {
    const node = this.node(id);
    const snapshot = this.raft(id).snapshot();
    node.storage.snapshot = snapshot;
    node.storage.entries = node.storage.entries.filter((e) => e.index > snapshot.meta.index);
  }

  membershipOf(id: NodeId): Membership {
    return this.raft(id).membership();
  }
}
