import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import type { TestApp, TestAppOptions } from "../testing.js";
import { testApp, uuidOf } from "../testing.js";

/** Test fixtures for the compatibility routes: the app of api/testing.ts with a chosen root profile. */

export type CompatTestApp = TestApp;
export type CompatTestAppOptions = Pick<TestAppOptions, "compatProfile" | "members" | "controller">;

/** UUIDs are numbered (…-000000000001 first), time moves by hand, proposals apply at once. */
export function compatTestApp(options: CompatTestAppOptions = {}): CompatTestApp {
  return testApp(options);
}

export { uuidOf };

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
