import type { RaftConfig } from "../raft/config.js";
import type { RaftError } from "../raft/errors.js";
import { describeMembership } from "../raft/membership.js";
import { RaftNode } from "../raft/node.js";
import type { Entry, Membership, MembershipChange, Message, NodeId, Ready, RoleKind } from "../raft/types.js";
import { assert, assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";
import { createPrng } from "../shared/prng.js";
import type { Result } from "../shared/result.js";
import type { LogView } from "./checker.js";
import { Checker } from "./checker.js";
import { EventQueue } from "./eventQueue.js";
import type { KvCommand } from "./kv.js";
import { encodeCommand, KvStore } from "./kv.js";
import type { Link } from "./network.js";
import { copyMessage, Network } from "./network.js";
import type { SimParams } from "./params.js";
import { MemoryStorage } from "./storage.js";
import type { ClientEvent, ClientToken, WorkloadStats } from "./workload.js";
import { Workload } from "./workload.js";

/** Who waits for a proposal: a client, or the liveness phase's own probe write. */
type Proposer = { readonly kind: "client"; readonly token: ClientToken } | { readonly kind: "probe" };

interface PendingProposal {
  readonly term: number;
  readonly command: KvCommand;
  readonly proposer: Proposer;
}

interface PendingRead {
  readonly key: number;
  readonly versionRequired: number;
  readonly token: ClientToken;
}

type SimEvent =
  | { readonly kind: "tick"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "deliver"; readonly message: Message }
  | { readonly kind: "syncDone"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "pump"; readonly node: NodeId; readonly incarnation: number }
  | ClientEvent
  | { readonly kind: "fault" }
  | { readonly kind: "restart"; readonly node: NodeId }
  | { readonly kind: "healPartition"; readonly partitionId: number }
  | { readonly kind: "startLiveness" }
  | { readonly kind: "livenessCheck" }
  | { readonly kind: "livenessDeadline" }
  | { readonly kind: "convergenceDeadline" };

/** The per-node shell: the real RaftNode with its disk twin, its state machine and its Ready loop. */
class NodeHost {
  readonly storage = new MemoryStorage();
  alive = true;
  incarnation = 0;
  raft: RaftNode;
  kv = new KvStore();
  /** The Ready being persisted; the next one is taken only after `advance()`. */
  inFlight: Ready | undefined = undefined;
  inFlightSent = false;
  /** The shell's loop will look for the next Ready at a "pump" event already scheduled. */
  pumpScheduled = false;
  readonly pendingProposals = new Map<number, PendingProposal>();
  readonly pendingReads = new Map<number, PendingRead>();
  readonly confirmedReads: { readonly read: PendingRead; readonly readIndex: number }[] = [];
  // What the checker last saw of this node.
  role: RoleKind = "follower";
  term = 0;
  leaderId: NodeId = 0;
  commitIndex = 0;
  durableCommit = 0;
  /** This node's clock: simulated units per tick (clocks run at slightly different rates). */
  tickUnits = 1;
  /** The process is stopped (like SIGSTOP or a long GC pause) until this time; events for it wait. */
  pausedUntilUnits = 0;

  constructor(
    readonly id: NodeId,
    readonly initialMember: boolean,
    raft: RaftNode,
  ) {
    this.raft = raft;
  }
}

export interface ClusterOptions {
  readonly trace: boolean;
  readonly traceMessages: boolean;
}

export interface ClusterStats {
  events: number;
  messagesSent: number;
  messagesDelivered: number;
  leadersElected: number;
  crashes: number;
  pauses: number;
  /** Crashes that lost (part of) unsynced writes, and those that tore an append. */
  crashesLosingWrites: number;
  crashesTearing: number;
  partitions: number;
  membershipChanges: number;
  membershipChangesAccepted: number;
  transfers: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
  committedIndex: number;
  timeUnits: number;
}

/** The run ends by itself long before this; it only bounds the event loop (TIGER_STYLE: every loop is bounded). */
const eventsMax = 20_000_000;
/** Readys one input can cause back to back when none needs a disk write. */
const readyRoundsMax = 64;
const crashDowntimeElectionTimeoutsMax = 5;
const partitionElectionTimeoutsMax = 6;
const pauseElectionTimeoutsMax = 4;

/**
 * A whole simulated cluster: nodes, disks, network, clients and faults, all driven by one seed through
 * a discrete event queue. Time is simulated; nothing here reads a clock or sleeps. After every event the
 * checker sees what changed; the run stops at the first violation.
 */
export class Cluster {
  readonly checker = new Checker();
  readonly traceLines: string[] = [];
  readonly stats: ClusterStats = {
    events: 0,
    messagesSent: 0,
    messagesDelivered: 0,
    leadersElected: 0,
    crashes: 0,
    pauses: 0,
    crashesLosingWrites: 0,
    crashesTearing: 0,
    partitions: 0,
    membershipChanges: 0,
    membershipChangesAccepted: 0,
    transfers: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
    committedIndex: 0,
    timeUnits: 0,
  };
  livenessFailure: string | undefined = undefined;

  get workloadStats(): WorkloadStats {
    return { ...this.workload.stats };
  }

  private readonly queue = new EventQueue<SimEvent>();
  private readonly hosts = new Map<NodeId, NodeHost>();
  private readonly nodeIds: NodeId[] = [];
  private readonly network: Network;
  private readonly workload: Workload;
  private readonly bootstrap: Membership;
  private readonly raftPrng: Prng;
  private readonly diskPrng: Prng;
  private readonly faultPrng: Prng;
  private now = 0;
  private faultsActive = true;
  private done = false;
  private livenessStartUnits = 0;
  private probeCommittedUnits: number | undefined = undefined;
  private probeSeq = 0;
  private probeNode: NodeId = 0;
  /** ReadIndex request ids are unique across the run, so an answer never reaches the wrong read. */
  private readIdNext = 1;
  private readonly electionTimeoutUnits: number;

  constructor(
    seed: number,
    private readonly params: SimParams,
    private readonly options: ClusterOptions,
  ) {
    const master = createPrng(seed);
    this.raftPrng = createPrng(master.nextUint32());
    this.diskPrng = createPrng(master.nextUint32());
    this.faultPrng = createPrng(master.nextUint32());
    const networkPrng = createPrng(master.nextUint32());
    const clientPrng = createPrng(master.nextUint32());
    this.electionTimeoutUnits = params.electionTimeoutTicks * params.tickUnits;
    const { voterCount, learnerCount, spareCount } = params.shape;
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let id = 1; id <= voterCount + learnerCount + spareCount; id++) {
      this.nodeIds.push(id);
      if (id <= voterCount) voters.push(id);
      else if (id <= voterCount + learnerCount) learners.push(id);
    }
    this.bootstrap = { voters, learners };
    this.network = new Network(networkPrng, params.faultyNetwork);
    for (const id of this.nodeIds) {
      const initialMember = id <= voterCount + learnerCount;
      const host = new NodeHost(id, initialMember, this.newRaft(id, initialMember));
      host.tickUnits = this.drawTickUnits();
      this.hosts.set(id, host);
      this.schedule(this.diskPrng.intBetween(1, host.tickUnits), { kind: "tick", node: id, incarnation: 0 });
    }
    this.workload = new Workload(clientPrng, params, this.nodeIds, {
      schedule: (delayUnits, event) => this.schedule(delayUnits, event),
      propose: (node, command, token) => this.clientPropose(node, command, { kind: "client", token }),
      read: (node, key, versionRequired, token) => this.clientRead(node, key, versionRequired, token),
      trace: (text) => this.trace(0, text),
    });
  }

  /** Runs the fault phase, then the liveness phase, until it ends or a property breaks. */
  run(): void {
    this.trace(0, `cluster ${describeMembership(this.bootstrap)} spares=(${this.nodeIds.filter((id) => !this.hosts.get(id)?.initialMember).join(",")})`);
    this.workload.start();
    this.schedule(this.faultDelay(), { kind: "fault" });
    this.schedule(this.params.faultPhaseUnits, { kind: "startLiveness" });
    for (let i = 0; i < eventsMax && !this.done; i++) {
      const next = this.queue.pop();
      if (next === undefined) break;
      this.now = next.time;
      this.checker.now = next.time;
      this.stats.events++;
      try {
        this.dispatch(next.value);
      } catch (e) {
        // A failed assertion in the core (or here) is a bug found: report it like any violation.
        const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
        this.checker.fail(`exception while handling ${describeEvent(next.value)}: ${error}`);
        if (e instanceof Error && e.stack !== undefined && this.options.trace) this.trace(0, e.stack);
      }
      if (this.checker.failed) {
        this.trace(0, `VIOLATION ${this.checker.violations[0] ?? ""}`);
        break;
      }
    }
    assert(this.done || this.checker.failed, `the run must end by itself within ${eventsMax} events`);
    this.stats.timeUnits = this.now;
    this.stats.committedIndex = this.checker.committedIndex;
  }

  // ---------------------------------------------------------------- events

  private schedule(delayUnits: number, event: SimEvent): void {
    this.queue.push(this.now + delayUnits, event);
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case "tick": {
        const host = this.liveHost(event.node, event.incarnation);
        if (host === undefined) return;
        if (this.deferWhilePaused(host, event)) return;
        host.raft.tick();
        this.schedule(host.tickUnits, event);
        this.touch(host);
        return;
      }
      case "deliver":
        this.deliver(event.message);
        return;
      case "syncDone": {
        const host = this.liveHost(event.node, event.incarnation);
        if (host === undefined || this.deferWhilePaused(host, event)) return;
        const ready = host.inFlight;
        assert(ready !== undefined, `n${host.id} has a sync without a Ready`);
        if (this.faultsActive && this.faultPrng.chance(this.params.crashDuringSyncRate)) {
          // Power fails just before the fsync returns: the Ready's writes may be lost or torn.
          this.crashAndRestartLater(host);
          return;
        }
        this.completeReady(host, ready);
        this.touch(host);
        return;
      }
      case "pump": {
        const host = this.liveHost(event.node, event.incarnation);
        if (host === undefined || this.deferWhilePaused(host, event)) return;
        host.pumpScheduled = false;
        this.pump(host);
        this.observe(host);
        return;
      }
      case "clientStep":
      case "clientTimeout":
        this.workload.handle(event);
        return;
      case "fault":
        if (!this.faultsActive) return;
        if (this.faultPrng.chance(this.params.faultRate)) this.injectFault();
        this.schedule(this.faultDelay(), event);
        return;
      case "restart": {
        const host = this.hosts.get(event.node);
        if (host !== undefined && !host.alive) this.restart(host);
        return;
      }
      case "healPartition":
        this.network.heal(event.partitionId);
        this.trace(0, `partition ${event.partitionId} healed`);
        return;
      case "startLiveness":
        this.startLiveness();
        return;
      case "livenessCheck":
        this.livenessCheck();
        return;
      case "livenessDeadline":
        if (this.probeCommittedUnits === undefined) {
          this.livenessFailure = `no leader elected and write committed within ${this.params.livenessElectionTimeoutsMax} election timeouts of healing (${this.describeRoles()})`;
          this.trace(0, `LIVENESS FAILURE ${this.livenessFailure}`);
          this.done = true;
        }
        return;
      case "convergenceDeadline":
        if (!this.done) {
          this.checker.fail(`convergence: live members did not reach the same applied state within ${this.params.livenessElectionTimeoutsMax} election timeouts (${this.describeApplied()})`);
        }
        return;
      default:
        assertNever(event, "event");
    }
  }

  private liveHost(id: NodeId, incarnation: number): NodeHost | undefined {
    const host = this.hosts.get(id);
    return host !== undefined && host.alive && host.incarnation === incarnation ? host : undefined;
  }

  /** A stopped process handles nothing: its events wait, in order, until it resumes. */
  private deferWhilePaused(host: NodeHost, event: SimEvent): boolean {
    if (host.pausedUntilUnits <= this.now) return false;
    this.queue.push(host.pausedUntilUnits, event);
    return true;
  }

  private deliver(message: Message): void {
    const host = this.hosts.get(message.to);
    if (host === undefined || !host.alive || this.network.isBlocked(message.from, message.to)) return;
    if (this.deferWhilePaused(host, { kind: "deliver", message })) return;
    this.stats.messagesDelivered++;
    if (this.options.traceMessages) this.trace(host.id, `<- ${describeMessage(message)}`);
    host.raft.step(message);
    this.touch(host);
  }

  /** After any input: start the next Ready if the node is idle, then let the checker look at it. */
  private touch(host: NodeHost): void {
    if (this.params.readyDelayUnitsMax === 0) {
      this.pump(host);
    } else if (!host.pumpScheduled && host.alive) {
      // The shell's loop comes round after a while, so several inputs may land in one Ready.
      host.pumpScheduled = true;
      this.schedule(this.diskPrng.intBetween(0, this.params.readyDelayUnitsMax), { kind: "pump", node: host.id, incarnation: host.incarnation });
    }
    this.observe(host);
  }

  // ---------------------------------------------------------------- the Ready loop

  private pump(host: NodeHost): void {
    for (let round = 0; round < readyRoundsMax; round++) {
      if (!host.alive || host.inFlight !== undefined || !host.raft.hasReady()) return;
      const ready = host.raft.ready();
      const first = ready.entries[0];
      if (first !== undefined) this.checker.entriesAppended(host.id, ready.entries, host.raft.termAt(first.index - 1));
      if (ready.snapshot !== undefined) host.storage.saveSnapshot(ready.snapshot);
      if (ready.entries.length > 0) host.storage.append(ready.entries);
      if (ready.hardState !== undefined) host.storage.setHardState(ready.hardState);
      host.inFlight = ready;
      host.inFlightSent = false;
      if (!host.storage.hasUnsynced()) {
        // Nothing to make durable: send and apply at once.
        this.completeReady(host, ready);
        continue;
      }
      if (ready.sendBeforePersist) {
        this.send(ready.messages);
        host.inFlightSent = true;
      }
      const delayUnits = this.diskPrng.intBetween(this.params.diskDelayUnitsMin, this.params.diskDelayUnitsMax);
      this.schedule(delayUnits, { kind: "syncDone", node: host.id, incarnation: host.incarnation });
      return;
    }
  }

  /** The Ready's writes are durable: send, apply, serve reads, advance (the order of the Ready contract). */
  private completeReady(host: NodeHost, ready: Ready): void {
    host.storage.sync();
    this.checkDurableCommit(host);
    if (!host.inFlightSent) this.send(ready.messages);
    if (ready.snapshot !== undefined) {
      const meta = ready.snapshot.meta;
      host.kv = KvStore.decode(ready.snapshot.data, meta.index);
      this.stats.snapshotsInstalled++;
      this.trace(host.id, `installed snapshot at ${meta.index} term ${meta.term} ${describeMembership(meta.membership)}`);
      this.checker.snapshotRestored(host.id, meta.index, meta.term, host.kv.stateHash);
      this.settleProposalsUpTo(host, meta.index);
    }
    for (const entry of ready.committedEntries) {
      if (this.checker.failed) return;
      this.applyEntry(host, entry);
    }
    for (const readState of ready.readStates) {
      const read = host.pendingReads.get(readState.requestId);
      if (read === undefined) continue; // Asked for by an earlier incarnation of this node.
      host.pendingReads.delete(readState.requestId);
      host.confirmedReads.push({ read, readIndex: readState.readIndex });
    }
    this.serveReads(host);
    host.inFlight = undefined;
    host.raft.advance();
    this.maybeCompact(host);
  }

  private applyEntry(host: NodeHost, entry: Entry): void {
    const index = entry.index;
    const appliedBefore = host.kv.appliedIndex;
    const write = host.kv.apply(entry);
    this.checker.applied(host.id, host.raft.status().term, appliedBefore, entry, host.kv.stateHash);
    const pending = host.pendingProposals.get(index);
    if (pending === undefined) return;
    host.pendingProposals.delete(index);
    if (entry.term !== pending.term) {
      this.trace(host.id, `proposal at ${index} term ${pending.term} lost (entry of term ${entry.term} applied)`);
      this.proposalLost(pending);
      return;
    }
    // Same index and term as the accepted proposal: by log matching it is the same entry.
    const command = write?.command;
    if (command === undefined || command.clientId !== pending.command.clientId || command.requestId !== pending.command.requestId) {
      this.checker.fail(`acknowledgement: n${host.id} applied a different entry at ${index} term ${entry.term} than it accepted`);
      return;
    }
    const proposer = pending.proposer;
    if (proposer.kind === "probe") {
      this.probeCommittedUnits = this.now;
      this.trace(host.id, `liveness write committed at ${index} term ${entry.term}, ${this.now - this.livenessStartUnits}u after healing`);
      this.schedule(this.params.livenessElectionTimeoutsMax * this.electionTimeoutUnits, { kind: "convergenceDeadline" });
      return;
    }
    this.trace(host.id, `ack c${command.clientId}#${command.requestId} k${command.key}=${command.value} v${write?.version ?? 0} at ${index}`);
    this.workload.writeAcknowledged(proposer.token, command.key, write?.version ?? 0);
  }

  private settleProposalsUpTo(host: NodeHost, index: number): void {
    for (const [at, pending] of host.pendingProposals) {
      if (at > index) continue;
      // The entry went into a snapshot: whether it was ours is unknown, so the client gives up on it.
      host.pendingProposals.delete(at);
      this.proposalLost(pending);
    }
  }

  private proposalLost(pending: PendingProposal): void {
    if (pending.proposer.kind === "client") this.workload.writeLost(pending.proposer.token);
  }

  private serveReads(host: NodeHost): void {
    const waiting = host.confirmedReads;
    let kept = 0;
    for (const item of waiting) {
      if (item.readIndex > host.kv.appliedIndex) {
        waiting[kept++] = item;
        continue;
      }
      const version = host.kv.version(item.read.key);
      this.trace(host.id, `read k${item.read.key} v${version} (required v${item.read.versionRequired}) at read index ${item.readIndex}`);
      this.checker.readServed(host.id, item.read.key, version, item.read.versionRequired);
      this.workload.readServed(item.read.token);
    }
    waiting.length = kept;
  }

  /** Applications snapshot their own state once enough entries have been applied past the last snapshot. */
  private maybeCompact(host: NodeHost): void {
    const applied = host.kv.appliedIndex;
    const snapshotIndex = host.raft.snapshot().meta.index;
    if (applied - snapshotIndex <= this.params.snapshotEntriesThreshold) return;
    this.observe(host); // Record commits before the entries leave memory.
    const result = host.raft.compact(applied, host.kv.encode());
    if (!result.ok) {
      this.trace(host.id, `compaction to ${applied} refused: ${describeError(result.error)}`);
      return;
    }
    // The node and its disk compact in the same event, so no crash can fall between them.
    host.storage.compact(host.raft.snapshot());
    this.stats.snapshotsTaken++;
    this.trace(host.id, `snapshot taken at ${applied}`);
  }

  private send(messages: readonly Message[]): void {
    for (const m of messages) {
      this.stats.messagesSent++;
      const delays = this.network.route();
      if (this.options.traceMessages) this.trace(m.from, `-> ${describeMessage(m)}${delays.length === 0 ? " (dropped)" : delays.length > 1 ? " (duplicated)" : ""}`);
      for (const delayUnits of delays) this.schedule(delayUnits, { kind: "deliver", message: copyMessage(m) });
    }
  }

  private checkDurableCommit(host: NodeHost): void {
    const durable = host.storage.durableHardState().commitIndex;
    this.checker.persistedCommit(host.id, host.durableCommit, durable);
    host.durableCommit = Math.max(host.durableCommit, durable);
  }

  // ---------------------------------------------------------------- observation

  private observe(host: NodeHost): void {
    if (!host.alive) return;
    const status = host.raft.status();
    if (status.commitIndex !== host.commitIndex) {
      this.checker.commitAdvanced(host.id, status.term, host.commitIndex, status.commitIndex, logView(host.raft));
      this.trace(host.id, `commit ${host.commitIndex} -> ${status.commitIndex}`);
      host.commitIndex = status.commitIndex;
    }
    if (status.role === host.role && status.term === host.term && status.leaderId === host.leaderId) return;
    const newLeader = status.role === "leader" && (host.role !== "leader" || host.term !== status.term);
    host.role = status.role;
    host.term = status.term;
    host.leaderId = status.leaderId;
    if (newLeader) {
      this.stats.leadersElected++;
      this.trace(host.id, `became LEADER of term ${status.term} (last index ${status.lastIndex}, commit ${status.commitIndex}) ${describeMembership(status.membership)}`);
      this.checker.leaderElected(host.id, status.term, logView(host.raft));
    } else {
      this.trace(host.id, `${status.role} term ${status.term} leader ${status.leaderId}`);
    }
  }

  // ---------------------------------------------------------------- client entry points

  private clientPropose(node: NodeId, command: KvCommand, proposer: Proposer): Result<{ index: number; term: number }, RaftError> | "down" {
    const host = this.hosts.get(node);
    if (host === undefined || !host.alive || host.pausedUntilUnits > this.now) return "down";
    const result = host.raft.propose(encodeCommand(command));
    if (result.ok) {
      host.pendingProposals.set(result.value.index, { term: result.value.term, command, proposer });
      this.trace(host.id, `proposed c${command.clientId}#${command.requestId} k${command.key}=${command.value} at ${result.value.index} term ${result.value.term}`);
    }
    this.touch(host);
    return result;
  }

  private clientRead(node: NodeId, key: number, versionRequired: number, token: ClientToken): Result<void, RaftError> | "down" {
    const host = this.hosts.get(node);
    if (host === undefined || !host.alive || host.pausedUntilUnits > this.now) return "down";
    const readId = this.readIdNext++;
    const result = host.raft.readIndex(readId);
    if (result.ok) {
      host.pendingReads.set(readId, { key, versionRequired, token });
      this.trace(host.id, `read #${readId} k${key} requested (c${token.clientId})`);
    }
    this.touch(host);
    return result;
  }

  // ---------------------------------------------------------------- faults

  private faultDelay(): number {
    return this.faultPrng.intBetween(this.params.faultIntervalUnitsMin, this.params.faultIntervalUnitsMax);
  }

  private injectFault(): void {
    const roll = this.faultPrng.int(100);
    if (roll < 25) this.crashSome();
    else if (roll < 35) this.pauseOne();
    else if (roll < 60) this.partitionSome();
    else if (roll < 82) this.changeMembership();
    else this.transferLeadership();
  }

  private leader(): NodeHost | undefined {
    let best: NodeHost | undefined;
    for (const host of this.hosts.values()) {
      if (!host.alive || host.role !== "leader") continue;
      if (best === undefined || host.term > best.term) best = host;
    }
    return best;
  }

  private liveHosts(): NodeHost[] {
    return [...this.hosts.values()].filter((h) => h.alive);
  }

  private crashSome(): void {
    const live = this.liveHosts();
    if (live.length === 0) return;
    const leader = this.leader();
    const victims = new Set<NodeHost>();
    victims.add(leader !== undefined && this.faultPrng.chance(0.5) ? leader : this.faultPrng.pick(live));
    if (this.faultPrng.chance(0.25)) victims.add(this.faultPrng.pick(live));
    if (this.faultPrng.chance(0.05)) for (const h of live) victims.add(h);
    for (const host of victims) this.crashAndRestartLater(host);
  }

  /** Stops a process (often the leader) for a while; it resumes with its state and a stale view of time. */
  private pauseOne(): void {
    const live = this.liveHosts().filter((h) => h.pausedUntilUnits <= this.now);
    if (live.length === 0) return;
    const leader = this.leader();
    const host = leader !== undefined && leader.pausedUntilUnits <= this.now && this.faultPrng.chance(0.7) ? leader : this.faultPrng.pick(live);
    host.pausedUntilUnits = this.now + this.faultPrng.intBetween(1, pauseElectionTimeoutsMax * this.electionTimeoutUnits);
    this.stats.pauses++;
    this.trace(host.id, `PAUSE (${host.role} term ${host.term}) until ${host.pausedUntilUnits}`);
    if (this.faultPrng.chance(0.5)) {
      // A frozen VM often loses its network too, and wakes up still cut off: its own clock says its
      // leader lease is fresh while the others may have elected a new leader (the case ReadIndex guards).
      const links: Link[] = [];
      for (const other of this.nodeIds) if (other !== host.id) links.push({ from: host.id, to: other }, { from: other, to: host.id });
      const id = this.network.partition(links);
      this.stats.partitions++;
      this.trace(0, `PARTITION ${id}: isolate paused n${host.id}`);
      const healUnits = host.pausedUntilUnits - this.now + this.faultPrng.intBetween(1, 2 * this.electionTimeoutUnits);
      this.schedule(healUnits, { kind: "healPartition", partitionId: id });
    }
  }

  private drawTickUnits(): number {
    const skew = this.params.clockSkewRate * (2 * this.diskPrng.float() - 1);
    return Math.max(1, Math.round(this.params.tickUnits * (1 + skew)));
  }

  private crashAndRestartLater(host: NodeHost): void {
    this.crash(host);
    const downUnits = this.faultPrng.intBetween(1, crashDowntimeElectionTimeoutsMax * this.electionTimeoutUnits);
    this.schedule(downUnits, { kind: "restart", node: host.id });
  }

  private crash(host: NodeHost): void {
    const outcome = host.storage.crash(this.diskPrng);
    this.stats.crashes++;
    if (outcome.survivedCount < outcome.pendingCount) this.stats.crashesLosingWrites++;
    if (outcome.tornEntriesKept !== undefined) this.stats.crashesTearing++;
    const torn = outcome.tornEntriesKept === undefined ? "" : `, last torn to ${outcome.tornEntriesKept} entries`;
    this.trace(host.id, `CRASH (${host.role} term ${host.term}); ${outcome.survivedCount}/${outcome.pendingCount} unsynced writes survived${torn}`);
    host.alive = false;
    host.inFlight = undefined;
    host.pumpScheduled = false;
    host.pendingProposals.clear();
    host.pendingReads.clear();
    host.confirmedReads.length = 0;
    this.checkDurableCommit(host);
  }

  private restart(host: NodeHost): void {
    const initial = host.storage.load();
    host.incarnation++;
    host.alive = true;
    host.pausedUntilUnits = 0;
    host.tickUnits = this.drawTickUnits();
    host.raft = this.newRaft(host.id, host.initialMember, initial);
    const snapshot = initial.snapshot;
    host.kv = snapshot === undefined ? new KvStore() : KvStore.decode(snapshot.data, snapshot.meta.index);
    const status = host.raft.status();
    host.role = status.role;
    host.term = status.term;
    host.leaderId = status.leaderId;
    host.commitIndex = status.commitIndex;
    this.trace(host.id, `RESTART term ${status.term} vote ${status.votedFor} commit ${status.commitIndex} last ${status.lastIndex} snapshot ${status.snapshotIndex}`);
    if (snapshot !== undefined) this.checker.snapshotRestored(host.id, snapshot.meta.index, snapshot.meta.term, host.kv.stateHash);
    // What the node believes committed after a restart must still be what was committed.
    this.checker.commitAdvanced(host.id, status.term, status.snapshotIndex, status.commitIndex, logView(host.raft));
    this.schedule(this.diskPrng.intBetween(1, host.tickUnits), { kind: "tick", node: host.id, incarnation: host.incarnation });
    this.touch(host);
  }

  private partitionSome(): void {
    const ids = this.nodeIds;
    const links: Link[] = [];
    const roll = this.faultPrng.int(3);
    let what: string;
    if (roll === 0) {
      // Cut one node (often the leader) off from everyone, both ways.
      const leader = this.leader();
      const isolated = leader !== undefined && this.faultPrng.chance(0.6) ? leader.id : this.faultPrng.pick(ids);
      for (const other of ids) if (other !== isolated) links.push({ from: isolated, to: other }, { from: other, to: isolated });
      what = `isolate n${isolated}`;
    } else if (roll === 1) {
      const side = ids.filter(() => this.faultPrng.chance(0.5));
      const rest = ids.filter((id) => !side.includes(id));
      for (const a of side) for (const b of rest) links.push({ from: a, to: b }, { from: b, to: a });
      what = `split (${side.join(",")}) | (${rest.join(",")})`;
    } else {
      // Asymmetric: one node can no longer reach some peers (or they it), the other direction still works.
      const node = this.faultPrng.pick(ids);
      const outbound = this.faultPrng.chance(0.5);
      const peers = ids.filter((id) => id !== node && this.faultPrng.chance(0.6));
      for (const peer of peers) links.push(outbound ? { from: node, to: peer } : { from: peer, to: node });
      what = `one-way ${outbound ? `n${node} -/-> (${peers.join(",")})` : `(${peers.join(",")}) -/-> n${node}`}`;
    }
    if (links.length === 0) return;
    const id = this.network.partition(links);
    this.stats.partitions++;
    this.trace(0, `PARTITION ${id}: ${what}`);
    this.schedule(this.faultPrng.intBetween(this.params.tickUnits, partitionElectionTimeoutsMax * this.electionTimeoutUnits), { kind: "healPartition", partitionId: id });
  }

  private changeMembership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const membership = leader.raft.membership();
    const voters = membership.voters;
    const learners = membership.learners;
    const outsiders = this.nodeIds.filter((id) => !voters.includes(id) && !learners.includes(id));
    const options: MembershipChange[] = [];
    for (const id of outsiders) options.push({ kind: "addLearner", nodeId: id });
    for (const id of learners) options.push({ kind: "addVoter", nodeId: id }, { kind: "removeNode", nodeId: id });
    // Keep at least three voters so the cluster still tolerates a failure.
    if (voters.length > 3) for (const id of voters) options.push({ kind: "removeNode", nodeId: id }, { kind: "addLearner", nodeId: id });
    if (options.length === 0) return;
    const change = this.faultPrng.pick(options);
    const result = leader.raft.proposeMembershipChange(change);
    this.stats.membershipChanges++;
    if (result.ok) this.stats.membershipChangesAccepted++;
    const outcome = result.ok ? `proposed at ${result.value.index}` : `refused: ${describeError(result.error)}`;
    this.trace(leader.id, `membership ${change.kind} n${change.nodeId} ${outcome}`);
    this.touch(leader);
  }

  private transferLeadership(): void {
    const leader = this.leader();
    if (leader === undefined) return;
    const others = leader.raft.membership().voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const target = this.faultPrng.pick(others);
    const result = leader.raft.transferLeadership(target);
    this.stats.transfers++;
    this.trace(leader.id, `transfer leadership to n${target} ${result.ok ? "started" : `refused: ${describeError(result.error)}`}`);
    this.touch(leader);
  }

  // ---------------------------------------------------------------- liveness

  /** Heal everything, then require a leader and a new committed write within a bound. */
  private startLiveness(): void {
    this.faultsActive = false;
    this.workload.active = false;
    this.network.healAll();
    this.network.setFaults(this.params.calmNetwork);
    this.livenessStartUnits = this.now;
    this.trace(0, "LIVENESS phase: partitions healed, network calm, crashed nodes restarting");
    for (const host of this.hosts.values()) {
      if (!host.alive) this.restart(host);
      host.pausedUntilUnits = Math.min(host.pausedUntilUnits, this.now);
    }
    this.schedule(this.params.livenessElectionTimeoutsMax * this.electionTimeoutUnits, { kind: "livenessDeadline" });
    this.schedule(this.params.tickUnits, { kind: "livenessCheck" });
  }

  private livenessCheck(): void {
    this.schedule(this.params.tickUnits, { kind: "livenessCheck" });
    const leader = this.leader();
    if (this.probeCommittedUnits === undefined) {
      if (leader === undefined) return;
      const pendingOnLeader = this.probeNode === leader.id && [...leader.pendingProposals.values()].some((p) => p.proposer.kind === "probe");
      if (pendingOnLeader) return;
      const command: KvCommand = { clientId: 0, requestId: ++this.probeSeq, key: 0, value: this.probeSeq };
      const result = this.clientPropose(leader.id, command, { kind: "probe" });
      if (result !== "down" && result.ok) this.probeNode = leader.id;
      return;
    }
    if (leader !== undefined && this.converged(leader)) {
      this.trace(0, `converged: ${this.describeApplied()}`);
      this.done = true;
    }
  }

  /** Every member is alive and has applied exactly the leader's committed log, with the same state. */
  private converged(leader: NodeHost): boolean {
    const membership = leader.raft.membership();
    const commitIndex = leader.raft.status().commitIndex;
    for (const id of [...membership.voters, ...membership.learners]) {
      const host = this.hosts.get(id);
      if (host === undefined || !host.alive || host.kv.appliedIndex !== commitIndex || host.kv.stateHash !== leader.kv.stateHash) return false;
    }
    return leader.kv.appliedIndex === commitIndex;
  }

  // ---------------------------------------------------------------- helpers

  private newRaft(id: NodeId, initialMember: boolean, initial = new MemoryStorage().load()): RaftNode {
    const p = this.params;
    const config: RaftConfig = {
      id,
      electionTimeoutTicks: p.electionTimeoutTicks,
      heartbeatIntervalTicks: p.heartbeatIntervalTicks,
      prng: createPrng(this.raftPrng.nextUint32()),
      appendEntriesCountMax: p.appendEntriesCountMax,
      inflightMessagesMax: p.inflightMessagesMax,
      snapshotChunkBytesMax: p.snapshotChunkBytesMax,
      uncommittedBytesMax: p.uncommittedBytesMax,
      // Nodes that join later start empty and learn the membership from the leader.
      ...(initialMember ? { bootstrapMembership: this.bootstrap } : {}),
    };
    return new RaftNode(config, initial);
  }

  private trace(node: NodeId, text: string): void {
    if (!this.options.trace) return;
    this.traceLines.push(`${String(this.now).padStart(7, " ")} ${node === 0 ? "--" : `n${node}`} ${text}`);
  }

  private describeRoles(): string {
    return [...this.hosts.values()]
      .map((h) => (h.alive ? `n${h.id}:${h.role}@${h.term}` : `n${h.id}:down`))
      .join(" ");
  }

  private describeApplied(): string {
    return [...this.hosts.values()]
      .map((h) => `n${h.id}:${h.alive ? `applied=${h.kv.appliedIndex}/commit=${h.raft.status().commitIndex}` : "down"}`)
      .join(" ");
  }
}

