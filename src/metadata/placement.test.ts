import assert from "node:assert/strict";
import { test } from "node:test";
import type { Prng } from "../shared/prng.js";
import { createPrng } from "../shared/prng.js";
import type { PlacedPartition, PlacementBroker } from "./placement.js";
import { partitionsCountMax, placeReplicas, replicationFactorMax } from "./placement.js";

function placed(brokers: readonly PlacementBroker[], partitionsCount: number, replicationFactor: number, startOffset = 0): PlacedPartition[] {
  const result = placeReplicas(brokers, partitionsCount, replicationFactor, startOffset);
  assert.ok(result.ok, result.ok ? "" : result.error.message);
  return result.value;
}

function brokersWithoutRacks(count: number): PlacementBroker[] {
  return Array.from({ length: count }, (_, i) => ({ brokerId: i + 1 }));
}

/** `perRack[r]` brokers in rack "rack-r", with ids interleaved so that racks are not contiguous id ranges. */
function brokersInRacks(perRack: readonly number[]): PlacementBroker[] {
  const brokers: PlacementBroker[] = [];
  let brokerId = 100;
  for (let round = 0; round < Math.max(...perRack); round++) {
    perRack.forEach((count, rack) => {
      if (round < count) brokers.push({ brokerId: brokerId++, rackId: `rack-${rack}` });
    });
  }
  return brokers;
}

function countBy(brokers: readonly PlacementBroker[], ids: readonly number[]): number[] {
  const counts = new Map(brokers.map((broker) => [broker.brokerId, 0]));
  for (const id of ids) counts.set(id, (counts.get(id) ?? Number.NaN) + 1);
  return [...counts.values()];
}

function spread(counts: readonly number[]): number {
  return Math.max(...counts) - Math.min(...counts);
}

function leaderCounts(brokers: readonly PlacementBroker[], placements: readonly PlacedPartition[]): number[] {
  return countBy(brokers, placements.map((p) => p.leader));
}

function replicaCounts(brokers: readonly PlacementBroker[], placements: readonly PlacedPartition[]): number[] {
  return countBy(brokers, placements.flatMap((p) => p.replicas));
}

/** The properties every placement has, whatever the layout. */
function assertWellFormed(brokers: readonly PlacementBroker[], placements: readonly PlacedPartition[], partitionsCount: number, replicationFactor: number): void {
  const known = new Set(brokers.map((broker) => broker.brokerId));
  assert.deepEqual(
    placements.map((p) => p.partitionId),
    Array.from({ length: partitionsCount }, (_, i) => i),
  );
  for (const { partitionId, replicas, leader } of placements) {
    assert.equal(replicas.length, replicationFactor, `partition ${partitionId}`);
    assert.equal(new Set(replicas).size, replicationFactor, `partition ${partitionId} has a broker twice: ${replicas.join(",")}`);
    assert.ok(replicas.every((id) => known.has(id)), `partition ${partitionId} is on an unknown broker`);
    assert.equal(leader, replicas[0]);
  }
  assert.ok(spread(leaderCounts(brokers, placements)) <= 1, `leaders unbalanced: ${leaderCounts(brokers, placements).join(",")}`);
}

function racksSpanned(brokers: readonly PlacementBroker[], replicas: readonly number[]): number {
  const rackOf = new Map(brokers.map((broker) => [broker.brokerId, broker.rackId]));
  return new Set(replicas.map((id) => rackOf.get(id))).size;
}

function shuffled<T>(items: readonly T[], prng: Prng): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    [copy[i], copy[j]] = [copy[j] as T, copy[i] as T];
  }
  return copy;
}

// ---------------------------------------------------------------------------------------------------
// Without racks

test("placeReplicas() goes round the brokers, as Kafka's rack-unaware assignment does", () => {
  const brokers = brokersWithoutRacks(5);
  const replicas = placed(brokers, 10, 3).map((p) => p.replicas);
  assert.deepEqual(replicas, [
    // First round: followers 1 and 2 places after the leader.
    [1, 2, 3],
    [2, 3, 4],
    [3, 4, 5],
    [4, 5, 1],
    [5, 1, 2],
    // Second round: the follower shift moves on, so leaders pair with other brokers.
    [1, 3, 4],
    [2, 4, 5],
    [3, 5, 1],
    [4, 1, 2],
    [5, 2, 3],
  ]);
});

