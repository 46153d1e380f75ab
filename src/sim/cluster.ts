import type { RaftConfig } from "../raft/config.js";
import type { RaftError } from "../raft/errors.js";
import { describeMembership } from "../raft/membership.js";
import { RaftNode } from "../raft/node.js";
import type { Entry, Membership, Message, NodeId, ReadState, Ready, Snapshot } from "../raft/types.js";
import { assert, assertNever } from "../shared/assert.js";
import type { Prng } from "../shared/prng.js";
import { createPrng } from "../shared/prng.js";
import type { Result } from "../shared/result.js";
import type { LogView } from "./checker.js";
import { Checker } from "./checker.js";
import { describeError, describeMessage } from "./describe.js";
import { EventQueue } from "./eventQueue.js";
import type { FaultEvent, FaultPort } from "./faults.js";
import { FaultInjector } from "./faults.js";
import type { KvCommand } from "./kv.js";
import { encodeCommand, KvStore } from "./kv.js";
import { copyMessage, Network } from "./network.js";
import type { PendingProposal, Proposer } from "./nodeHost.js";
import { NodeHost } from "./nodeHost.js";
import type { SimParams } from "./params.js";
import { MemoryStorage } from "./storage.js";
import type { ClientEvent, ClientToken, WorkloadStats } from "./workload.js";
import { Workload } from "./workload.js";

type SimEvent =
  | { readonly kind: "tick"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "deliver"; readonly message: Message }
  | { readonly kind: "syncDone"; readonly node: NodeId; readonly incarnation: number }
  | { readonly kind: "pump"; readonly node: NodeId; readonly incarnation: number }
  /** The transport's hint that the connection to `peer` broke (the peer crashed, or a false alarm). */
  | { readonly kind: "peerUnreachable"; readonly node: NodeId; readonly incarnation: number; readonly peer: NodeId }
  | ClientEvent
  | FaultEvent
  | { readonly kind: "startLiveness" }
  | { readonly kind: "livenessCheck" }
  | { readonly kind: "livenessDeadline" }
  | { readonly kind: "convergenceDeadline" };

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
/** Chance per tick that a node hears of a broken connection to a live peer (a false alarm). */
const falseAlarmChancePerTick = 0.002;

