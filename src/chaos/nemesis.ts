// Nemesis planning: which fault comes next, on which nodes and links, for how long — every choice drawn
// from one seeded PRNG, so a seed names a run's faults. Pure: `nemesisRunner.ts` applies the plan to
// real processes (where timing, and so what the faults meet, still varies from run to run).
import { assert, assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";
import type { CutMode } from "./faultProxy.js";

export const nemesisKinds = ["kill", "pause", "partition", "slow", "terminate", "transfer", "disk"] as const;
export type NemesisKind = (typeof nemesisKinds)[number];

/** A count of zero for every kind, to count faults by. */
export function emptyFaultsCount(): Record<NemesisKind, number> {
  return Object.fromEntries(nemesisKinds.map((kind) => [kind, 0])) as Record<NemesisKind, number>;
}

/** A node a fault aims at: the leader found when the fault starts (else `fallbackId`), or a given node. */
export type Target = { readonly kind: "leader"; readonly fallbackId: number } | { readonly kind: "node"; readonly id: number };

/**
 * Which Raft links to cut. `split`: both directions between `minority` and the rest. `one-way`: only the
 * links leaving `node` (`outbound`: it is not heard, but hears) or only those reaching it (`inbound`: it
 * is heard, but hears nothing back — a leader then keeps its followers quiet yet loses check-quorum).
 * `isolate`: both directions between `node` and everyone else.
 */
export type PartitionShape =
  | { readonly kind: "split"; readonly minority: readonly number[] }
  | { readonly kind: "one-way"; readonly node: Target; readonly direction: "outbound" | "inbound" }
  | { readonly kind: "isolate"; readonly node: Target };

export interface DirectedLink {
  readonly from: number;
  readonly to: number;
}

/** Links to slow down: every link touching `node` (both directions), or every link of the cluster. */
export type SlowScope = { readonly kind: "node"; readonly node: Target } | { readonly kind: "all" };

export type Fault =
  | { readonly kind: "kill"; readonly targets: readonly Target[]; readonly downMs: number }
  | { readonly kind: "pause"; readonly targets: readonly Target[]; readonly pausedMs: number }
  | { readonly kind: "partition"; readonly shape: PartitionShape; readonly mode: CutMode; readonly durationMs: number }
  | { readonly kind: "slow"; readonly scope: SlowScope; readonly latencyMs: number; readonly durationMs: number }
  /** SIGTERM: a leader hands over before it stops (its requests in flight fail with STOPPING); restarted after `downMs`. */
  | { readonly kind: "terminate"; readonly targets: readonly Target[]; readonly downMs: number }
  /** `POST /v1/cluster/transfer-leadership` through node `viaId` (forwarded to the leader), to `targetId` or the most up-to-date follower. */
  | { readonly kind: "transfer"; readonly viaId: number; readonly targetId: number | undefined; readonly settleMs: number }
  /** `target`'s disk filled to the last byte for `fullMs` (it stops at its next write), then freed, and restarted if it stopped. */
  | { readonly kind: "disk"; readonly target: Target; readonly fullMs: number };

/** One step of a plan: wait `quietMs` with no fault, then hold `fault` for its duration, then heal it. */
export interface Planned<F> {
  readonly quietMs: number;
  readonly fault: F;
}

export type PlannedFault = Planned<Fault>;

export interface NemesisOptions {
  /** Node ids of the cluster (voters); at least 3 so that a minority of one exists. */
  readonly nodeIds: readonly number[];
  readonly kinds: readonly NemesisKind[];
}

/**
 * Bounds of what the nemesis draws. Holds of 0.8–3 s span several election timeouts (300–600 ms by default),
 * so most faults cost a leader; quiet gaps of 0.3–1.5 s let the cluster elect and make progress in between.
 * Latency up to 250 ms per hop makes a heartbeat round trip approach the election timeout without passing it.
 */
export const nemesisBounds = {
  quietMsMin: 300,
  quietMsMax: 1_500,
  holdMsMin: 800,
  holdMsMax: 3_000,
  latencyMsMin: 10,
  latencyMsMax: 250,
  /** Chance that a kill, pause or one-node partition aims at the leader rather than a random node. */
  leaderChance: 0.5,
  /** Chance that a partition drops packets silently (blackhole) rather than resetting connections. */
  blackholeChance: 0.75,
} as const;

/** The largest number of voters that can be down while the rest still form a majority. */
export function minorityCount(nodesCount: number): number {
  return Math.floor((nodesCount - 1) / 2);
}

/**
 * An endless plan of faults drawn from `prng`. Kinds come in rounds: each round is the enabled kinds in a
 * shuffled order, so every kind shows up within the first `kinds.length` faults of any run. Each fault
 * takes down (kills, pauses, or cuts off) at most a minority of the nodes, and faults never overlap (the
 * runner heals one before the next), so a majority can always make progress once a fault is healed.
 */
export function* planFaults(prng: Prng, options: NemesisOptions): Generator<PlannedFault, never, void> {
  const { nodeIds, kinds } = options;
  assert(nodeIds.length >= 3 && new Set(nodeIds).size === nodeIds.length, `a nemesis needs 3 or more distinct nodes, got ${nodeIds.join(",")}`);
  assert(kinds.length > 0, "a nemesis needs at least one kind of fault");
  for (;;) {
    const round = shuffle(prng, kinds);
    for (const kind of round) {
      const quietMs = prng.intBetween(nemesisBounds.quietMsMin, nemesisBounds.quietMsMax);
      yield { quietMs, fault: drawFault(prng, kind, nodeIds) };
    }
  }
}

function drawFault(prng: Prng, kind: NemesisKind, nodeIds: readonly number[]): Fault {
  const holdMs = (): number => prng.intBetween(nemesisBounds.holdMsMin, nemesisBounds.holdMsMax);
  switch (kind) {
    case "kill":
      return { kind, targets: drawTargets(prng, nodeIds), downMs: holdMs() };
    case "pause":
      return { kind, targets: drawTargets(prng, nodeIds), pausedMs: holdMs() };
    case "partition": {
      const mode: CutMode = prng.chance(nemesisBounds.blackholeChance) ? "blackhole" : "reject";
      return { kind, shape: drawShape(prng, nodeIds), mode, durationMs: holdMs() };
    }
    case "terminate":
      return { kind, targets: drawTargets(prng, nodeIds), downMs: holdMs() };
    case "transfer":
      return { kind, viaId: prng.pick(nodeIds), targetId: prng.chance(0.5) ? prng.pick(nodeIds) : undefined, settleMs: holdMs() };
    case "disk":
      return { kind, target: drawTarget(prng, nodeIds), fullMs: holdMs() };
    case "slow": {
      const scope: SlowScope = prng.chance(0.5) ? { kind: "all" } : { kind: "node", node: drawTarget(prng, nodeIds) };
      return { kind, scope, latencyMs: prng.intBetween(nemesisBounds.latencyMsMin, nemesisBounds.latencyMsMax), durationMs: holdMs() };
    }
    default:
      return assertNever(kind, "nemesis kind");
  }
}

function drawTarget(prng: Prng, nodeIds: readonly number[]): Target {
  const id = prng.pick(nodeIds);
  return prng.chance(nemesisBounds.leaderChance) ? { kind: "leader", fallbackId: id } : { kind: "node", id };
}

/** Between one node and a minority of nodes, distinct; the first may be "the leader". */
function drawTargets(prng: Prng, nodeIds: readonly number[]): Target[] {
  const count = prng.intBetween(1, minorityCount(nodeIds.length));
  const [first, ...others] = shuffle(prng, nodeIds).slice(0, count);
  assert(first !== undefined, "a minority has at least one node");
  const head: Target = prng.chance(nemesisBounds.leaderChance) ? { kind: "leader", fallbackId: first } : { kind: "node", id: first };
  return [head, ...others.map((id): Target => ({ kind: "node", id }))];
}

function drawShape(prng: Prng, nodeIds: readonly number[]): PartitionShape {
  switch (prng.int(3)) {
    case 0:
      return { kind: "split", minority: shuffle(prng, nodeIds).slice(0, prng.intBetween(1, minorityCount(nodeIds.length))).sort((a, b) => a - b) };
    case 1:
      return { kind: "one-way", node: drawTarget(prng, nodeIds), direction: prng.chance(0.5) ? "outbound" : "inbound" };
    default:
      return { kind: "isolate", node: { kind: "leader", fallbackId: prng.pick(nodeIds) } };
  }
}

/** A Fisher–Yates shuffle drawn from `prng`; the input is not changed. */
export function shuffle<T>(prng: Prng, items: readonly T[]): T[] {
  const copy = [...items];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = prng.int(i + 1);
    const a = copy[i] as T;
    copy[i] = copy[j] as T;
    copy[j] = a;
  }
  return copy;
}