test("placeReplicas() gives every broker the same replica and leader counts when partitions fill whole rounds", () => {
  for (let brokersCount = 1; brokersCount <= 12; brokersCount++) {
    const brokers = brokersWithoutRacks(brokersCount);
    for (let replicationFactor = 1; replicationFactor <= Math.min(brokersCount, 5); replicationFactor++) {
      for (const rounds of [1, 2, 3, 7]) {
        for (const startOffset of [0, 1, 5, 12, 1_000_003]) {
          const partitionsCount = rounds * brokersCount;
          const placements = placed(brokers, partitionsCount, replicationFactor, startOffset);
          assertWellFormed(brokers, placements, partitionsCount, replicationFactor);
          assert.equal(spread(leaderCounts(brokers, placements)), 0);
          assert.equal(spread(replicaCounts(brokers, placements)), 0, `${brokersCount} brokers, rf ${replicationFactor}, ${rounds} rounds`);
        }
      }
    }
  }
});

test("placeReplicas() keeps a partial round's extra replicas within the partial round's size", () => {
  // Each whole round gives every broker replicationFactor replicas; the last r partitions add 0 to
  // min(r, replicationFactor) replicas to a broker, as in Kafka (topics' start offsets even this out).
  const prng = createPrng(36);
  for (let i = 0; i < 500; i++) {
    const brokers = brokersWithoutRacks(prng.intBetween(1, 20));
    const replicationFactor = prng.intBetween(1, Math.min(brokers.length, replicationFactorMax));
    const partitionsCount = prng.intBetween(1, 200);
    const placements = placed(brokers, partitionsCount, replicationFactor, prng.int(1_000_000));
    assertWellFormed(brokers, placements, partitionsCount, replicationFactor);
    const remainder = partitionsCount % brokers.length;
    assert.ok(spread(replicaCounts(brokers, placements)) <= Math.min(remainder, replicationFactor));
  }
});

test("placeReplicas() pairs each leader with a different follower in each of n − 1 rounds", () => {
  for (const brokersCount of [2, 3, 5, 8]) {
    const brokers = brokersWithoutRacks(brokersCount);
    const placements = placed(brokers, brokersCount * (brokersCount - 1), 2, 3);
    const pairs = new Set(placements.map((p) => p.replicas.join("→")));
    assert.equal(pairs.size, brokersCount * (brokersCount - 1), `${brokersCount} brokers`);
  }
});

test("placeReplicas() starts the leaders of different topics at different brokers", () => {
  const brokers = brokersWithoutRacks(6);
  const firstLeaders = Array.from({ length: 6 }, (_, startOffset) => placed(brokers, 1, 3, startOffset)[0]?.leader);
  assert.deepEqual(firstLeaders, [1, 2, 3, 4, 5, 6]);
  // The part of startOffset above the broker count moves the followers.
  assert.notDeepEqual(placed(brokers, 1, 3, 0)[0]?.replicas, placed(brokers, 1, 3, 6)[0]?.replicas);
  assert.equal(placed(brokers, 1, 3, 6)[0]?.leader, 1);
});

test("placeReplicas() places on one broker with replication factor one", () => {
  assert.deepEqual(placed([{ brokerId: 7 }], 3, 1), [
    { partitionId: 0, replicas: [7], leader: 7 },
    { partitionId: 1, replicas: [7], leader: 7 },
    { partitionId: 2, replicas: [7], leader: 7 },
  ]);
  assert.deepEqual(placed([{ brokerId: 7, rackId: "a" }], 1, 1), [{ partitionId: 0, replicas: [7], leader: 7 }]);
});

// ---------------------------------------------------------------------------------------------------
// With racks

test("placeReplicas() alternates racks so that replicas of a partition sit in different racks", () => {
  // Racks a: 1, 2, 3 and b: 4, 5, 6 give the ring 1, 4, 2, 5, 3, 6.
  const brokers = [1, 2, 3, 4, 5, 6].map((brokerId) => ({ brokerId, rackId: brokerId <= 3 ? "a" : "b" }));
  const placements = placed(brokers, 6, 2);
  assert.deepEqual(
    placements.map((p) => p.replicas),
    [
      [1, 4],
      [4, 2],
      [2, 5],
      [5, 3],
      [3, 6],
      [6, 1],
    ],
  );
});

