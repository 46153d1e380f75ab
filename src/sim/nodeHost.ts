import type { RaftNode } from "../raft/node.js";
import type { NodeId, Ready, RoleKind } from "../raft/types.js";
import type { KvCommand } from "./kv.js";
import { KvStore } from "./kv.js";
import { MemoryStorage } from "./storage.js";
import type { ClientToken } from "./workload.js";

/** Who waits for a proposal: a client, or the liveness phase's own probe write. */
export type Proposer = { readonly kind: "client"; readonly token: ClientToken } | { readonly kind: "probe" };

export interface PendingProposal {
  readonly term: number;
  readonly command: KvCommand;
  readonly proposer: Proposer;
}

export interface PendingRead {
  readonly key: number;
  readonly versionRequired: number;
  readonly token: ClientToken;
}

/** The per-node shell: the real RaftNode with its disk twin, its state machine and its Ready loop. */
export class NodeHost {
  readonly storage = new MemoryStorage();
  alive = true;
  incarnation = 0;
  raft: RaftNode;
  kv = new KvStore();
  /** The Ready being persisted; the next one is taken only after `advance()`. */
  inFlight: Ready | undefined = undefined;
  inFlightSent = false;
  /** How many of the in-flight Ready's committed entries are applied already. */
  inFlightAppliedCount = 0;
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
