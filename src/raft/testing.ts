/**
 * Helpers for driving RaftNodes by hand in tests: build a node, take its Ready, craft messages, and run
 * a few nodes over a synchronous in-memory network. Everything is deterministic: no clock, no timers.
 */
import { assert } from "../shared/assert.js";
import { createPrng } from "../shared/prng.js";
import type { RaftConfig } from "./config.js";
import { RaftNode } from "./node.js";
import type {
  AppendEntries,
  AppendEntriesResponse,
  Entry,
  EntryType,
  Heartbeat,
  HeartbeatResponse,
  InitialState,
  Message,
  NodeId,
  PreVote,
  PreVoteResponse,
  ReadState,
  Ready,
  RequestVote,
  RequestVoteResponse,
} from "./types.js";
import { emptyHardState } from "./types.js";

export const electionTimeoutTicks = 10;
export const heartbeatIntervalTicks = 1;

export type TestNodeOptions = Partial<Omit<RaftConfig, "id" | "bootstrapMembership" | "prng">> & {
  readonly learners?: readonly NodeId[];
  /** What storage held; empty by default. */
  readonly initial?: InitialState;
  /** Seeds the node's PRNG; the node id by default. */
  readonly seed?: number;
  /** Leave out the bootstrap membership, as a node joining an existing cluster does. */
  readonly joining?: boolean;
};

export const emptyInitialState: InitialState = { hardState: emptyHardState, snapshot: undefined, entries: [] };

/** A node of the cluster `voters` (plus `options.learners`), with electionTimeoutTicks 10 and heartbeatIntervalTicks 1. */
export function newTestNode(id: NodeId, voters: readonly NodeId[], options: TestNodeOptions = {}): RaftNode {
  const { learners = [], initial = emptyInitialState, seed = id, joining = false, ...overrides } = options;
  const config: RaftConfig = {
    id,
    electionTimeoutTicks,
    heartbeatIntervalTicks,
    prng: createPrng(seed),
    ...(joining ? {} : { bootstrapMembership: { voters: [...voters], learners: [...learners] } }),
    ...overrides,
  };
  return new RaftNode(config, initial);
}

/** Takes the node's Ready and acknowledges it at once, as a shell whose disk and network never fail. */
export function takeReady(node: RaftNode): Ready {
  const ready = node.ready();
  node.advance();
  return ready;
}

/** The messages of the node's next Ready (which is taken and advanced). */
export function takeMessages(node: RaftNode): readonly Message[] {
  return takeReady(node).messages;
}

export function tickTimes(node: RaftNode, count: number): void {
  for (let i = 0; i < count; i++) node.tick();
}

/**
 * Ticks `node` until its outbox holds a message of `type`, taking a Ready after every tick; returns the
 * number of ticks and that Ready. Fails after `ticksMax` ticks.
 */
export function ticksUntil(node: RaftNode, type: Message["type"], ticksMax = 100): { ticks: number; ready: Ready } {
  for (let ticks = 1; ticks <= ticksMax; ticks++) {
    node.tick();
    const ready = takeReady(node);
    if (ready.messages.some((m) => m.type === type)) return { ticks, ready };
  }
  throw new Error(`Cannot see a ${type} from node ${node.id} as none came within ${ticksMax} ticks`);
}

/** Makes `node` leader by answering its (pre-)vote requests with grants from every other voter; returns the Ready that follows. */
export function electLeader(node: RaftNode): Ready {
  node.campaignNow();
  const pre = node.status();
  if (pre.role === "preCandidate") {
    for (const id of pre.membership.voters) {
      if (id !== node.id) node.step(preVoteResponse({ from: id, to: node.id, term: pre.term + 1, granted: true }));
    }
  }
  const candidate = node.status();
  if (candidate.role === "candidate") {
    for (const id of candidate.membership.voters) {
      if (id !== node.id) node.step(requestVoteResponse({ from: id, to: node.id, term: candidate.term, granted: true }));
    }
  }
  assert(node.status().role === "leader", `node ${node.id} must have won its election`);
  return takeReady(node);
}

/**
 * Node 1 as the leader of `voters` in term 1 (or the next term of `options.initial`), its no-op committed
 * and every follower acknowledged up to its last index (so each is in the replicate state). All Readies
 * so far have been taken.
 */
export function newLeader(voters: readonly NodeId[], options: TestNodeOptions = {}): RaftNode {
  const leader = newTestNode(1, voters, options);
  electLeader(leader);
  const { term, lastIndex, membership } = leader.status();
  for (const id of [...membership.voters, ...membership.learners]) {
    if (id !== leader.id) leader.step(appendResponse({ from: id, to: leader.id, term, matchIndex: lastIndex }));
  }
  takeReady(leader);
  return leader;
}

// ---------------------------------------------------------------- entries

export function entry(index: number, term: number, data: Uint8Array = new Uint8Array(0), type: EntryType = "normal"): Entry {
  return { index, term, type, data };
}

/** Entries 1..n with the given terms. */
export function entriesOfTerms(terms: readonly number[], firstIndex = 1): Entry[] {
  return terms.map((term, i) => entry(firstIndex + i, term));
}

export function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

/** Index and term of each entry, which is what log comparisons care about. */
export function indexTerms(entries: readonly Entry[]): [number, number][] {
  return entries.map((e) => [e.index, e.term]);
}