test("placeReplicas() moves the followers by whole rack rounds from one round to the next", () => {
  // Racks a: 1, 2, b: 3, 4 and c: 5, 6 give the ring 1, 3, 5, 2, 4, 6. In the second round the followers
  // start 1 + 3 places after the leader (shift 1 times 3 racks) instead of 1.
  const brokers = [1, 2, 3, 4, 5, 6].map((brokerId) => ({ brokerId, rackId: ["a", "b", "c"][Math.floor((brokerId - 1) / 2)] }));
  assert.deepEqual(
    placed(brokers, 12, 3).map((p) => p.replicas),
    [
      [1, 3, 5],
      [3, 5, 2],
      [5, 2, 4],
      [2, 4, 6],
      [4, 6, 1],
      [6, 1, 3],
      [1, 4, 6],
      [3, 6, 1],
      [5, 1, 3],
      [2, 3, 5],
      [4, 5, 2],
      [6, 2, 4],
    ],
  );
});

test("placeReplicas() spreads every partition over min(replicationFactor, racks) racks on many layouts", () => {
  const layouts = [[1, 1], [2, 2], [3, 3, 3], [3, 1], [1, 5], [4, 2, 1], [2, 2, 2, 2, 2], [5, 1, 1, 3], [1, 1, 1, 1, 1, 1, 1], [6]];
  for (const perRack of layouts) {
    const brokers = brokersInRacks(perRack);
    for (let replicationFactor = 1; replicationFactor <= Math.min(brokers.length, 6); replicationFactor++) {
      for (const partitionsCount of [1, 7, brokers.length * 3]) {
        for (const startOffset of [0, 1, 4, 99]) {
          const placements = placed(brokers, partitionsCount, replicationFactor, startOffset);
          assertWellFormed(brokers, placements, partitionsCount, replicationFactor);
          for (const { partitionId, replicas } of placements) {
            const expected = Math.min(replicationFactor, perRack.length);
            assert.equal(racksSpanned(brokers, replicas), expected, `layout ${perRack.join("/")}, rf ${replicationFactor}, partition ${partitionId}`);
          }
        }
      }
    }
  }
});

test("placeReplicas() spreads over racks on generated layouts and balances replicas when racks are even", () => {
  const prng = createPrng(4242);
  for (let i = 0; i < 300; i++) {
    const racksCount = prng.intBetween(1, 6);
    const even = prng.chance(0.5);
    const brokersPerRack = prng.intBetween(1, 4);
    const perRack = Array.from({ length: racksCount }, () => (even ? brokersPerRack : prng.intBetween(1, 4)));
    const brokers = shuffled(brokersInRacks(perRack), prng);
    const replicationFactor = prng.intBetween(1, Math.min(brokers.length, replicationFactorMax));
    const partitionsCount = even ? brokers.length * prng.intBetween(1, 5) : prng.intBetween(1, 100);
    const placements = placed(brokers, partitionsCount, replicationFactor, prng.int(1_000_000));
    assertWellFormed(brokers, placements, partitionsCount, replicationFactor);
    for (const { replicas } of placements) assert.equal(racksSpanned(brokers, replicas), Math.min(replicationFactor, racksCount));
    if (even) assert.equal(spread(replicaCounts(brokers, placements)), 0, `racks ${perRack.join("/")}, rf ${replicationFactor}`);
  }
});

test("placeReplicas() ignores racks unless every broker has one", () => {
  const plain = brokersWithoutRacks(6);
  const someRacks = plain.map((broker, i) => (i % 2 === 0 ? { ...broker, rackId: `rack-${i}` } : broker));
  const emptyRacks = plain.map((broker) => ({ ...broker, rackId: "" }));
  assert.deepEqual(placed(someRacks, 12, 3, 5), placed(plain, 12, 3, 5));
  assert.deepEqual(placed(emptyRacks, 12, 3, 5), placed(plain, 12, 3, 5));
  // With every rack given, the placement does change (the ring alternates racks).
  const twoRacks = plain.map((broker) => ({ ...broker, rackId: broker.brokerId <= 3 ? "a" : "b" }));
  assert.notDeepEqual(placed(twoRacks, 12, 3, 5), placed(plain, 12, 3, 5));
});

// ---------------------------------------------------------------------------------------------------
// Determinism