/**
 * A whole simulated cluster: nodes, disks, network, clients and faults, all driven by one seed through
 * a discrete event queue. Time is simulated; nothing here reads a clock or sleeps. After every event the
 * checker sees what changed; the run stops at the first violation. Faults and admin actions are chosen
 * by the FaultInjector; this class runs each node's shell and the liveness phase.
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
  private readonly faults: FaultInjector;
  private readonly bootstrap: Membership;
  private readonly raftPrng: Prng;
  private readonly diskPrng: Prng;
  private readonly hintPrng: Prng;
  private now = 0;
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
    // One stream per concern, drawn in this fixed order, so each seed replays exactly.
    const master = createPrng(seed);
    this.raftPrng = createPrng(master.nextUint32());
    this.diskPrng = createPrng(master.nextUint32());
    const faultPrng = createPrng(master.nextUint32());
    const networkPrng = createPrng(master.nextUint32());
    const clientPrng = createPrng(master.nextUint32());
    this.hintPrng = createPrng(master.nextUint32());
    this.electionTimeoutUnits = params.electionTimeoutTicks * params.tickUnits;
    this.bootstrap = this.assignNodeIds();
    this.network = new Network(networkPrng, params.faultyNetwork);
    this.startNodes();
    this.workload = new Workload(clientPrng, params, this.nodeIds, {
      schedule: (delayUnits, event) => this.schedule(delayUnits, event),
      propose: (node, command, token) => this.clientPropose(node, command, { kind: "client", token }),
      read: (node, key, versionRequired, token) => this.clientRead(node, key, versionRequired, token),
      trace: (text) => this.trace(0, text),
    });
    this.faults = new FaultInjector(faultPrng, params, this.faultPort());
  }

  /** Runs the fault phase, then the liveness phase, until it ends or a property breaks. */
  run(): void {
    this.trace(0, `cluster ${describeMembership(this.bootstrap)} spares=(${this.nodeIds.filter((id) => !this.hosts.get(id)?.initialMember).join(",")})`);
    this.workload.start();
    this.faults.start();
    this.schedule(this.params.faultPhaseUnits, { kind: "startLiveness" });
    for (let i = 0; i < eventsMax && !this.done; i++) {
      const next = this.queue.pop();
      if (next === undefined) break;
      this.now = next.time;
      this.checker.now = next.time;
      this.stats.events++;
      this.dispatchChecked(next.value);
      if (this.checker.failed) {
        this.trace(0, `VIOLATION ${this.checker.violations[0] ?? ""}`);
        break;
      }
    }
    assert(this.done || this.checker.failed, `the run must end by itself within ${eventsMax} events`);
    this.stats.timeUnits = this.now;
    this.stats.committedIndex = this.checker.committedIndex;
  }

  // ---------------------------------------------------------------- setup

  /** Voters first, then learners, then spares that join only through membership changes. */
  private assignNodeIds(): Membership {
    const { voterCount, learnerCount, spareCount } = this.params.shape;
    const voters: NodeId[] = [];
    const learners: NodeId[] = [];
    for (let id = 1; id <= voterCount + learnerCount + spareCount; id++) {
      this.nodeIds.push(id);
      if (id <= voterCount) voters.push(id);
      else if (id <= voterCount + learnerCount) learners.push(id);
    }
    return { voters, learners };
  }

  private startNodes(): void {
    const { voterCount, learnerCount } = this.params.shape;
    for (const id of this.nodeIds) {
      const initialMember = id <= voterCount + learnerCount;
      const host = new NodeHost(id, initialMember, this.newRaft(id, initialMember));
      host.tickUnits = this.drawTickUnits();
      this.hosts.set(id, host);
      this.schedule(this.diskPrng.intBetween(1, host.tickUnits), { kind: "tick", node: id, incarnation: 0 });
    }
  }

  private faultPort(): FaultPort {
    return {
      nodeIds: this.nodeIds,
      stats: this.stats,
      network: this.network,
      nowUnits: () => this.now,
      host: (id) => this.hosts.get(id),
      liveHosts: () => this.liveHosts(),
      leader: () => this.leader(),
      schedule: (delayUnits, event) => this.schedule(delayUnits, event),
      crash: (host) => this.crash(host),
      restart: (host) => this.restart(host),
      touch: (host) => this.touch(host),
      trace: (node, text) => this.trace(node, text),
    };
  }

  // ---------------------------------------------------------------- events

  private schedule(delayUnits: number, event: SimEvent): void {
    this.queue.push(this.now + delayUnits, event);
  }

  private dispatchChecked(event: SimEvent): void {
    try {
      this.dispatch(event);
    } catch (e) {
      // A failed assertion in the core (or here) is a bug found: report it like any violation.
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      this.checker.fail(`exception while handling ${describeEvent(event)}: ${error}`);
      if (e instanceof Error && e.stack !== undefined && this.options.trace) this.trace(0, e.stack);
    }
  }

  private dispatch(event: SimEvent): void {
    switch (event.kind) {
      case "tick":
        return this.onTick(event);
      case "deliver":
        return this.deliver(event.message);
      case "syncDone":
        return this.onSyncDone(event);
      case "pump":
        return this.onPump(event);
      case "clientStep":
      case "clientTimeout":
        return this.workload.handle(event);
      case "fault":
      case "restart":
      case "healPartition":
        return this.faults.handle(event);
      case "startLiveness":
        return this.startLiveness();
      case "livenessCheck":
        return this.livenessCheck();
      case "livenessDeadline":
        return this.livenessDeadline();
      case "convergenceDeadline":
        return this.convergenceDeadline();
      case "peerUnreachable":
        return this.onPeerUnreachable(event);
      default:
        assertNever(event, "event");
    }
  }

  private onTick(event: Extract<SimEvent, { kind: "tick" }>): void {
    const host = this.liveHost(event.node, event.incarnation);
    if (host === undefined) return;
    if (this.deferWhilePaused(host, event)) return;
    host.raft.tick();
    this.schedule(host.tickUnits, event);
    if (this.hintPrng.chance(falseAlarmChancePerTick)) {
      // A connection that broke for no lasting reason: the hint must be safe whatever its cause.
      const peer = this.hintPrng.pick(this.nodeIds.filter((id) => id !== host.id));
      this.trace(host.id, `hint: connection to n${peer} broke (false alarm)`);
      host.raft.peerUnreachable(peer);
    }
    this.touch(host);
  }

  private onPeerUnreachable(event: Extract<SimEvent, { kind: "peerUnreachable" }>): void {
    const host = this.liveHost(event.node, event.incarnation);
    if (host === undefined || this.deferWhilePaused(host, event)) return;
    this.trace(host.id, `hint: connection to n${event.peer} broke`);
    host.raft.peerUnreachable(event.peer);
    this.touch(host);
  }

  private onSyncDone(event: Extract<SimEvent, { kind: "syncDone" }>): void {
    const host = this.liveHost(event.node, event.incarnation);
    if (host === undefined || this.deferWhilePaused(host, event)) return;
    const ready = host.inFlight;
    assert(ready !== undefined, `n${host.id} has a sync without a Ready`);
    if (this.faults.crashesBeforeSync(host)) return;
    this.completeReady(host, ready);
    this.touch(host);
  }

  private onPump(event: Extract<SimEvent, { kind: "pump" }>): void {
    const host = this.liveHost(event.node, event.incarnation);
    if (host === undefined || this.deferWhilePaused(host, event)) return;
    host.pumpScheduled = false;
    this.pump(host);
    this.observe(host);
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
      host.inFlightAppliedCount = 0;
      if (!host.storage.hasUnsynced()) {
        // Nothing to make durable: send and apply at once.
        this.completeReady(host, ready);
        continue;
      }
      if (ready.sendBeforePersist) {
        this.send(ready.messages);
        host.inFlightSent = true;
      }
      // What was durable before this Ready is applied while its writes are in flight (the Ready contract).
      for (; host.inFlightAppliedCount < ready.durableCommittedCount; host.inFlightAppliedCount++) {
        if (this.checker.failed) return;
        this.applyEntry(host, ready.committedEntries[host.inFlightAppliedCount] as Entry);
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
    if (ready.snapshot !== undefined) this.installSnapshot(host, ready.snapshot);
    for (; host.inFlightAppliedCount < ready.committedEntries.length; host.inFlightAppliedCount++) {
      if (this.checker.failed) return;
      this.applyEntry(host, ready.committedEntries[host.inFlightAppliedCount] as Entry);
    }
    this.confirmReads(host, ready.readStates);
    this.serveReads(host);
    host.inFlight = undefined;
    host.raft.advance();
    this.maybeCompact(host);
  }

  private installSnapshot(host: NodeHost, snapshot: Snapshot): void {
    const meta = snapshot.meta;
    host.kv = KvStore.decode(snapshot.data, meta.index);
    this.stats.snapshotsInstalled++;
    this.trace(host.id, `installed snapshot at ${meta.index} term ${meta.term} ${describeMembership(meta.membership)}`);
    this.checker.snapshotRestored(host.id, meta.index, meta.term, host.kv.stateHash);
    this.settleProposalsUpTo(host, meta.index);
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
    if (proposer.kind === "probe") return this.probeCommitted(host, entry);
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

  private confirmReads(host: NodeHost, readStates: readonly ReadState[]): void {
    for (const readState of readStates) {
      const read = host.pendingReads.get(readState.requestId);
      if (read === undefined) continue; // Asked for by an earlier incarnation of this node.
      host.pendingReads.delete(readState.requestId);
      host.confirmedReads.push({ read, readIndex: readState.readIndex });
    }
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

  // ---------------------------------------------------------------- process lifecycle

  /** The process dies: the disk keeps what it keeps (drawn from the disk stream), memory is gone. */
  private crash(host: NodeHost): void {
    const outcome = host.storage.crash(this.diskPrng);
    this.stats.crashes++;
    if (outcome.survivedCount < outcome.pendingCount) this.stats.crashesLosingWrites++;
    if (outcome.tornEntriesKept !== undefined) this.stats.crashesTearing++;
    const torn = outcome.tornEntriesKept === undefined ? "" : `, last torn to ${outcome.tornEntriesKept} entries`;
    this.trace(host.id, `CRASH (${host.role} term ${host.term}); ${outcome.survivedCount}/${outcome.pendingCount} unsynced writes survived${torn}`);
    host.alive = false;
    // Its peers see their TCP connections to it close, most of them within a tick.
    for (const other of this.hosts.values()) {
      if (other === host || !other.alive || !this.hintPrng.chance(0.9)) continue;
      this.schedule(this.hintPrng.intBetween(0, this.params.tickUnits), { kind: "peerUnreachable", node: other.id, incarnation: other.incarnation, peer: host.id });
    }
    host.inFlight = undefined;
    host.pumpScheduled = false;
    host.pendingProposals.clear();
    host.pendingReads.clear();
    host.confirmedReads.length = 0;
    this.checkDurableCommit(host);
  }

  /** A new incarnation starts from the disk; events addressed to the old one are ignored. */
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

  private drawTickUnits(): number {
    const skew = this.params.clockSkewRate * (2 * this.diskPrng.float() - 1);
    return Math.max(1, Math.round(this.params.tickUnits * (1 + skew)));
  }

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

  // ---------------------------------------------------------------- liveness

  /** Heal everything, then require a leader and a new committed write within a bound. */
  private startLiveness(): void {
    this.faults.stop();
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

  /** Every tick: propose the probe write on the current leader until it commits, then wait for convergence. */
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

  private probeCommitted(host: NodeHost, entry: Entry): void {
    this.probeCommittedUnits = this.now;
    this.trace(host.id, `liveness write committed at ${entry.index} term ${entry.term}, ${this.now - this.livenessStartUnits}u after healing`);
    this.schedule(this.params.livenessElectionTimeoutsMax * this.electionTimeoutUnits, { kind: "convergenceDeadline" });
  }

  private livenessDeadline(): void {
    if (this.probeCommittedUnits !== undefined) return;
    this.livenessFailure = `no leader elected and write committed within ${this.params.livenessElectionTimeoutsMax} election timeouts of healing (${this.describeRoles()})`;
    this.trace(0, `LIVENESS FAILURE ${this.livenessFailure}`);
    this.done = true;
  }

  private convergenceDeadline(): void {
    if (this.done) return;
    this.checker.fail(`convergence: live members did not reach the same applied state within ${this.params.livenessElectionTimeoutsMax} election timeouts (${this.describeApplied()})`);
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

  /** The live node that believes itself leader of the highest term (an old leader may not know yet). */
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