/**
 * The directed links a partition cuts once its targets are resolved to node ids (`resolve`), among
 * `nodeIds`. Pure; what the runner hands to the proxies.
 */
export function linksToCut(shape: PartitionShape, nodeIds: readonly number[], resolve: (target: Target) => number): DirectedLink[] {
  const across = (side: ReadonlySet<number>): DirectedLink[] =>
    nodeIds.flatMap((from) => nodeIds.filter((to) => to !== from && side.has(from) !== side.has(to)).map((to) => ({ from, to })));
  switch (shape.kind) {
    case "split":
      return across(new Set(shape.minority));
    case "isolate":
      return across(new Set([resolve(shape.node)]));
    case "one-way": {
      const node = resolve(shape.node);
      const others = nodeIds.filter((id) => id !== node);
      return shape.direction === "outbound" ? others.map((to) => ({ from: node, to })) : others.map((from) => ({ from, to: node }));
    }
    default:
      return assertNever(shape, "partition shape");
  }
}

/** Every directed link touching the scope's node, or every link; after targets are resolved. */
export function linksToSlow(scope: SlowScope, nodeIds: readonly number[], resolve: (target: Target) => number): DirectedLink[] {
  const all = nodeIds.flatMap((from) => nodeIds.filter((to) => to !== from).map((to) => ({ from, to })));
  switch (scope.kind) {
    case "all":
      return all;
    case "node": {
      const node = resolve(scope.node);
      return all.filter((link) => link.from === node || link.to === node);
    }
    default:
      return assertNever(scope, "slow scope");
  }
}

