import type { Prng } from "../shared/prng.js";
import type { NetworkFaults } from "./network.js";

/** Which nodes a seed's cluster starts with; `spares` are running nodes that may be added later. */
export interface ClusterShape {
  readonly voterCount: number;
  readonly learnerCount: number;
  readonly spareCount: number;
}

/** The mix of shapes seeds cycle through: 3 and 5 voters, with and without learners. */
export const clusterShapes: readonly ClusterShape[] = [
  { voterCount: 3, learnerCount: 0, spareCount: 2 },
  { voterCount: 5, learnerCount: 0, spareCount: 2 },
  { voterCount: 3, learnerCount: 1, spareCount: 2 },
  { voterCount: 5, learnerCount: 2, spareCount: 1 },
];

/** Every knob of one simulated run. Times are in abstract time units; a tick lasts `tickUnits`. */
export interface SimParams {
  readonly shape: ClusterShape;
  readonly tickUnits: number;
  /** Each node's clock runs at tickUnits·(1 ± up to this fraction), drawn again at every restart. */
  readonly clockSkewRate: number;
  readonly electionTimeoutTicks: number;
  readonly heartbeatIntervalTicks: number;
  /** Raft flow-control limits, small so that batching, windows and snapshot chunks are exercised. */
  readonly appendEntriesCountMax: number;
  readonly inflightMessagesMax: number;
  readonly snapshotChunkBytesMax: number;
  readonly uncommittedBytesMax: number;
  readonly faultyNetwork: NetworkFaults;
  readonly calmNetwork: NetworkFaults;
  /** The shell takes the next Ready up to this long after an input (0: at once), batching inputs. */
  readonly readyDelayUnitsMax: number;
  readonly diskDelayUnitsMin: number;
  readonly diskDelayUnitsMax: number;
  /** A node snapshots its state machine once it has applied this many entries past its last snapshot. */
  readonly snapshotEntriesThreshold: number;
  /** Length of the fault phase; the liveness phase follows. */
  readonly faultPhaseUnits: number;
  readonly faultIntervalUnitsMin: number;
  readonly faultIntervalUnitsMax: number;
  /** Probability that a node crashes while a Ready's writes are on their way to disk (the torn-write window). */
  readonly crashDuringSyncRate: number;
  /** Probability that a fault strikes at each fault interval (the rest are quiet). */
  readonly faultRate: number;
  readonly clientCount: number;
  readonly keyCount: number;
  readonly clientThinkUnitsMax: number;
  readonly clientRetryUnits: number;
  readonly clientTimeoutUnits: number;
  readonly readRatio: number;
  /** The liveness phase must elect a leader and commit within this many election timeouts. */
  readonly livenessElectionTimeoutsMax: number;
}

export interface ParamsOverrides {
  readonly faultPhaseTicks?: number;
}

const tickUnits = 10;
const faultPhaseTicksDefault = 400;

/** Draws the parameters of a seed; the shape cycles with the seed so every batch of seeds mixes them. */
export function drawParams(seed: number, prng: Prng, overrides: ParamsOverrides = {}): SimParams {
  const shape = clusterShapes[seed % clusterShapes.length] ?? clusterShapes[0];
  if (shape === undefined) throw new RangeError("Cannot draw parameters as there are no cluster shapes");
  const electionTimeoutTicks = prng.intBetween(8, 14);
  const heartbeatIntervalTicks = prng.intBetween(1, 3);
  const delayUnitsMax = prng.intBetween(3, 4 * tickUnits);
  const faultPhaseTicks = overrides.faultPhaseTicks ?? faultPhaseTicksDefault;
  return {
    shape,
    tickUnits,
    clockSkewRate: prng.float() * 0.5,
    electionTimeoutTicks,
    heartbeatIntervalTicks,
    appendEntriesCountMax: prng.intBetween(1, 8),
    inflightMessagesMax: prng.intBetween(1, 8),
    snapshotChunkBytesMax: prng.intBetween(8, 96),
    uncommittedBytesMax: prng.chance(0.3) ? prng.intBetween(16, 256) : 1 << 20,
    faultyNetwork: {
      dropRate: prng.float() * 0.3,
      duplicateRate: prng.float() * 0.5,
      delayUnitsMin: 1,
      delayUnitsMax,
    },
    calmNetwork: { dropRate: 0, duplicateRate: 0, delayUnitsMin: 1, delayUnitsMax: tickUnits },
    readyDelayUnitsMax: prng.chance(0.5) ? 0 : prng.intBetween(1, 5),
    diskDelayUnitsMin: 1,
    diskDelayUnitsMax: prng.intBetween(2, 2 * tickUnits),
    snapshotEntriesThreshold: prng.intBetween(4, 60),
    faultPhaseUnits: faultPhaseTicks * tickUnits,
    faultIntervalUnitsMin: 2 * tickUnits,
    faultIntervalUnitsMax: prng.intBetween(1, 4) * electionTimeoutTicks * tickUnits,
    crashDuringSyncRate: prng.float() * 0.03,
    faultRate: 0.5 + prng.float() * 0.5,
    clientCount: prng.intBetween(1, 4),
    keyCount: prng.intBetween(1, 8),
    clientThinkUnitsMax: prng.intBetween(1, 3) * tickUnits,
    clientRetryUnits: tickUnits,
    clientTimeoutUnits: 3 * electionTimeoutTicks * tickUnits,
    readRatio: prng.float() * 0.6,
    livenessElectionTimeoutsMax: 20,
  };
}

export function describeParams(p: SimParams): string {
  const s = p.shape;
  const n = p.faultyNetwork;
  return [
    `shape=${s.voterCount}v+${s.learnerCount}l+${s.spareCount}spare`,
    `election=${p.electionTimeoutTicks}t heartbeat=${p.heartbeatIntervalTicks}t tick=${p.tickUnits}u skew=${p.clockSkewRate.toFixed(2)}`,
    `drop=${n.dropRate.toFixed(3)} dup=${n.duplicateRate.toFixed(3)} delay=${n.delayUnitsMin}..${n.delayUnitsMax}u`,
    `readyDelay=0..${p.readyDelayUnitsMax}u disk=${p.diskDelayUnitsMin}..${p.diskDelayUnitsMax}u crashInSync=${p.crashDuringSyncRate.toFixed(3)} snapshotEvery=${p.snapshotEntriesThreshold}`,
    `appendMax=${p.appendEntriesCountMax} inflightMax=${p.inflightMessagesMax} chunk=${p.snapshotChunkBytesMax}B uncommittedMax=${p.uncommittedBytesMax}B`,
    `clients=${p.clientCount} keys=${p.keyCount} reads=${p.readRatio.toFixed(2)} faultPhase=${p.faultPhaseUnits}u`,
  ].join(" ");
}