function logView(raft: RaftNode): LogView {
  const snapshot = raft.snapshot();
  return {
    snapshotIndex: snapshot.meta.index,
    snapshotTerm: snapshot.meta.term,
    termAt: (index) => raft.termAt(index),
    entryAt: (index) => raft.entryAt(index),
  };
}

function describeError(error: RaftError): string {
  const { code, ...rest } = error;
  const details = Object.entries(rest).map(([k, v]) => `${k}=${String(v)}`);
  return details.length === 0 ? code : `${code} ${details.join(" ")}`;
}

function describeEvent(event: SimEvent): string {
  switch (event.kind) {
    case "deliver":
      return `delivery ${describeMessage(event.message)}`;
    case "tick":
    case "syncDone":
    case "pump":
      return `${event.kind} of n${event.node}`;
    default:
      return event.kind;
  }
}

/** One line per message, for traces. */
export function describeMessage(m: Message): string {
  const head = `${m.type} n${m.from}->n${m.to} t${m.term}`;
  switch (m.type) {
    case "AppendEntries": {
      const first = m.entries[0];
      const last = m.entries[m.entries.length - 1];
      const range = first === undefined || last === undefined ? "none" : `${first.index}..${last.index}`;
      return `${head} prev=${m.prevLogIndex}/${m.prevLogTerm} entries=${range} commit=${m.leaderCommit}`;
    }
    case "AppendEntriesResponse":
      return `${head} ${m.success ? `ok match=${m.matchIndex}` : `reject ${m.rejectedIndex} hint=${m.hintIndex}/${m.hintTerm}`}`;
    case "Heartbeat":
      return `${head} commit=${m.leaderCommit} round=${m.readRound}`;
    case "HeartbeatResponse":
      return `${head} round=${m.readRound}`;
    case "RequestVote":
    case "PreVote":
      return `${head} last=${m.lastLogIndex}/${m.lastLogTerm}${m.type === "RequestVote" && m.transfer ? " transfer" : ""}`;
    case "RequestVoteResponse":
    case "PreVoteResponse":
      return `${head} ${m.granted ? "granted" : "refused"}`;
    case "InstallSnapshot":
      return `${head} snap=${m.meta.index}/${m.meta.term} bytes ${m.offset}+${m.chunk.length}/${m.totalBytes}${m.done ? " done" : ""}`;
    case "InstallSnapshotResponse":
      return `${head} snap=${m.snapshotIndex} received=${m.bytesReceived}${m.installed ? " installed" : ""}`;
    case "TimeoutNow":
      return head;
    case "ReadIndexRequest":
      return `${head} read #${m.requestId}`;
    case "ReadIndexResponse":
      return `${head} read #${m.requestId} index=${m.readIndex}`;
    default:
      return assertNever(m, "message");
  }
}
