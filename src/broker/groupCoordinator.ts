import { BrokerError } from "./brokerError.js";
import type { ReadBatch } from "./partitionReplica.js";
import type { GroupMemberAnswerJson } from "./protocol.js";

/** The internal topic holding committed group offsets; partition `groupPartition(g)` belongs to group g. */
export const offsetsTopicName = "__consumer_offsets";

/** FNV-1a (32 bit) of the group name: which offsets partition, and so which coordinator, a group has. */
export function groupPartition(group: string, partitionsCount: number): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(group)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % partitionsCount;
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** One committed offset as a record of the offsets topic: key `[group, topic, partition]`, value the offset. */
export function offsetRecord(group: string, topic: string, partition: number, offset: number): { key: Uint8Array; value: Uint8Array } {
  return { key: textEncoder.encode(JSON.stringify([group, topic, partition])), value: textEncoder.encode(String(offset)) };
}

interface Member {
  lastHeartbeatMs: number;
}

interface Group {
  readonly topic: string;
  generation: number;
  readonly members: Map<string, Member>;
  assignment: Map<string, number[]>;
  partitionsCount: number;
}

export interface CoordinatorDeps {
  readonly nowMs: () => number;
  readonly sessionTimeoutMs: number;
  readonly newMemberId: () => string;
}

/**
 * The group coordinator's state on this broker: the offsets committed in the offsets partitions it
 * leads (folded from their logs, below the high watermark, so they survive a change of coordinator),
 * and the groups' members (in memory: after a coordinator change members join again).
 */
export class GroupCoordinator {
  /** By offsets partition: the committed offsets of its groups, and how far its log was folded. */
  private readonly tables = new Map<number, { loadedUpTo: number; readonly offsets: Map<string, number> }>();
  private readonly groups = new Map<string, Group>();
  /** By group: its commits checked against the generation and being appended to the offsets partition. */
  private readonly pendingCommits = new Map<string, Set<Promise<unknown>>>();

  constructor(private readonly deps: CoordinatorDeps) {}

  /** Tracks a commit of `group` while it is appended (acks=all): `commitsSettled` waits for it. */
  async appending<T>(group: string, append: Promise<T>): Promise<T> {
    let pending = this.pendingCommits.get(group);
    if (pending === undefined) {
      pending = new Set();
      this.pendingCommits.set(group, pending);
    }
    pending.add(append);
    try {
      return await append;
    } finally {
      pending.delete(append);
      if (pending.size === 0 && this.pendingCommits.get(group) === pending) this.pendingCommits.delete(group);
    }
  }

  /**
   * Resolves once every commit of `group` being appended now has settled (appended or failed): the
   * group's offsets are read after it, so a member given a partition after a rebalance never starts
   * behind a commit the coordinator took before the rebalance and is still appending.
   */
  async commitsSettled(group: string): Promise<void> {
    await Promise.allSettled([...(this.pendingCommits.get(group) ?? [])]);
  }

  /** Folds the offsets partition's committed batches from where it stopped (below the high watermark nothing is ever truncated). */
  fold(offsetsPartition: number, batches: readonly ReadBatch[]): void {
    const table = this.table(offsetsPartition);
    for (const batch of batches) {
      batch.records.forEach((record, i) => {
        if (batch.baseOffset + i < table.loadedUpTo || record.key === null) return;
        table.offsets.set(textDecoder.decode(record.key), Number(textDecoder.decode(record.value)));
      });
      table.loadedUpTo = Math.max(table.loadedUpTo, batch.baseOffset + batch.records.length);
    }
  }

  loadedUpTo(offsetsPartition: number): number {
    return this.table(offsetsPartition).loadedUpTo;
  }

  committedOffsets(offsetsPartition: number, group: string, topic: string): { partition: number; offset: number }[] {
    const found: { partition: number; offset: number }[] = [];
    for (const [key, offset] of this.table(offsetsPartition).offsets) {
      const [g, t, partition] = JSON.parse(key) as [string, string, number];
      if (g === group && t === topic) found.push({ partition, offset });
    }
    return found.sort((a, b) => a.partition - b.partition);
  }

  /** Forgets a partition's table (this broker no longer leads it, or the log was replaced). */
  forget(offsetsPartition: number): void {
    this.tables.delete(offsetsPartition);
  }

