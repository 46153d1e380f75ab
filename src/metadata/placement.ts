import { assert } from "../shared/assert.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";

/** A live broker that may hold replicas. A rackId that is undefined or empty means "no rack". */
export interface PlacementBroker {
  readonly brokerId: number;
  readonly rackId?: string | undefined;
}

/** Where one partition lives: `leader` is always `replicas[0]`, the preferred leader. */
export interface PlacedPartition {
  readonly partitionId: number;
  readonly replicas: number[];
  readonly leader: number;
}

export interface PlacementError {
  readonly code: "NOT_ENOUGH_BROKERS" | "INVALID_ARGUMENT";
  readonly message: string;
}

/** Partitions created by one request: each becomes a PartitionRecord in one batch the quorum must replicate. */
export const partitionsCountMax = 100_000;
/** Replicas of one partition: Kafka clusters rarely go past 3–5; beyond 16 an ISR round costs more than it protects. */
export const replicationFactorMax = 16;

/**
 * Places the replicas of `partitionsCount` new partitions on `brokers` (the live, UNFENCED ones), after
 * Kafka's `AdminUtils.assignReplicasToBrokers` (KIP-36 for the rack-aware part). Brokers are sorted by id
 * first, so the same input always gives the same placement.
 *
 * The brokers are laid out in a ring. Partition p's first replica, its preferred leader, is the broker at
 * position (p + startIndex) mod n: leaders go round the ring, so each broker leads ⌊P/n⌋ or ⌈P/n⌉
 * partitions. Follower j sits `1 + (shift + j) mod (n − 1)` positions after the leader: never the leader
 * itself, and distinct for distinct j. `shift` grows by one after every n partitions, so consecutive rounds
 * pair each leader with different followers (partitions 0 and n do not share a broker pair); within one
 * round every broker holds exactly replicationFactor replicas.
 *
 * When every broker has a rack, the ring alternates racks (rack a's first broker, rack b's first, …, then
 * their second ones) and the shift moves in whole rack rounds. A follower position whose rack already holds
 * a replica of the partition is skipped while some rack holds none, and a broker that already holds one is
 * skipped while some broker holds none, so each partition spans min(replicationFactor, racks) racks. With
 * racks of unequal sizes the brokers of the smaller racks carry more replicas: spreading over racks wins.
 *
 * `startOffset` is the caller's deterministic choice (say, from the topic's UUID), so that the leaders of
 * different topics start at different brokers: it sets startIndex = startOffset mod n and, so that one
 * number moves both, the first shift = ⌊startOffset / n⌋.
 */
export function placeReplicas(
  brokers: readonly PlacementBroker[],
  partitionsCount: number,
  replicationFactor: number,
  startOffset: number,
): Result<PlacedPartition[], PlacementError> {
  const invalid = checkArguments(brokers, partitionsCount, replicationFactor, startOffset);
  if (invalid !== undefined) return err({ code: "INVALID_ARGUMENT", message: invalid });
  if (replicationFactor > brokers.length) {
    return err({
      code: "NOT_ENOUGH_BROKERS",
      message: `Cannot place replicas as replicationFactor exceeds the ${brokers.length} live brokers: current value is ${replicationFactor}`,
    });
  }
  const sorted = [...brokers].sort((a, b) => a.brokerId - b.brokerId);
  const rackAware = sorted.every((broker) => hasRack(broker));
  return ok(rackAware ? placeAcrossRacks(sorted, partitionsCount, replicationFactor, startOffset) : placeOnRing(sorted, partitionsCount, replicationFactor, startOffset));
}

function checkArguments(brokers: readonly PlacementBroker[], partitionsCount: number, replicationFactor: number, startOffset: number): string | undefined {
  if (!Number.isSafeInteger(partitionsCount) || partitionsCount < 1 || partitionsCount > partitionsCountMax) {
    return `Cannot place replicas as partitionsCount must be an integer in [1, ${partitionsCountMax}]: current value is ${partitionsCount}`;
  }
  if (!Number.isSafeInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > replicationFactorMax) {
    return `Cannot place replicas as replicationFactor must be an integer in [1, ${replicationFactorMax}]: current value is ${replicationFactor}`;
  }
  if (!Number.isSafeInteger(startOffset) || startOffset < 0) {
    return `Cannot place replicas as startOffset must be a non-negative integer: current value is ${startOffset}`;
  }
  const seen = new Set<number>();
  for (const { brokerId } of brokers) {
    if (!Number.isSafeInteger(brokerId) || brokerId < 0) {
      return `Cannot place replicas as a brokerId must be a non-negative integer: current value is ${brokerId}`;
    }
    if (seen.has(brokerId)) return `Cannot place replicas as a brokerId is listed twice: current value is ${brokerId}`;
    seen.add(brokerId);
  }
  return undefined;
}

