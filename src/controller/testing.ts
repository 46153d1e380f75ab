import type { Applied, ControllerStatus } from "./controller.js";
import type { MetadataController } from "./metadataService.js";
import { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import type { ApplyResult } from "../metadata/results.js";
import { applyMembershipChange } from "../raft/membership.js";
import type { MembershipChange, NodeId, Snapshot } from "../raft/types.js";
import { ControllerError as CodedError } from "./errors.js";
import type { MembershipController } from "./membershipService.js";

/** Test twins of the controller for the layers above it (metadata service, HTTP API). */

export function controllerStatus(overrides: Partial<ControllerStatus> = {}): ControllerStatus {
  return {
    id: 1,
    role: "leader",
    term: 3,
    votedFor: 1,
    leaderId: 1,
    commitIndex: 10,
    appliedIndex: 10,
    lastIndex: 12,
    snapshotIndex: 0,
    membership: { voters: [1, 2, 3], learners: [] },
    progress: [
      { id: 2, voter: true, state: "replicate", matchIndex: 12, nextIndex: 13, recentActive: true, ticksSinceContact: 2 },
      { id: 3, voter: true, state: "probe", matchIndex: 7, nextIndex: 8, recentActive: false, ticksSinceContact: 40 },
    ],
    transferTarget: 0,
    tickIntervalMs: 10,
    electionTimeoutTicks: 30,
    heartbeatIntervalTicks: 5,
    ...overrides,
  };
}

/**
 * A controller whose role the test sets; what it is asked to propose is applied at once to a real
 * metadata state machine, as a one-node quorum would (the real Ready loop is tested in controller/).
 * Membership changes apply at once to `current.membership` (the core's rules decide what is valid).
 */
export class FakeController implements MetadataController, MembershipController {
  current = controllerStatus();
  proposeError: CodedError | undefined;
  readError: CodedError | undefined;
  /** Refuses the next membership change with this, once (MEMBERSHIP_CHANGE_PENDING, LEADER_NOT_READY, …). */
  membershipError: CodedError | undefined;
  /** Members that never catch up: `awaitMatch` fails for them with LEARNER_NOT_CAUGHT_UP. */
  readonly lagging = new Set<NodeId>();
  /** When set, `awaitMatch` waits for it first: a test holds a change in progress. */
  matchBarrier: Promise<void> | undefined;
  readonly membershipChanges: MembershipChange[] = [];
  readBarriers = 0;
  proposals = 0;
  private snapshotTaken: Snapshot = { meta: { index: 0, term: 0, membership: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array() };

  constructor(readonly stateMachine = new MetadataStateMachine()) {}

  get id(): NodeId {
    return this.current.id;
  }

  status(): ControllerStatus {
    return this.current;
  }

  isLeader(): boolean {
    return this.current.role === "leader";
  }

  knownLeaderId(): NodeId {
    return this.current.leaderId;
  }

  async propose(data: Uint8Array): Promise<Applied<ApplyResult | undefined>> {
    if (this.proposeError !== undefined) throw this.proposeError;
    this.proposals++;
    const index = this.stateMachine.appliedIndex + 1;
    const result = this.stateMachine.apply({ index, term: this.current.term, type: "normal", data });
    return { index, term: this.current.term, result };
  }

  async readBarrier(): Promise<number> {
    this.readBarriers++;
    if (this.readError !== undefined) throw this.readError;
    return this.stateMachine.appliedIndex;
  }

  async changeMembership(change: MembershipChange): Promise<Applied<undefined>> {
    const refusal = this.membershipError;
    this.membershipError = undefined;
    if (refusal !== undefined) throw refusal;
    const next = applyMembershipChange(this.current.membership, change);
    if (!next.ok) throw new CodedError("INVALID_MEMBERSHIP_CHANGE", `Cannot change the membership as ${next.error}`, { outcome: "not_applied" });
    this.membershipChanges.push(change);
    const index = this.stateMachine.appliedIndex + 1;
    this.stateMachine.apply({ index, term: this.current.term, type: "membership", data: new Uint8Array() });
    const stillLeader = next.value.voters.includes(this.current.id);
    this.current = { ...this.current, membership: next.value, commitIndex: index, ...(stillLeader ? {} : { role: "follower", leaderId: 0 }) };
    return { index, term: this.current.term, result: undefined };
  }

  async awaitMatch(nodeId: NodeId, index: number, timeoutMs: number): Promise<void> {
    await this.matchBarrier;
    if (this.lagging.has(nodeId)) throw new CodedError("LEARNER_NOT_CAUGHT_UP", `Cannot confirm that controller ${nodeId} caught up as its match index is 0, below ${index}, after ${timeoutMs} ms`);
  }

  async transferLeadership(_target?: NodeId): Promise<boolean> {
    this.current = controllerStatus({ role: "follower", leaderId: 2 });
    return true;
  }

  async snapshotNow(): Promise<Snapshot> {
    const index = this.stateMachine.appliedIndex;
    if (index > this.snapshotTaken.meta.index) {
      this.snapshotTaken = { meta: { index, term: this.current.term, membership: { voters: [1, 2, 3], learners: [] } }, data: this.stateMachine.snapshot() };
      this.stateMachine.compacted(index);
    }
    return this.snapshotTaken;
  }

  latestSnapshot(): Snapshot {
    return this.snapshotTaken;
  }
}

/** A clock the test moves by hand, starting at 2023-11-14T22:13:20Z. */
export class ManualClock {
  nowMs = 1_700_000_000_000;

  advance(ms: number): void {
    this.nowMs += ms;
  }
}