/** One line for progress output, e.g. `partition split [1] | rest (blackhole) for 2.1 s`. */
export function describeFault(fault: Fault): string {
  const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
  switch (fault.kind) {
    case "kill":
      return `kill -9 ${fault.targets.map(describeTarget).join(", ")}, restart after ${seconds(fault.downMs)}`;
    case "pause":
      return `SIGSTOP ${fault.targets.map(describeTarget).join(", ")}, SIGCONT after ${seconds(fault.pausedMs)}`;
    case "partition":
      return `partition ${describeShape(fault.shape)} (${fault.mode}) for ${seconds(fault.durationMs)}`;
    case "slow":
      return `latency ${fault.latencyMs} ms on ${fault.scope.kind === "all" ? "every link" : `the links of ${describeTarget(fault.scope.node)}`} for ${seconds(fault.durationMs)}`;
    case "terminate":
      return `SIGTERM ${fault.targets.map(describeTarget).join(", ")}, restart after ${seconds(fault.downMs)}`;
    case "disk":
      return `fill the disk of ${describeTarget(fault.target)}, free it after ${seconds(fault.fullMs)}`;
    case "transfer":
      return `transfer leadership to ${fault.targetId === undefined ? "the most up-to-date follower" : `node ${fault.targetId}`} (asked through node ${fault.viaId}), then ${seconds(fault.settleMs)} to settle`;
    default:
      return assertNever(fault, "fault");
  }
}

export function describeTarget(target: Target): string {
  return target.kind === "leader" ? `the leader (else node ${target.fallbackId})` : `node ${target.id}`;
}

function describeShape(shape: PartitionShape): string {
  switch (shape.kind) {
    case "split":
      return `split [${shape.minority.join(",")}] | the rest`;
    case "one-way":
      return `one-way: ${shape.direction === "outbound" ? "nothing from" : "nothing to"} ${describeTarget(shape.node)}`;
    case "isolate":
      return `isolating ${describeTarget(shape.node)}`;
    default:
      return assertNever(shape, "partition shape");
  }
}