  join(group: string, topic: string, partitionsCount: number, memberId: string | undefined): GroupMemberAnswerJson {
    this.expire();
    let state = this.groups.get(group);
    if (state !== undefined && state.topic !== topic) {
      if (state.members.size > 0) throw new BrokerError("BAD_REQUEST", `Cannot join group ${group} for topic ${topic} as its members consume ${state.topic}`, { field: "topic" });
      state = undefined;
    }
    if (state === undefined) {
      state = { topic, generation: 0, members: new Map(), assignment: new Map(), partitionsCount };
      this.groups.set(group, state);
    }
    const id = memberId !== undefined && state.members.has(memberId) ? memberId : (memberId ?? this.deps.newMemberId());
    const isNew = !state.members.has(id);
    state.members.set(id, { lastHeartbeatMs: this.deps.nowMs() });
    if (isNew || state.partitionsCount !== partitionsCount) {
      state.partitionsCount = partitionsCount;
      this.rebalance(state);
    }
    return this.answer(group, state, id);
  }

  heartbeat(group: string, memberId: string, partitionsCountOf: (topic: string) => number): GroupMemberAnswerJson {
    this.expire();
    const state = this.memberGroup(group, memberId);
    (state.members.get(memberId) as Member).lastHeartbeatMs = this.deps.nowMs();
    const partitionsCount = partitionsCountOf(state.topic);
    if (state.partitionsCount !== partitionsCount) {
      state.partitionsCount = partitionsCount;
      this.rebalance(state);
    }
    return this.answer(group, state, memberId);
  }

  leave(group: string, memberId: string): void {
    const state = this.groups.get(group);
    if (state === undefined || !state.members.delete(memberId)) return;
    this.rebalance(state);
  }

  /** A commit from a member is accepted only at the group's current generation. */
  checkGeneration(group: string, memberId: string, generation: number): void {
    this.expire();
    const state = this.memberGroup(group, memberId);
    if (state.generation !== generation) {
      throw new BrokerError("ILLEGAL_GENERATION", `Cannot accept the request of member ${memberId} as its generation is ${generation}: the group is at ${state.generation}`, { generation: state.generation });
    }
  }

  /** Members silent for a session leave; their partitions go to the others. */
  expire(): void {
    const now = this.deps.nowMs();
    for (const state of this.groups.values()) {
      let changed = false;
      for (const [id, member] of state.members) {
        if (now - member.lastHeartbeatMs <= this.deps.sessionTimeoutMs) continue;
        state.members.delete(id);
        changed = true;
      }
      if (changed) this.rebalance(state);
    }
  }

  private memberGroup(group: string, memberId: string): Group {
    const state = this.groups.get(group);
    if (state === undefined || !state.members.has(memberId)) {
      throw new BrokerError("UNKNOWN_MEMBER", `Cannot find member ${memberId} in group ${group}: join again`);
    }
    return state;
  }

  /** Range assignment over the members sorted by id: each gets a contiguous run of partitions. */
  private rebalance(state: Group): void {
    state.generation++;
    const ids = [...state.members.keys()].sort();
    const assignment = new Map<string, number[]>(ids.map((id) => [id, []]));
    const perMember = Math.floor(state.partitionsCount / Math.max(1, ids.length));
    const extra = state.partitionsCount % Math.max(1, ids.length);
    let next = 0;
    ids.forEach((id, i) => {
      const count = perMember + (i < extra ? 1 : 0);
      for (let k = 0; k < count; k++) assignment.get(id)?.push(next++);
    });
    state.assignment = assignment;
  }

  private answer(group: string, state: Group, memberId: string): GroupMemberAnswerJson {
    return {
      group,
      topic: state.topic,
      memberId,
      generation: state.generation,
      partitions: state.assignment.get(memberId) ?? [],
      sessionTimeoutMs: this.deps.sessionTimeoutMs,
    };
  }

  private table(offsetsPartition: number): { loadedUpTo: number; readonly offsets: Map<string, number> } {
    let table = this.tables.get(offsetsPartition);
    if (table === undefined) {
      table = { loadedUpTo: 0, offsets: new Map() };
      this.tables.set(offsetsPartition, table);
    }
    return table;
  }
}
