import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import type { CompatProfileName, MemberAddress } from "../controller/config.js";
import { mergeMemberAddresses, registeredAddress } from "../controller/memberAddresses.js";
import { MembershipService } from "../controller/membershipService.js";
import { MetadataService } from "../controller/metadataService.js";
import { notLeaderError } from "../controller/errors.js";
import { controllerStatus, FakeController, ManualClock } from "../controller/testing.js";
import { buildApp } from "./app.js";

export { controllerStatus, FakeController, ManualClock } from "../controller/testing.js";

/** Test fixtures for the HTTP layer: a controller twin that applies proposals at once, and an app over it. */

export const testMembers: MemberAddress[] = [1, 2, 3].map((id) => ({ id, raft: { host: "127.0.0.1", port: 9100 + id }, api: { host: "127.0.0.1", port: 9000 + id } }));

export interface TestApp {
  readonly app: FastifyInstance;
  readonly controller: FakeController;
  readonly service: MetadataService;
  readonly membership: MembershipService;
  readonly clock: ManualClock;
}

export interface TestAppOptions {
  readonly bodyBytesMax?: number;
  readonly members?: readonly MemberAddress[];
  readonly controller?: FakeController;
  readonly sessionTimeoutMs?: number;
  readonly compatProfile?: CompatProfileName;
  readonly logger?: FastifyBaseLogger;
}

/** An app over a fake controller and a real MetadataService; UUIDs are numbered, time moves by hand. */
export function testApp(options: TestAppOptions = {}): TestApp {
  const controller = options.controller ?? new FakeController();
  const clock = new ManualClock();
  let uuids = 0;
  const service = new MetadataService({
    controller,
    stateMachine: controller.stateMachine,
    nowMs: () => clock.nowMs,
    newUUID: () => uuidOf(++uuids),
    liveness: { heartbeatIntervalMs: 2_000, sessionTimeoutMs: options.sessionTimeoutMs ?? 9_000 },
  });
  // As in a controller process: the command line's members, then the registered controllers.
  const members = (): MemberAddress[] => mergeMemberAddresses([options.members ?? testMembers, service.stateMachine.controllers().map(registeredAddress)]);
  const membership = new MembershipService({ controller, metadata: service, members });
  const app = buildApp({
    controller,
    metadata: service,
    membership,
    members,
    pid: 4242,
    ...(options.bodyBytesMax === undefined ? {} : { bodyBytesMax: options.bodyBytesMax }),
    ...(options.compatProfile === undefined ? {} : { compatProfile: options.compatProfile }),
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  return { app, controller, service, membership, clock };
}

/** The n-th UUID `testApp` hands out. */
/**
 * For tests of forwarding: the leader's app (node 2) listening on a loopback port, and a follower's app
 * (node 1, which knows node 2 leads and refuses to propose) that forwards writes to it over HTTP. The
 * leader's server is closed when `body` ends.
 */
export async function withForwardingPair(body: (pair: { readonly leader: TestApp; readonly follower: TestApp }) => Promise<void>): Promise<void> {
  const leaderController = new FakeController();
  leaderController.current = controllerStatus({ id: 2, leaderId: 2 });
  const leader = testApp({ controller: leaderController });
  await leader.app.listen({ host: "127.0.0.1", port: 0 });
  try {
    const address = leader.app.server.address();
    if (address === null || typeof address !== "object") throw new Error("the leader's app listens on a TCP port");
    const members = testMembers.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port: address.port } } : m));
    const followerController = new FakeController();
    followerController.current = controllerStatus({ role: "follower", leaderId: 2, progress: [] });
    followerController.proposeError = notLeaderError(2);
    await body({ leader, follower: testApp({ controller: followerController, members }) });
  } finally {
    await leader.app.close();
  }
}

export function uuidOf(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

export const jsonRequest = (method: "POST" | "PUT" | "PATCH" | "DELETE", url: string, payload: unknown, headers: Record<string, string> = {}) => ({
  method,
  url,
  headers: { "content-type": "application/json", ...headers },
  payload: typeof payload === "string" ? payload : JSON.stringify(payload),
});