// ---------------------------------------------------------------- brokers

/**
 * Faults on the data plane's brokers, planned apart from the controllers' (a second plan beside the
 * first, from its own seeded stream), so broker faults overlap controller faults as they would in life.
 */
export const brokerNemesisKinds = ["broker-kill", "broker-pause", "broker-partition"] as const;
export type BrokerNemesisKind = (typeof brokerNemesisKinds)[number];

/**
 * One broker at a time: with replication factor 3 and min.insync.replicas 2, acks=all goes on once the
 * ISR has shrunk around it. `broker-partition` cuts every link of the broker: to each controller, and
 * replication both ways between it and every other broker; clients still reach it (they dial brokers
 * directly), so a partitioned leader keeps taking produce requests it can no longer confirm.
 */
export type BrokerFault =
  | { readonly kind: "broker-kill"; readonly brokerId: number; readonly downMs: number }
  | { readonly kind: "broker-pause"; readonly brokerId: number; readonly pausedMs: number }
  | { readonly kind: "broker-partition"; readonly brokerId: number; readonly mode: CutMode; readonly durationMs: number };

export type PlannedBrokerFault = Planned<BrokerFault>;

export interface BrokerNemesisOptions {
  readonly brokerIds: readonly number[];
  readonly kinds: readonly BrokerNemesisKind[];
}

/**
 * An endless plan of broker faults drawn from `prng`, in shuffled rounds of the enabled kinds like
 * `planFaults`, with the same quiet gaps and holds. Each fault hits one broker; the runner heals one
 * before the next, so at most one broker is ever down, paused or cut off.
 */
export function* planBrokerFaults(prng: Prng, options: BrokerNemesisOptions): Generator<PlannedBrokerFault, never, void> {
  const { brokerIds, kinds } = options;
  assert(brokerIds.length >= 1 && new Set(brokerIds).size === brokerIds.length, `a broker nemesis needs distinct brokers, got ${brokerIds.join(",")}`);
  assert(kinds.length > 0, "a broker nemesis needs at least one kind of fault");
  for (;;) {
    for (const kind of shuffle(prng, kinds)) {
      const quietMs = prng.intBetween(nemesisBounds.quietMsMin, nemesisBounds.quietMsMax);
      yield { quietMs, fault: drawBrokerFault(prng, kind, brokerIds) };
    }
  }
}

function drawBrokerFault(prng: Prng, kind: BrokerNemesisKind, brokerIds: readonly number[]): BrokerFault {
  const brokerId = prng.pick(brokerIds);
  const holdMs = prng.intBetween(nemesisBounds.holdMsMin, nemesisBounds.holdMsMax);
  switch (kind) {
    case "broker-kill":
      return { kind, brokerId, downMs: holdMs };
    case "broker-pause":
      return { kind, brokerId, pausedMs: holdMs };
    case "broker-partition":
      return { kind, brokerId, mode: prng.chance(nemesisBounds.blackholeChance) ? "blackhole" : "reject", durationMs: holdMs };
    default:
      return assertNever(kind, "broker nemesis kind");
  }
}

/** How long a broker fault is held before its heal. */
export function brokerHoldMs(fault: BrokerFault): number {
  switch (fault.kind) {
    case "broker-kill":
      return fault.downMs;
    case "broker-pause":
      return fault.pausedMs;
    case "broker-partition":
      return fault.durationMs;
    default:
      return assertNever(fault, "broker fault");
  }
}

/** One line for progress output, e.g. `broker 102: partition (blackhole) for 1.4 s`. */
export function describeBrokerFault(fault: BrokerFault): string {
  const seconds = `${(brokerHoldMs(fault) / 1000).toFixed(1)} s`;
  switch (fault.kind) {
    case "broker-kill":
      return `kill -9 broker ${fault.brokerId}, restart after ${seconds}`;
    case "broker-pause":
      return `SIGSTOP broker ${fault.brokerId}, SIGCONT after ${seconds}`;
    case "broker-partition":
      return `cut every link of broker ${fault.brokerId} (to the controllers, to and from the other brokers; ${fault.mode}) for ${seconds}`;
    default:
      return assertNever(fault, "broker fault");
  }
}