/** The node's log from index 1 (or the first index in memory) to its last index, as [index, term] pairs. */
export function logOf(node: RaftNode): [number, number][] {
  const { lastIndex, snapshotIndex } = node.status();
  const out: [number, number][] = [];
  for (let index = snapshotIndex + 1; index <= lastIndex; index++) {
    const e = node.entryAt(index);
    assert(e !== undefined, `entry ${index} of node ${node.id} must be in memory`);
    out.push([e.index, e.term]);
  }
  return out;
}

export function ofType<T extends Message["type"]>(messages: readonly Message[], type: T): Extract<Message, { type: T }>[] {
  return messages.filter((m): m is Extract<Message, { type: T }> => m.type === type);
}

// ---------------------------------------------------------------- messages

interface Routing {
  readonly from: NodeId;
  readonly to: NodeId;
  readonly term: number;
}

export function appendEntries(
  fields: Routing & { prevLogIndex?: number; prevLogTerm?: number; entries?: readonly Entry[]; leaderCommit?: number },
): AppendEntries {
  return { type: "AppendEntries", prevLogIndex: 0, prevLogTerm: 0, entries: [], leaderCommit: 0, ...fields };
}

export function appendResponse(fields: Routing & { matchIndex: number }): AppendEntriesResponse {
  return { type: "AppendEntriesResponse", success: true, rejectedIndex: 0, hintIndex: 0, hintTerm: 0, ...fields };
}

export function appendRejection(fields: Routing & { rejectedIndex: number; hintIndex: number; hintTerm: number }): AppendEntriesResponse {
  return { type: "AppendEntriesResponse", success: false, matchIndex: 0, ...fields };
}

export function heartbeat(fields: Routing & { leaderCommit?: number; readRound?: number }): Heartbeat {
  return { type: "Heartbeat", leaderCommit: 0, readRound: 0, ...fields };
}

export function heartbeatResponse(fields: Routing & { readRound?: number }): HeartbeatResponse {
  return { type: "HeartbeatResponse", readRound: 0, ...fields };
}

export function requestVote(fields: Routing & { lastLogIndex?: number; lastLogTerm?: number; transfer?: boolean }): RequestVote {
  return { type: "RequestVote", lastLogIndex: 0, lastLogTerm: 0, transfer: false, ...fields };
}

export function requestVoteResponse(fields: Routing & { granted: boolean }): RequestVoteResponse {
  return { type: "RequestVoteResponse", ...fields };
}

export function preVote(fields: Routing & { lastLogIndex?: number; lastLogTerm?: number }): PreVote {
  return { type: "PreVote", lastLogIndex: 0, lastLogTerm: 0, ...fields };
}

export function preVoteResponse(fields: Routing & { granted: boolean }): PreVoteResponse {
  return { type: "PreVoteResponse", ...fields };
}

// ---------------------------------------------------------------- network

/** Rounds of delivery in one `stabilize()`: far more than any test needs, so a livelock fails loudly. */
const stabilizeRoundsMax = 1000;

/**
 * A synchronous network of nodes whose shells persist at once and never fail. `stabilize()` takes every
 * node's Ready and delivers its messages, round after round, until no node has anything left to do.
 */
export class Network {
  readonly nodes = new Map<NodeId, RaftNode>();
  /** Entries each node has applied, in order. */
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every message delivered so far, in delivery order. */
  readonly delivered: Message[] = [];
  /** Return true to drop a message (in addition to cut links). */
  dropIf: ((m: Message) => boolean) | undefined = undefined;
  private readonly cutLinks = new Set<string>();

  constructor(nodes: readonly RaftNode[]) {
    for (const node of nodes) {
      this.nodes.set(node.id, node);
      this.applied.set(node.id, []);
      this.readStates.set(node.id, []);
    }
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `node ${id} is not on the network`);
    return node;
  }

  /** Drops every message between `a` and `b`, both ways. */
  cut(a: NodeId, b: NodeId): void {
    this.cutLinks.add(`${a}-${b}`);
    this.cutLinks.add(`${b}-${a}`);
  }

  /** Cuts `id` off from every other node. */
  isolate(id: NodeId): void {
    for (const other of this.nodes.keys()) if (other !== id) this.cut(id, other);
  }

  heal(): void {
    this.cutLinks.clear();
  }

  tick(id: NodeId, count = 1): void {
    tickTimes(this.node(id), count);
  }

  stabilize(): void {
    for (let round = 0; round < stabilizeRoundsMax; round++) {
      const outgoing: Message[] = [];
      for (const node of this.nodes.values()) {
        if (!node.hasReady()) continue;
        const ready = takeReady(node);
        this.applied.get(node.id)?.push(...ready.committedEntries);
        this.readStates.get(node.id)?.push(...ready.readStates);
        outgoing.push(...ready.messages);
      }
      if (outgoing.length === 0) return;
      for (const m of outgoing) {
        if (this.cutLinks.has(`${m.from}-${m.to}`) || this.dropIf?.(m) === true) continue;
        const target = this.nodes.get(m.to);
        if (target === undefined) continue;
        this.delivered.push(m);
        target.step(m);
      }
    }
    throw new Error(`Cannot stabilize the network as messages still flow after ${stabilizeRoundsMax} rounds`);
  }
}