function hasRack(broker: PlacementBroker): boolean {
  return broker.rackId !== undefined && broker.rackId !== "";
}

/** Ring positions apart of the leader and its follower `followerIndex`: in [1, n − 1], never 0. */
function followerDistance(shift: number, followerIndex: number, brokersCount: number): number {
  return 1 + ((shift + followerIndex) % (brokersCount - 1));
}

/** `shift` only ever counts modulo n − 1 (see followerDistance); reducing it keeps it a small integer. */
function shiftModulus(brokersCount: number): number {
  return Math.max(1, brokersCount - 1);
}

function placeOnRing(brokers: readonly PlacementBroker[], partitionsCount: number, replicationFactor: number, startOffset: number): PlacedPartition[] {
  const ring = brokers.map((broker) => broker.brokerId);
  const n = ring.length;
  const startIndex = startOffset % n;
  let shift = Math.floor(startOffset / n) % shiftModulus(n);
  const placements: PlacedPartition[] = [];
  for (let partitionId = 0; partitionId < partitionsCount; partitionId++) {
    if (partitionId > 0 && partitionId % n === 0) shift = (shift + 1) % shiftModulus(n);
    const first = (partitionId + startIndex) % n;
    const replicas = [ringAt(ring, first)];
    for (let j = 0; j < replicationFactor - 1; j++) replicas.push(ringAt(ring, first + followerDistance(shift, j, n)));
    placements.push(placement(partitionId, replicas));
  }
  return placements;
}

function placeAcrossRacks(brokers: readonly PlacementBroker[], partitionsCount: number, replicationFactor: number, startOffset: number): PlacedPartition[] {
  const ring = rackAlternatedRing(brokers);
  const rackOf = new Map(brokers.map((broker) => [broker.brokerId, broker.rackId ?? ""]));
  const racksCount = new Set(rackOf.values()).size;
  const n = ring.length;
  const startIndex = startOffset % n;
  let shift = Math.floor(startOffset / n) % shiftModulus(n);
  const placements: PlacedPartition[] = [];
  for (let partitionId = 0; partitionId < partitionsCount; partitionId++) {
    if (partitionId > 0 && partitionId % n === 0) shift = (shift + 1) % shiftModulus(n);
    const first = (partitionId + startIndex) % n;
    const leader = ringAt(ring, first);
    const replicas = [leader];
    const racksWithReplicas = new Set([rackOf.get(leader)]);
    // Each follower is found within n − 1 steps: n − 1 consecutive steps visit every broker but the leader,
    // and while a rack holds no replica one of its brokers is among them; once every rack holds one, any
    // broker without a replica will do, and one exists as replicationFactor ≤ n.
    let step = 0;
    const stepsMax = (replicationFactor - 1) * (n - 1);
    while (replicas.length < replicationFactor) {
      assert(step < stepsMax, `Placement found no follower for partition ${partitionId} in ${stepsMax} steps`);
      const broker = ringAt(ring, first + followerDistance(shift * racksCount, step, n));
      const rack = rackOf.get(broker);
      step++;
      const rackFree = !racksWithReplicas.has(rack) || racksWithReplicas.size === racksCount;
      if (!rackFree || replicas.includes(broker)) continue;
      replicas.push(broker);
      racksWithReplicas.add(rack);
    }
    placements.push(placement(partitionId, replicas));
  }
  return placements;
}

/**
 * Brokers in rack-alternating order: racks sorted by name (plain code-unit order, not the locale's, so
 * every node agrees), then round after round one broker of each rack that still has one, by id.
 */
function rackAlternatedRing(brokers: readonly PlacementBroker[]): number[] {
  const byRack = new Map<string, number[]>();
  for (const { brokerId, rackId = "" } of brokers) {
    const rackBrokers = byRack.get(rackId);
    if (rackBrokers === undefined) byRack.set(rackId, [brokerId]);
    else rackBrokers.push(brokerId);
  }
  const racks = [...byRack.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map((rack) => byRack.get(rack) ?? []);
  const ring: number[] = [];
  for (let round = 0; ring.length < brokers.length; round++) {
    for (const rackBrokers of racks) {
      const broker = rackBrokers[round];
      if (broker !== undefined) ring.push(broker);
    }
  }
  return ring;
}

function ringAt(ring: readonly number[], position: number): number {
  const broker = ring[position % ring.length];
  assert(broker !== undefined, `Ring position ${position} of ${ring.length} brokers`);
  return broker;
}

function placement(partitionId: number, replicas: number[]): PlacedPartition {
  assert(new Set(replicas).size === replicas.length, `Partition ${partitionId} was placed twice on one broker: ${replicas.join(",")}`);
  const leader = replicas[0];
  assert(leader !== undefined, `Partition ${partitionId} was placed on no broker`);
  return { partitionId, replicas, leader };
}
