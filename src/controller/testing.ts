import type { Applied, ControllerStatus } from "./controller.js";
import type { ControllerError } from "./errors.js";
import type { MetadataController } from "./metadataService.js";
import { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import type { ApplyResult } from "../metadata/results.js";
import type { NodeId, Snapshot } from "../raft/types.js";

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
 */
export class FakeController implements MetadataController {
  current = controllerStatus();
  proposeError: ControllerError | undefined;
  readError: ControllerError | undefined;
  readBarriers = 0;
  proposals = 0;
  private snapshotTaken: Snapshot = { meta: { index: 0, term: 0, membership: { voters: [1, 2, 3], learners: [] } }, data: new Uint8Array() };

  constructor(readonly stateMachine = new MetadataStateMachine()) {}

  status(): ControllerStatus {
    return this.current;
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