test("placeReplicas() gives the same placement whatever order the brokers come in", () => {
  const prng = createPrng(99);
  for (const brokers of [brokersWithoutRacks(9), brokersInRacks([3, 2, 4])]) {
    const expected = placed(brokers, 40, 3, 17);
    for (let i = 0; i < 20; i++) assert.deepEqual(placed(shuffled(brokers, prng), 40, 3, 17), expected);
  }
});

test("placeReplicas() does not reorder the caller's brokers", () => {
  const brokers = [{ brokerId: 3 }, { brokerId: 1 }, { brokerId: 2 }];
  placed(brokers, 3, 2);
  assert.deepEqual(brokers, [{ brokerId: 3 }, { brokerId: 1 }, { brokerId: 2 }]);
});

test("placeReplicas() places the largest request allowed", () => {
  const brokers = brokersInRacks([4, 4, 4, 4, 4]);
  const placements = placed(brokers, partitionsCountMax, replicationFactorMax, Number.MAX_SAFE_INTEGER);
  assertWellFormed(brokers, placements, partitionsCountMax, replicationFactorMax);
});

// ---------------------------------------------------------------------------------------------------
// Errors

test("placeReplicas() refuses a replication factor above the live broker count", () => {
  for (const [brokers, replicationFactor] of [
    [brokersWithoutRacks(2), 3],
    [brokersInRacks([1, 1]), 3],
    [[], 1],
  ] as const) {
    const result = placeReplicas(brokers, 1, replicationFactor, 0);
    assert.ok(!result.ok);
    assert.equal(result.error.code, "NOT_ENOUGH_BROKERS");
    assert.equal(
      result.error.message,
      `Cannot place replicas as replicationFactor exceeds the ${brokers.length} live brokers: current value is ${replicationFactor}`,
    );
  }
});

test("placeReplicas() refuses counts that are not positive integers within their bounds", () => {
  const brokers = brokersWithoutRacks(3);
  const cases: [number, number, number, RegExp][] = [
    [0, 1, 0, /partitionsCount must be an integer in \[1, 100000\]: current value is 0$/],
    [-1, 1, 0, /partitionsCount .* current value is -1$/],
    [1.5, 1, 0, /partitionsCount .* current value is 1.5$/],
    [Number.NaN, 1, 0, /partitionsCount .* current value is NaN$/],
    [partitionsCountMax + 1, 1, 0, /partitionsCount .* current value is 100001$/],
    [1, 0, 0, /replicationFactor must be an integer in \[1, 16\]: current value is 0$/],
    [1, 2.5, 0, /replicationFactor .* current value is 2.5$/],
    [1, Number.POSITIVE_INFINITY, 0, /replicationFactor .* current value is Infinity$/],
    [1, replicationFactorMax + 1, 0, /replicationFactor .* current value is 17$/],
    [1, 1, -1, /startOffset must be a non-negative integer: current value is -1$/],
    [1, 1, 0.5, /startOffset .* current value is 0.5$/],
    [1, 1, 2 ** 53, /startOffset .* current value is 9007199254740992$/],
  ];
  for (const [partitionsCount, replicationFactor, startOffset, message] of cases) {
    const result = placeReplicas(brokers, partitionsCount, replicationFactor, startOffset);
    assert.ok(!result.ok, `${partitionsCount}, ${replicationFactor}, ${startOffset}`);
    assert.equal(result.error.code, "INVALID_ARGUMENT");
    assert.match(result.error.message, /^Cannot place replicas as /);
    assert.match(result.error.message, message);
  }
});

test("placeReplicas() refuses broker ids that are repeated or not non-negative integers", () => {
  for (const [brokers, message] of [
    [[{ brokerId: 1 }, { brokerId: 2 }, { brokerId: 1 }], /listed twice: current value is 1$/],
    [[{ brokerId: -1 }], /non-negative integer: current value is -1$/],
    [[{ brokerId: 1.5 }], /non-negative integer: current value is 1.5$/],
    [[{ brokerId: Number.NaN }], /non-negative integer: current value is NaN$/],
  ] as const) {
    const result = placeReplicas(brokers, 1, 1, 0);
    assert.ok(!result.ok);
    assert.equal(result.error.code, "INVALID_ARGUMENT");
    assert.match(result.error.message, message);
  }
});
