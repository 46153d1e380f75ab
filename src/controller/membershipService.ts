import type { MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import type { ControllerRegistration } from "../metadata/records.js";
import { reject } from "../metadata/results.js";
import { isLearner, isMember, isVoter } from "../raft/membership.js";
import type { Membership, MembershipChange, NodeId } from "../raft/types.js";
import type { HostPort, MemberAddress } from "./config.js";
import { formatHostPort, sameHostPort } from "./config.js";
import type { Applied, ControllerLog, ControllerStatus } from "./controller.js";
import { silentControllerLog } from "./controller.js";
import { ControllerError, notLeaderError } from "./errors.js";
import type { CommandBuilder, Written } from "./metadataService.js";
import { MetadataError } from "./metadataService.js";

/** What the membership service needs from a controller (a `Controller`). */
export interface MembershipController {
  status(): ControllerStatus;
  changeMembership(change: MembershipChange): Promise<Applied<unknown>>;
  awaitMatch(nodeId: NodeId, index: number, timeoutMs: number): Promise<void>;
}

/** What it needs from the metadata service (a `MetadataService`): writes, and the registry to read. */
export interface MembershipMetadata {
  readonly stateMachine: MetadataStateMachine;
  write(build: CommandBuilder): Promise<Written>;
}

/** A voter counts toward every quorum; an observer (a Raft learner) only receives the log. */
export type MemberRole = "voter" | "observer";

export interface AddMemberRequest {
  readonly id: NodeId;
  readonly raft: HostPort;
  readonly api: HostPort;
  readonly role: MemberRole;
}

export interface MemberAdded {
  /** The membership in force once the change committed. */
  readonly membership: Membership;
  readonly member: MemberAddress & { readonly role: MemberRole };
}

export interface MemberRemoved {
  readonly membership: Membership;
  readonly removedId: NodeId;
  /** Whether the controller's registered addresses were dropped too (see controllerCommands.ts). */
  readonly unregistered: boolean;
}

export interface MembershipServiceOptions {
  readonly controller: MembershipController;
  readonly metadata: MembershipMetadata;
  /** Every controller this process knows the addresses of (command line and registry). */
  readonly members: () => readonly MemberAddress[];
  /** How long an added learner may take to catch up before it is promoted to voter. */
  readonly catchUpTimeoutMs?: number;
  readonly log?: ControllerLog;
}

/**
 * A learner must replicate the log before it votes: promoted while far behind, it would count toward
 * the quorum without holding the entries, and a 3-voter cluster with one dead member would stop
 * committing until it caught up. 30 s covers a snapshot of the largest metadata image on a slow link.
 */
export const catchUpTimeoutMsDefault = 30_000;

/**
 * Adds and removes controllers at runtime (SPEC §2), one at a time, on the leader.
 *
 * Adding (KRaft's pattern: register, then join): the controller's addresses are registered in the
 * metadata log first, so every controller can reach it before anyone has to; then it joins as a learner
 * (Raft dissertation §4.2.1: a new server catches up without voting); a voter-to-be is promoted once its
 * match index reaches the leader's commit index of that moment. A learner that does not catch up in
 * time stays a learner, and the same request again resumes from there.
 *
 * Removing: the Raft core removes the member (a leader that removes itself hands over to the most
 * up-to-date voter), then, if this node still leads, its registration is dropped.
 *
 * One change at a time on this leader; the core enforces it across leaders too (MEMBERSHIP_CHANGE_PENDING).
 */
export class MembershipService {
  readonly catchUpTimeoutMs: number;
  private readonly controller: MembershipController;
  private readonly metadata: MembershipMetadata;
  private readonly members: () => readonly MemberAddress[];
  private readonly log: ControllerLog;
  /** The request being served on this node, if any: a second one is refused rather than queued. */
  private changing: string | undefined;

  constructor(options: MembershipServiceOptions) {
    this.controller = options.controller;
    this.metadata = options.metadata;
    this.members = options.members;
    this.catchUpTimeoutMs = options.catchUpTimeoutMs ?? catchUpTimeoutMsDefault;
    this.log = options.log ?? silentControllerLog;
  }

  async addMember(request: AddMemberRequest): Promise<MemberAdded> {
    this.requireLeader();
    return this.exclusively(`adding controller ${request.id}`, async () => {
      const { id, role } = request;
      const membership = this.controller.status().membership;
      if (isVoter(membership, id)) throw exists(`Cannot add controller ${id} as it is already a voter`);
      const learner = isLearner(membership, id);
      if (learner && role === "observer") throw exists(`Cannot add controller ${id} as an observer as it already is one`);
      this.checkAddresses(request);
      if (learner) {
        this.checkRegisteredAt(request);
      } else {
        await this.metadata.write(() => registerCommand(request));
        await this.controller.changeMembership({ kind: "addLearner", nodeId: id });
        this.log.info({ controllerId: id, raft: formatHostPort(request.raft), api: formatHostPort(request.api) }, "controller added as a learner");
      }
      if (role === "voter") await this.promote(id);
      return { membership: this.controller.status().membership, member: { id, raft: request.raft, api: request.api, role } };
    });
  }

  async removeMember(id: NodeId): Promise<MemberRemoved> {
    this.requireLeader();
    return this.exclusively(`removing controller ${id}`, async () => {
      const registered = this.metadata.stateMachine.controller(id) !== undefined;
      if (!isMember(this.controller.status().membership, id)) {
        if (!registered) throw new MetadataError(reject("UNKNOWN_CONTROLLER", `Cannot remove controller ${id} as it is neither a member nor registered`, "id"));
        // Left registered by an earlier removal that could not finish: only the address remains to drop.
        await this.metadata.write(() => ({ type: "UnregisterController", controllerId: id }));
        return { membership: this.controller.status().membership, removedId: id, unregistered: true };
      }
      await this.controller.changeMembership({ kind: "removeNode", nodeId: id });
      this.log.info({ controllerId: id }, "controller removed from the membership");
      const unregistered = registered && (await this.tryUnregister(id));
      return { membership: this.controller.status().membership, removedId: id, unregistered };
    });
  }

  /** Waits until learner `id` holds what is committed now, then makes it a voter. */
  private async promote(id: NodeId): Promise<void> {
    const targetIndex = this.controller.status().commitIndex;
    try {
      await this.controller.awaitMatch(id, targetIndex, this.catchUpTimeoutMs);
    } catch (error) {
      if (!(error instanceof ControllerError && error.code === "LEARNER_NOT_CAUGHT_UP")) throw error;
      throw new ControllerError(
        "LEARNER_NOT_CAUGHT_UP",
        `Cannot make controller ${id} a voter as it did not catch up within ${this.catchUpTimeoutMs} ms (index ${targetIndex}): it stays a learner; check that it runs and reaches the leader, then send the request again to promote it`,
      );
    }
    await this.controller.changeMembership({ kind: "addVoter", nodeId: id });
    this.log.info({ controllerId: id }, "controller promoted to voter");
  }

  /** Drops a removed controller's registration while this node still leads; a failure only leaves an address behind. */
  private async tryUnregister(id: NodeId): Promise<boolean> {
    if (this.controller.status().role !== "leader") return false;
    try {
      await this.metadata.write(() => ({ type: "UnregisterController", controllerId: id }));
      return true;
    } catch (error) {
      this.log.warn({ err: error, controllerId: id }, "controller removed but its registration kept");
      return false;
    }
  }

  /** A new member must not take another controller's address: the two would steal each other's connections. */
  private checkAddresses(request: AddMemberRequest): void {
    if (sameHostPort(request.raft, request.api)) {
      throw new ControllerError("INVALID_MEMBERSHIP_CHANGE", `Cannot add controller ${request.id} as its Raft and API addresses are the same: current value is ${formatHostPort(request.raft)}`, { field: "body.apiAddress" });
    }
    for (const other of this.members()) {
      if (other.id === request.id) continue;
      for (const [field, address] of [["body.raftAddress", request.raft], ["body.apiAddress", request.api]] as const) {
        if (!sameHostPort(address, other.raft) && !sameHostPort(address, other.api)) continue;
        throw new ControllerError("INVALID_MEMBERSHIP_CHANGE", `Cannot add controller ${request.id} as controller ${other.id} listens at ${formatHostPort(address)}`, { field });
      }
    }
  }

  /** Promoting a learner keeps the addresses it was added with; other addresses need a removal first. */
  private checkRegisteredAt(request: AddMemberRequest): void {
    const registered = this.metadata.stateMachine.controller(request.id);
    if (registered === undefined || (sameHostPort(request.raft, raftOf(registered)) && sameHostPort(request.api, apiOf(registered)))) return;
    throw new ControllerError(
      "INVALID_MEMBERSHIP_CHANGE",
      `Cannot promote controller ${request.id} as it is a learner at other addresses: current values are ${formatHostPort(raftOf(registered))} and ${formatHostPort(apiOf(registered))}; remove it first to change them`,
      { field: "body.raftAddress" },
    );
  }

  private async exclusively<T>(what: string, run: () => Promise<T>): Promise<T> {
    if (this.changing !== undefined) {
      throw new ControllerError("MEMBERSHIP_CHANGE_PENDING", `Cannot start ${what} as this leader is still ${this.changing}`, { outcome: "not_applied" });
    }
    this.changing = what;
    try {
      return await run();
    } finally {
      this.changing = undefined;
    }
  }

  private requireLeader(): void {
    const status = this.controller.status();
    if (status.role !== "leader") throw notLeaderError(status.leaderId);
  }
}

function registerCommand(request: AddMemberRequest) {
  return {
    type: "RegisterController",
    controllerId: request.id,
    raftHost: request.raft.host,
    raftPort: request.raft.port,
    apiHost: request.api.host,
    apiPort: request.api.port,
  } as const;
}

function exists(message: string): ControllerError {
  return new ControllerError("CONTROLLER_EXISTS", message, { outcome: "not_applied" });
}

function raftOf(registration: ControllerRegistration): HostPort {
  return { host: registration.raftHost, port: registration.raftPort };
}

function apiOf(registration: ControllerRegistration): HostPort {
  return { host: registration.apiHost, port: registration.apiPort };
}
