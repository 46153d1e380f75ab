import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type { FastifyInstance } from "fastify";
import type { HostPort } from "../controller/config.js";
import { formatHostPort, parseHostPort } from "../controller/config.js";
import type { AddMemberRequest as AddMember, MemberAdded, MemberRemoved } from "../controller/membershipService.js";
import type { Membership, NodeId } from "../raft/types.js";
import { ApiError } from "./errors.js";
import { forwardTimeoutMs } from "./forward.js";
import { AddMemberAnswer, AddMemberBody, answers, MemberParams, RemoveMemberAnswer } from "./schemas.js";
import type { AddMemberAnswerJson, RemoveMemberAnswerJson } from "./schemas.js";

/** What the routes need from the controller's membership service (a `MembershipService`). */
export interface MembershipApi {
  /** How long an add waits for the new member to catch up before promoting it. */
  readonly catchUpTimeoutMs: number;
  addMember(request: AddMember): Promise<MemberAdded>;
  removeMember(id: NodeId): Promise<MemberRemoved>;
}

export interface MembershipRoutesOptions {
  readonly membership: MembershipApi;
}

/**
 * `POST /v1/cluster/members` and `DELETE /v1/cluster/members/{id}`: add or remove a controller at
 * runtime (SPEC §2), one at a time. Both are writes the app's error handler forwards to the leader; an
 * add may wait for the new member to catch up, so its forward waits that long on top of the usual bound.
 */
export async function membershipRoutes(app: FastifyInstance, options: MembershipRoutesOptions): Promise<void> {
  const api = app.withTypeProvider<TypeBoxTypeProvider>();
  const { membership } = options;

  api.post(
    "/v1/cluster/members",
    {
      config: { forwardToLeader: true, forwardTimeoutMs: membership.catchUpTimeoutMs + forwardTimeoutMs },
      schema: { tags: ["cluster"], summary: "Add a controller: register its addresses, add it as a learner, and promote it to voter once it has caught up", body: AddMemberBody, response: answers(201, AddMemberAnswer) },
    },
    async (request, reply) => {
      const { id, role = "voter" } = request.body;
      const raft = address(request.body.raftAddress, "body.raftAddress");
      const added = await membership.addMember({ id, raft, api: address(request.body.apiAddress, "body.apiAddress"), role });
      const answer: AddMemberAnswerJson = {
        membership: membershipJson(added.membership),
        member: { id, role: added.member.role, raftAddress: formatHostPort(added.member.raft), apiAddress: formatHostPort(added.member.api) },
      };
      return reply.code(201).send(answer);
    },
  );

  api.delete(
    "/v1/cluster/members/:id",
    {
      config: { forwardToLeader: true },
      schema: { tags: ["cluster"], summary: "Remove a controller (voter or observer); a leader that removes itself hands leadership over", params: MemberParams, response: answers(200, RemoveMemberAnswer) },
    },
    async (request): Promise<RemoveMemberAnswerJson> => {
      const removed = await membership.removeMember(request.params.id);
      return { membership: membershipJson(removed.membership), removedId: removed.removedId, unregistered: removed.unregistered };
    },
  );
}

function address(text: string, field: string): HostPort {
  const parsed = parseHostPort(text, field);
  if (!parsed.ok) throw new ApiError("BAD_REQUEST", `Cannot accept the request as ${parsed.error}: current value is ${JSON.stringify(text)}`, { field });
  return parsed.value;
}

function membershipJson(membership: Membership): { voters: number[]; learners: number[] } {
  return { voters: [...membership.voters], learners: [...membership.learners] };
}
