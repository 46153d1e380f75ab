import type { RaftError } from "../raft/errors.js";
import type { NodeId } from "../raft/types.js";
import type { Prng } from "../shared/prng.js";
import type { Result } from "../shared/result.js";
import type { KvCommand } from "./kv.js";
import type { SimParams } from "./params.js";

/** Names one client operation; a late answer for an older operation is recognised and ignored. */
export interface ClientToken {
  readonly clientId: number;
  readonly opSeq: number;
}

export type ClientEvent =
  | { readonly kind: "clientStep"; readonly clientId: number; readonly opSeq: number }
  | { readonly kind: "clientTimeout"; readonly clientId: number; readonly opSeq: number };

/** What clients can do to the cluster; "down" means the node did not answer (it is crashed). */
export interface ClientPort {
  schedule(delayUnits: number, event: ClientEvent): void;
  propose(node: NodeId, command: KvCommand, token: ClientToken): Result<{ index: number; term: number }, RaftError> | "down";
  read(node: NodeId, key: number, versionRequired: number, token: ClientToken): Result<void, RaftError> | "down";
  trace(text: string): void;
}

const stickyLeaderRate = 0.8;

type Operation =
  | { readonly kind: "write"; readonly command: KvCommand }
  | { readonly kind: "read"; readonly key: number; readonly versionRequired: number };

interface Client {
  readonly id: number;
  opSeq: number;
  op: Operation | undefined;
  target: NodeId;
  /** The node that last accepted an operation or was named as leader; clients cache it like real ones. */
  knownLeader: NodeId;
  /** A proposal or read was accepted by a node; the answer is awaited. */
  waiting: boolean;
}

export interface WorkloadStats {
  writesAcked: number;
  writesLost: number;
  readsServed: number;
  redirects: number;
  timeouts: number;
}

/**
 * Clients writing and reading keys. Each client runs one operation at a time: it sends it to a random
 * node, follows NotLeader redirects, and waits for the answer or gives up after a timeout. The workload
 * remembers, per key, the highest version acknowledged so far: a read must see at least the version
 * acknowledged before it began (linearizability of reads).
 */
export class Workload {
  private readonly clients: Client[] = [];
  private readonly ackedVersionMax = new Map<number, number>();
  private requestIdNext = 1;
  active = true;
  readonly stats: WorkloadStats = { writesAcked: 0, writesLost: 0, readsServed: 0, redirects: 0, timeouts: 0 };

  constructor(
    private readonly prng: Prng,
    private readonly params: SimParams,
    private readonly nodeIds: readonly NodeId[],
    private readonly port: ClientPort,
  ) {
    for (let id = 1; id <= params.clientCount; id++) this.clients.push({ id, opSeq: 0, op: undefined, target: 0, knownLeader: 0, waiting: false });
  }

  start(): void {
    for (const c of this.clients) this.port.schedule(this.prng.intBetween(1, this.params.clientThinkUnitsMax), { kind: "clientStep", clientId: c.id, opSeq: c.opSeq });
  }

  handle(event: ClientEvent): void {
    const client = this.clients[event.clientId - 1];
    if (client === undefined || !this.active || client.opSeq !== event.opSeq) return;
    if (event.kind === "clientTimeout") {
      this.stats.timeouts++;
      this.port.trace(`client ${client.id} gave up on op ${client.opSeq}`);
      this.finish(client);
      return;
    }
    if (client.waiting) return;
    if (client.op === undefined) this.begin(client);
    this.attempt(client);
  }

  /** The write was applied by the node that accepted it, at the index and term it returned. */
  writeAcknowledged(token: ClientToken, key: number, version: number): void {
    this.stats.writesAcked++;
    if (version > (this.ackedVersionMax.get(key) ?? 0)) this.ackedVersionMax.set(key, version);
    this.settle(token);
  }

  /** The index the write was given now holds another entry: it will never be applied. */
  writeLost(token: ClientToken): void {
    this.stats.writesLost++;
    this.settle(token);
  }

  readServed(token: ClientToken): void {
    this.stats.readsServed++;
    this.settle(token);
  }

  private begin(client: Client): void {
    // Mostly the cached leader, which may be a deposed one still believing it leads; sometimes any node.
    client.target = client.knownLeader !== 0 && this.prng.chance(stickyLeaderRate) ? client.knownLeader : this.prng.pick(this.nodeIds);
    const key = this.prng.int(this.params.keyCount);
    if (this.prng.chance(this.params.readRatio)) {
      // The read begins now: every write acknowledged so far must be visible to it.
      client.op = { kind: "read", key, versionRequired: this.ackedVersionMax.get(key) ?? 0 };
    } else {
      client.op = { kind: "write", command: { clientId: client.id, requestId: this.requestIdNext++, key, value: this.prng.int(1_000_000) } };
    }
    this.port.schedule(this.params.clientTimeoutUnits, { kind: "clientTimeout", clientId: client.id, opSeq: client.opSeq });
  }

  private attempt(client: Client): void {
    const op = client.op;
    if (op === undefined) return;
    const token: ClientToken = { clientId: client.id, opSeq: client.opSeq };
    const result =
      op.kind === "write" ? this.port.propose(client.target, op.command, token) : this.port.read(client.target, op.key, op.versionRequired, token);
    if (result === "down") {
      // The node did not answer: try it again (it may be paused) or another one.
      if (this.prng.chance(0.5)) client.target = this.prng.pick(this.nodeIds);
      this.retryLater(client);
    } else if (result.ok) {
      client.waiting = true;
      if (op.kind === "write") client.knownLeader = client.target;
    } else if (result.error.code === "NotLeader") {
      this.stats.redirects++;
      const leaderId = result.error.leaderId;
      client.knownLeader = leaderId;
      client.target = leaderId !== 0 ? leaderId : this.prng.pick(this.nodeIds);
      // With no leader known, an election is under way: wait a little longer before asking again.
      this.port.schedule(leaderId !== 0 ? this.params.clientRetryUnits : 3 * this.params.clientRetryUnits, {
        kind: "clientStep",
        clientId: client.id,
        opSeq: client.opSeq,
      });
    } else {
      this.retryLater(client);
    }
  }

  private retryLater(client: Client): void {
    this.port.schedule(this.params.clientRetryUnits, { kind: "clientStep", clientId: client.id, opSeq: client.opSeq });
  }

  private settle(token: ClientToken): void {
    const client = this.clients[token.clientId - 1];
    if (client === undefined || client.opSeq !== token.opSeq) return;
    this.finish(client);
  }

  private finish(client: Client): void {
    client.op = undefined;
    client.waiting = false;
    client.opSeq++;
    if (this.active) {
      this.port.schedule(this.prng.intBetween(1, this.params.clientThinkUnitsMax), { kind: "clientStep", clientId: client.id, opSeq: client.opSeq });
    }
  }
}
