import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { CompatProfileName, MemberAddress } from "../../controller/config.js";
import { MetadataService } from "../../controller/metadataService.js";
import { buildApp } from "../app.js";
import { FakeController, ManualClock, testMembers } from "../testing.js";

/** Test fixtures for the compatibility routes: the app of api/testing.ts with a chosen root profile. */

export interface CompatTestApp {
  readonly app: FastifyInstance;
  readonly controller: FakeController;
  readonly service: MetadataService;
  readonly clock: ManualClock;
}

export interface CompatTestAppOptions {
  readonly compatProfile?: CompatProfileName;
  readonly members?: readonly MemberAddress[];
  readonly controller?: FakeController;
}

/** UUIDs are numbered (…-000000000001 first), time moves by hand, proposals apply at once. */
export function compatTestApp(options: CompatTestAppOptions = {}): CompatTestApp {
  const controller = options.controller ?? new FakeController();
  const clock = new ManualClock();
  let uuids = 0;
  const service = new MetadataService({
    controller,
    stateMachine: controller.stateMachine,
    nowMs: () => clock.nowMs,
    newUUID: () => uuidOf(++uuids),
    liveness: { heartbeatIntervalMs: 2_000, sessionTimeoutMs: 9_000 },
  });
  const app = buildApp({
    controller,
    metadata: service,
    members: options.members ?? testMembers,
    pid: 4242,
    ...(options.compatProfile === undefined ? {} : { compatProfile: options.compatProfile }),
  });
  return { app, controller, service, clock };
}

/** The n-th UUID `compatTestApp` hands out. */
export function uuidOf(n: number): string {
  return `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
}

export type Method = "GET" | "POST" | "PUT" | "DELETE";

/** Sends one request; `body` is sent as JSON when given. */
export async function send(app: FastifyInstance, method: Method, url: string, body?: unknown, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  if (body === undefined) return app.inject({ method, url, headers });
  return app.inject({ method, url, headers: { "content-type": "application/json", ...headers }, payload: JSON.stringify(body) });
}

/** The spec envelope around a record's fields, as the earlier clients sent it. */
export function envelope(name: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { type: "metadata", name, fields, timestamp: "" };
}

/** A record as the compat routes answer it from the current state (no time per entity). */
export function stateRecord(name: string, fields: Record<string, unknown>): Record<string, unknown> {
  return { type: "metadata", name, fields, timestamp: null };
}
