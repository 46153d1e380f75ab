import type { ClientSession, MetadataCommand } from "../metadata/commands.js";
import { encodeEnvelope } from "../metadata/commands.js";
import type { MetadataChanges } from "../metadata/history.js";
import type { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import type { Broker, MetadataRecord } from "../metadata/records.js";
import type { ApplyResult, MetadataErrorCode, MetadataValue, Rejection } from "../metadata/results.js";
import type { OffsetOrTime } from "../metadata/time.js";
import type { Snapshot } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import type { LivenessAction, LivenessSettings } from "./brokerLiveness.js";
import { BrokerLiveness, defaultLivenessSettings } from "./brokerLiveness.js";
import type { Applied, ControllerLog, ControllerStatus } from "./controller.js";
import { silentControllerLog } from "./controller.js";
import { ControllerError, notLeaderError } from "./errors.js";

/** What the service needs from a controller (a `Controller<ApplyResult | undefined>`). */
export interface MetadataController {
  status(): ControllerStatus;
  /** Whether `status().role` is "leader"; asked on every write, so it must not build the status. */
  isLeader(): boolean;
  propose(data: Uint8Array): Promise<Applied<ApplyResult | undefined>>;
  readBarrier(): Promise<number>;
  snapshotNow(): Promise<Snapshot>;
  latestSnapshot(): Snapshot;
}

/** A command the quorum refused (validation, or a rule that failed when it was applied). */
export class MetadataError extends Error {
  override readonly name = "MetadataError";
  readonly code: MetadataErrorCode;
  readonly field: string | undefined;

  constructor(rejection: Rejection) {
    super(rejection.message);
    this.code = rejection.code;
    this.field = rejection.field;
  }
}

/** An applied write: what it produced and where in the log. */
export interface Written {
  /** Log index (metadata offset) of the command; 0 for a replay (the stored answer does not keep it). */
  readonly offset: number;
  readonly value: MetadataValue;
  readonly records: readonly MetadataRecord[];
  /** The write was a retry of one already applied: this is the stored answer, nothing was applied. */
  readonly replayed: boolean;
}

/** Builds the command from the state the leader holds; returns a rejection for a request that cannot be one. */
export type CommandBuilder = (state: MetadataStateMachine, nowMs: number) => MetadataCommand | Rejection;

export type ReadConsistency = "linearizable" | "stale";

export interface HeartbeatRequest {
  readonly brokerId: number;
  readonly brokerEpoch: number;
  /** The last metadata offset the broker knows, or the time of the last change it saw. */
  readonly since: OffsetOrTime;
}

export interface HeartbeatAnswer {
  /** The broker as the quorum holds it after this heartbeat: its current epoch and status. */
  readonly broker: Broker;
  readonly changes: MetadataChanges;
  readonly heartbeatIntervalMs: number;
  readonly sessionTimeoutMs: number;
}

export interface MetadataServiceOptions {
  readonly controller: MetadataController;
  readonly stateMachine: MetadataStateMachine;
  /** Epoch milliseconds: the leader's record timestamps, and "now" for the delta age rule. */
  readonly nowMs: () => number;
  /**
   * Milliseconds from any origin that never jump (`performance.now()`), for broker sessions: a wall clock
   * stepped forward must not fence every broker at once. Defaults to `nowMs`.
   */
  readonly sessionNowMs?: () => number;
  /** A new random UUID (the leader chooses ids before proposing). */
  readonly newUUID: () => string;
  readonly liveness?: LivenessSettings;
  /** A caller whose oldest missed change is older than this gets a full image instead of a delta. */
  readonly deltaAgeMs?: number;
  readonly log?: ControllerLog;
}

/** The liveness check runs this often, in parts of the session timeout, within bounds. */
const livenessChecksPerSession = 10;
const livenessCheckIntervalMsMin = 20;
const livenessCheckIntervalMsMax = 1_000;

/**
 * The metadata quorum's operations over one controller: writes turned into commands with the
 * leader's ids and timestamp, checked on the leader first for a fast answer (DESIGN §6), proposed, and
 * answered with what apply returned; reads at a linearizable point (ReadIndex) or stale; broker
 * heartbeats with the leader-only session table that fences brokers gone silent.
 */
export class MetadataService {
  readonly stateMachine: MetadataStateMachine;
  readonly liveness: BrokerLiveness;
  readonly deltaAgeMs: number;
  private readonly controller: MetadataController;
  private readonly nowMs: () => number;
  private readonly sessionNowMs: () => number;
  private readonly newUUID: () => string;
  private readonly log: ControllerLog;
  /** The term this node last led in with sessions reset; undefined while not leader. */
  private sessionsTerm: number | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(options: MetadataServiceOptions) {
    this.controller = options.controller;
    this.stateMachine = options.stateMachine;
    this.nowMs = options.nowMs;
    this.sessionNowMs = options.sessionNowMs ?? options.nowMs;
    this.newUUID = options.newUUID;
    this.liveness = new BrokerLiveness(options.liveness ?? defaultLivenessSettings);
    this.deltaAgeMs = options.deltaAgeMs ?? limits.metadata.deltaAgeMsDefault;
    this.log = options.log ?? silentControllerLog;
  }

  /** Starts the periodic session check (tests call `checkLiveness` by hand instead). */
  start(): void {
    assert(this.timer === undefined, "metadata service already started");
    const { sessionTimeoutMs } = this.liveness.settings;
    const intervalMs = Math.min(livenessCheckIntervalMsMax, Math.max(livenessCheckIntervalMsMin, Math.floor(sessionTimeoutMs / livenessChecksPerSession)));
    this.timer = setInterval(() => this.checkLiveness(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  newId(): string {
    return this.newUUID();
  }

  /**
   * Proposes the command `build` makes and resolves with its applied answer. Only the leader writes:
   * elsewhere this throws NOT_LEADER/NO_LEADER before looking at the state (a follower's state may be
   * behind, and its answer would be wrong). A write with a client session that was already applied is
   * answered from the stored result without proposing.
   */
  async write(build: CommandBuilder, clientSession?: ClientSession): Promise<Written> {
    this.requireLeader();
    const state = this.stateMachine;
    if (clientSession !== undefined) {
      const seen = state.checkClientSession(clientSession);
      if (seen.kind === "refused") throw new MetadataError(seen.rejection);
      if (seen.kind === "replay") return this.answer(seen.result, undefined);
    }
    const nowMs = this.nowMs();
    const command = build(state, nowMs);
    if ("ok" in command) throw new MetadataError(command);
    const problem = state.validate(command);
    if (problem !== undefined) throw new MetadataError(problem);
    const envelope = clientSession === undefined ? { command, timestamp: nowMs } : { command, timestamp: nowMs, clientSession };
    const applied = await this.controller.propose(encodeEnvelope(envelope));
    assert(applied.result !== undefined, `a normal entry at ${applied.index} must yield an apply result`);
    if (command.type === "RegisterBroker" && applied.result.ok) this.liveness.registered(command.brokerId, this.sessionNowMs());
    return this.answer(applied.result, applied.index);
  }

  /** Waits until reading the state is linearizable (unless `stale`); returns the index read at. */
  async readPoint(consistency: ReadConsistency = "linearizable"): Promise<number> {
    if (consistency === "stale") return this.stateMachine.appliedIndex;
    return this.controller.readBarrier();
  }

  /**
   * A broker's MetadataFetch, which is also its heartbeat (SPEC §4): renews its session on the leader,
   * unfences it once it has caught up, and answers with its registration and the changes it missed.
   */
  async heartbeat(request: HeartbeatRequest): Promise<HeartbeatAnswer> {
    this.requireLeader();
    this.syncSessions();
    const state = this.stateMachine;
    const broker = this.liveBroker(request.brokerId, request.brokerEpoch);
    const nowMs = this.sessionNowMs();
    const caughtUpTo = request.since.kind === "offset" ? request.since.offset : this.offsetOfTime(request.since.epochMs);
    const action = this.liveness.heartbeat(broker, caughtUpTo, state.appliedIndex, nowMs);
    if (action !== undefined) await this.proposeLiveness(action);
    return {
      broker: state.broker(request.brokerId) ?? broker,
      changes: this.changes(request.since, "broker"),
      heartbeatIntervalMs: this.liveness.settings.heartbeatIntervalMs,
      sessionTimeoutMs: this.liveness.settings.sessionTimeoutMs,
    };
  }

  /** Changes since an offset or a time, for brokers (everything) or clients (topics, partitions, brokers). */
  changes(since: OffsetOrTime, view: "broker" | "client"): MetadataChanges {
    const options = { view, deltaAgeMs: this.deltaAgeMs };
    const nowMs = this.nowMs();
    return since.kind === "offset" ? this.stateMachine.changesSince(since.offset, nowMs, options) : this.stateMachine.changesSinceTime(since.epochMs, nowMs, options);
  }

  /** Fences every broker whose session expired; runs periodically on every node, acts only on the leader. */
  checkLiveness(): void {
    if (!this.syncSessions()) return;
    for (const action of this.liveness.expired(this.stateMachine.brokers(), this.sessionNowMs())) {
      this.log.warn({ brokerId: action.brokerId, brokerEpoch: action.brokerEpoch, sessionTimeoutMs: this.liveness.settings.sessionTimeoutMs }, "broker session expired: fencing it");
      void this.proposeLiveness(action);
    }
  }

  takeSnapshot(): Promise<Snapshot> {
    return this.controller.snapshotNow();
  }

  latestSnapshot(): Snapshot {
    return this.controller.latestSnapshot();
  }

  /** Resets every session when this node has newly become leader; returns whether it is leader. */
  private syncSessions(): boolean {
    const status = this.controller.status();
    if (status.role !== "leader") {
      this.sessionsTerm = undefined;
      return false;
    }
    if (this.sessionsTerm !== status.term) {
      this.sessionsTerm = status.term;
      this.liveness.reset(this.stateMachine.brokers(), this.sessionNowMs());
    }
    return true;
  }

  private async proposeLiveness(action: LivenessAction): Promise<void> {
    const type = action.kind === "fence" ? "FenceBroker" : "UnfenceBroker";
    try {
      const written = await this.write(() => ({ type, brokerId: action.brokerId, brokerEpoch: action.brokerEpoch }));
      this.log.info({ brokerId: action.brokerId, brokerEpoch: action.brokerEpoch, offset: written.offset }, action.kind === "fence" ? "broker fenced" : "broker unfenced");
    } catch (error) {
      // A refusal means the broker changed meanwhile (re-registered, closed): the next check decides again.
      const level = error instanceof ControllerError || error instanceof MetadataError ? "info" : "error";
      this.log[level]({ err: error, brokerId: action.brokerId }, `${action.kind} not applied`);
    } finally {
      this.liveness.settled(action);
    }
  }

  private liveBroker(brokerId: number, brokerEpoch: number): Broker {
    const broker = this.stateMachine.broker(brokerId);
    if (broker === undefined) throw new MetadataError({ ok: false, code: "UNKNOWN_BROKER", message: `Cannot accept a heartbeat from broker ${brokerId} as it is not registered`, field: "brokerId" });
    if (broker.brokerStatus === "CLOSED") {
      throw new MetadataError({ ok: false, code: "INVALID_BROKER_STATUS", message: `Cannot accept a heartbeat from broker ${brokerId} as it is CLOSED: register it again`, field: "brokerId" });
    }
    // The epoch grows with changes the quorum makes on its own (fencing), which the broker learns from this
    // very answer; so only an epoch from the future is refused. A broker restarted with a lower one re-registers.
    if (brokerEpoch > broker.epoch) {
      throw new MetadataError({ ok: false, code: "STALE_BROKER_EPOCH", message: `Cannot accept a heartbeat from broker ${brokerId} as brokerEpoch ${brokerEpoch} is not one it was given: current value is ${broker.epoch}`, field: "brokerEpoch" });
    }
    return broker;
  }

  /** A broker that knows changes up to a time knows every offset whose records are that old. */
  private offsetOfTime(epochMs: number): number {
    const changes = this.stateMachine.changesSinceTime(epochMs, this.nowMs(), { view: "broker", deltaAgeMs: Number.MAX_SAFE_INTEGER });
    if (changes.kind === "snapshot") return 0;
    const first = changes.records[0];
    return first === undefined ? changes.currentOffset : first.offset - 1;
  }

  private answer(result: ApplyResult, offset: number | undefined): Written {
    if (!result.ok) throw new MetadataError(result);
    return { offset: offset ?? 0, value: result.value, records: result.records, replayed: result.replayed === true };
  }

  private requireLeader(): void {
    if (this.controller.isLeader()) return;
    throw notLeaderError(this.controller.status().leaderId);
  }
}
