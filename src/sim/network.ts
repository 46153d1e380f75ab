import type { Message, NodeId } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";

/** How unreliable the network is; fixed per seed, calmed for the liveness phase. */
export interface NetworkFaults {
  /** Probability that a message is lost. */
  readonly dropRate: number;
  /** Probability that a message is delivered twice. */
  readonly duplicateRate: number;
  /** Delivery delay bounds in time units; random delays reorder messages. */
  readonly delayUnitsMin: number;
  readonly delayUnitsMax: number;
}

/** One directed link blocked by a partition. */
export interface Link {
  readonly from: NodeId;
  readonly to: NodeId;
}

const nodeIdsMax = 1 << 16;

/**
 * The in-memory network between simulated nodes. It decides, from the seed, when each message arrives
 * (or whether it is lost or duplicated) and which links partitions cut. Messages are copied on the way,
 * as a real wire would, so no node ever shares an object with another.
 */
export class Network {
  private faults: NetworkFaults;
  private readonly prng: Prng;
  /** Partition id → the links it blocks; a link stays blocked while any partition blocks it. */
  private readonly partitions = new Map<number, readonly Link[]>();
  private readonly blockedCount = new Map<number, number>();
  private partitionIdNext = 1;

  constructor(prng: Prng, faults: NetworkFaults) {
    this.prng = prng;
    this.faults = faults;
  }

  setFaults(faults: NetworkFaults): void {
    this.faults = faults;
  }

  /** Delays (in time units) of the copies of a message to deliver: none when it is lost, two when duplicated. */
  route(): number[] {
    const { dropRate, duplicateRate } = this.faults;
    if (dropRate > 0 && this.prng.chance(dropRate)) return [];
    const delays = [this.delay()];
    if (duplicateRate > 0 && this.prng.chance(duplicateRate)) delays.push(this.delay());
    return delays;
  }

  /** Checked at delivery: a message in flight when a partition forms is lost too. */
  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blockedCount.has(linkKey(from, to));
  }

  /** Blocks the given directed links until `heal(id)`; returns the partition id. */
  partition(links: readonly Link[]): number {
    const id = this.partitionIdNext++;
    this.partitions.set(id, links);
    for (const link of links) {
      const key = linkKey(link.from, link.to);
      this.blockedCount.set(key, (this.blockedCount.get(key) ?? 0) + 1);
    }
    return id;
  }

  heal(id: number): void {
    const links = this.partitions.get(id);
    if (links === undefined) return;
    this.partitions.delete(id);
    for (const link of links) {
      const key = linkKey(link.from, link.to);
      const count = this.blockedCount.get(key) ?? 0;
      assert(count > 0, `link ${link.from}→${link.to} must be blocked`);
      if (count === 1) this.blockedCount.delete(key);
      else this.blockedCount.set(key, count - 1);
    }
  }

  healAll(): void {
    for (const id of [...this.partitions.keys()]) this.heal(id);
  }

  get partitionCount(): number {
    return this.partitions.size;
  }

  private delay(): number {
    return this.prng.intBetween(this.faults.delayUnitsMin, this.faults.delayUnitsMax);
  }
}

function linkKey(from: NodeId, to: NodeId): number {
  assert(from > 0 && from < nodeIdsMax && to > 0 && to < nodeIdsMax, `node ids must be in [1, ${nodeIdsMax}): ${from}→${to}`);
  return from * nodeIdsMax + to;
}

/** A deep copy of a message, as serialising it and reading it back would give. */
export function copyMessage(m: Message): Message {
  switch (m.type) {
    case "AppendEntries":
      return { ...m, entries: m.entries.map((e) => ({ index: e.index, term: e.term, type: e.type, data: e.data.slice() })) };
    case "InstallSnapshot":
      return {
        ...m,
        meta: { index: m.meta.index, term: m.meta.term, membership: { voters: [...m.meta.membership.voters], learners: [...m.meta.membership.learners] } },
        chunk: m.chunk.slice(),
      };
    default:
      return { ...m };
  }
}
