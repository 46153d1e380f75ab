import type { NodeId } from "../raft/types.js";
import { assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";
import type { AdminPort, AdminStats } from "./admin.js";
import { changeMembership, transferLeadership } from "./admin.js";
import type { Link, Network } from "./network.js";
import type { NodeHost } from "./nodeHost.js";
import type { SimParams } from "./params.js";

export type FaultEvent =
  | { readonly kind: "fault" }
  | { readonly kind: "restart"; readonly node: NodeId }
  | { readonly kind: "healPartition"; readonly partitionId: number };

/** The counters fault injection adds to (they are part of the cluster's stats). */
export interface FaultStats extends AdminStats {
  pauses: number;
  partitions: number;
}

/** What faults act on. The cluster performs crashes and restarts, as they change the node's shell. */
export interface FaultPort extends AdminPort {
  readonly stats: FaultStats;
  readonly network: Network;
  nowUnits(): number;
  host(id: NodeId): NodeHost | undefined;
  liveHosts(): NodeHost[];
  schedule(delayUnits: number, event: FaultEvent): void;
  /** Kills the process: unsynced writes may be lost or torn, in-memory state is gone. */
  crash(host: NodeHost): void;
  /** Starts a new incarnation of the process from what its disk kept. */
  restart(host: NodeHost): void;
}

const crashDowntimeElectionTimeoutsMax = 5;
const partitionElectionTimeoutsMax = 6;
const pauseElectionTimeoutsMax = 4;

/**
 * The fault phase's adversary: at random intervals it crashes, pauses or partitions nodes, or plays an
 * operator changing the membership or moving leadership. Its choices are drawn from the fault stream
 * only (what a crash does to the disk is drawn by the cluster from the disk stream), in a fixed order, so
 * a seed replays exactly. Once stopped (the liveness phase) it injects nothing new, but crashed nodes
 * still come back through their "restart" events.
 */
export class FaultInjector {
  private active = true;
  private readonly electionTimeoutUnits: number;

  constructor(
    private readonly prng: Prng,
    private readonly params: SimParams,
    private readonly port: FaultPort,
  ) {
    this.electionTimeoutUnits = params.electionTimeoutTicks * params.tickUnits;
  }

  start(): void {
    this.port.schedule(this.faultDelayUnits(), { kind: "fault" });
  }

  stop(): void {
    this.active = false;
  }

  handle(event: FaultEvent): void {
    switch (event.kind) {
      case "fault":
        if (!this.active) return;
        if (this.prng.chance(this.params.faultRate)) this.injectOne();
        this.port.schedule(this.faultDelayUnits(), event);
        return;
      case "restart": {
        const host = this.port.host(event.node);
        if (host !== undefined && !host.alive) this.port.restart(host);
        return;
      }
      case "healPartition":
        this.port.network.heal(event.partitionId);
        this.port.trace(0, `partition ${event.partitionId} healed`);
        return;
      default:
        assertNever(event, "fault event");
    }
  }

  /**
   * Called as a node's fsync is about to return: power may fail just before, so the Ready's writes may
   * be lost or torn. Returns whether the node crashed (then the Ready must not complete).
   */
  crashesBeforeSync(host: NodeHost): boolean {
    if (!this.active || !this.prng.chance(this.params.crashDuringSyncRate)) return false;
    this.crashAndRestartLater(host);
    return true;
  }

  private faultDelayUnits(): number {
    return this.prng.intBetween(this.params.faultIntervalUnitsMin, this.params.faultIntervalUnitsMax);
  }

  private injectOne(): void {
    const roll = this.prng.int(100);
    if (roll < 25) this.crashSome();
    else if (roll < 35) this.pauseOne();
    else if (roll < 60) this.partitionSome();
    else if (roll < 82) changeMembership(this.port, this.prng);
    else transferLeadership(this.port, this.prng);
  }

  /** Usually one node (the leader half the time), sometimes two, rarely all of them at once. */
  private crashSome(): void {
    const live = this.port.liveHosts();
    if (live.length === 0) return;
    const leader = this.port.leader();
    const victims = new Set<NodeHost>();
    victims.add(leader !== undefined && this.prng.chance(0.5) ? leader : this.prng.pick(live));
    if (this.prng.chance(0.25)) victims.add(this.prng.pick(live));
    if (this.prng.chance(0.05)) for (const h of live) victims.add(h);
    for (const host of victims) this.crashAndRestartLater(host);
  }

  private crashAndRestartLater(host: NodeHost): void {
    this.port.crash(host);
    const downUnits = this.prng.intBetween(1, crashDowntimeElectionTimeoutsMax * this.electionTimeoutUnits);
    this.port.schedule(downUnits, { kind: "restart", node: host.id });
  }

  /** Stops a process (often the leader) for a while; it resumes with its state and a stale view of time. */
  private pauseOne(): void {
    const now = this.port.nowUnits();
    const live = this.port.liveHosts().filter((h) => h.pausedUntilUnits <= now);
    if (live.length === 0) return;
    const leader = this.port.leader();
    const host = leader !== undefined && leader.pausedUntilUnits <= now && this.prng.chance(0.7) ? leader : this.prng.pick(live);
    host.pausedUntilUnits = now + this.prng.intBetween(1, pauseElectionTimeoutsMax * this.electionTimeoutUnits);
    this.port.stats.pauses++;
    this.port.trace(host.id, `PAUSE (${host.role} term ${host.term}) until ${host.pausedUntilUnits}`);
    // A frozen VM often loses its network too, and wakes up still cut off: its own clock says its
    // leader lease is fresh while the others may have elected a new leader (the case ReadIndex guards).
    if (this.prng.chance(0.5)) this.isolatePaused(host);
  }

  /** Cuts a paused node off until a while after it resumes. */
  private isolatePaused(host: NodeHost): void {
    const id = this.port.network.partition(isolationLinks(host.id, this.port.nodeIds));
    this.port.stats.partitions++;
    this.port.trace(0, `PARTITION ${id}: isolate paused n${host.id}`);
    const healUnits = host.pausedUntilUnits - this.port.nowUnits() + this.prng.intBetween(1, 2 * this.electionTimeoutUnits);
    this.port.schedule(healUnits, { kind: "healPartition", partitionId: id });
  }

  /** One of three shapes: an isolated node, a split in two sides, or a one-way cut. */
  private partitionSome(): void {
    const roll = this.prng.int(3);
    const cut = roll === 0 ? this.isolateOne() : roll === 1 ? this.splitInTwo() : this.cutOneWay();
    if (cut.links.length === 0) return;
    const id = this.port.network.partition(cut.links);
    this.port.stats.partitions++;
    this.port.trace(0, `PARTITION ${id}: ${cut.what}`);
    const healUnits = this.prng.intBetween(this.params.tickUnits, partitionElectionTimeoutsMax * this.electionTimeoutUnits);
    this.port.schedule(healUnits, { kind: "healPartition", partitionId: id });
  }

  /** Cuts one node (often the leader) off from everyone, both ways. */
  private isolateOne(): Cut {
    const leader = this.port.leader();
    const isolated = leader !== undefined && this.prng.chance(0.6) ? leader.id : this.prng.pick(this.port.nodeIds);
    return { links: isolationLinks(isolated, this.port.nodeIds), what: `isolate n${isolated}` };
  }

  private splitInTwo(): Cut {
    const ids = this.port.nodeIds;
    const side = ids.filter(() => this.prng.chance(0.5));
    const rest = ids.filter((id) => !side.includes(id));
    const links: Link[] = [];
    for (const a of side) for (const b of rest) links.push({ from: a, to: b }, { from: b, to: a });
    return { links, what: `split (${side.join(",")}) | (${rest.join(",")})` };
  }

  /** One node can no longer reach some peers (or they it); the other direction still works. */
  private cutOneWay(): Cut {
    const ids = this.port.nodeIds;
    const node = this.prng.pick(ids);
    const outbound = this.prng.chance(0.5);
    const peers = ids.filter((id) => id !== node && this.prng.chance(0.6));
    const links = peers.map((peer): Link => (outbound ? { from: node, to: peer } : { from: peer, to: node }));
    return { links, what: `one-way ${outbound ? `n${node} -/-> (${peers.join(",")})` : `(${peers.join(",")}) -/-> n${node}`}` };
  }
}

/** The links a partition blocks, and how the trace names it. */
interface Cut {
  readonly links: readonly Link[];
  readonly what: string;
}

/** Both directions between `node` and every other node. */
function isolationLinks(node: NodeId, nodeIds: readonly NodeId[]): Link[] {
  const links: Link[] = [];
  for (const other of nodeIds) if (other !== node) links.push({ from: node, to: other }, { from: other, to: node });
  return links;
}
