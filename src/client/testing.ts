import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import type { MemberAddress } from "../controller/config.js";
import { notLeaderError } from "../controller/errors.js";
import { controllerStatus, testApp } from "../api/testing.js";
import type { TestApp } from "../api/testing.js";

/**
 * Test fixtures for clients of the API: apps over fake controllers (src/api/testing.ts) listening on
 * real loopback ports, so that connections, redirects and headers are the real thing.
 */

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly idempotencyKey: string | undefined;
}

export interface ServedNode extends TestApp {
  readonly id: number;
  readonly url: string;
  /** Every request this node received, in order. */
  readonly requests: SeenRequest[];
}

export interface TestCluster {
  readonly nodes: readonly ServedNode[];
  close(): Promise<void>;
}

export interface TestClusterOptions {
  readonly leaderId?: number;
  /** Runs on each app before it listens, e.g. to add hooks. */
  readonly prepare?: (node: TestApp, id: number) => void;
}

/**
 * Nodes 1…count on 127.0.0.1, each knowing the others' real API ports; node `leaderId` is the leader and
 * the others are followers that forward writes to it and answer reads with 421 NOT_LEADER naming it.
 */
export async function startTestCluster(count: number, options: TestClusterOptions = {}): Promise<TestCluster> {
  const leaderId = options.leaderId ?? 1;
  const members: MemberAddress[] = [];
  const nodes: ServedNode[] = [];
  for (let id = 1; id <= count; id++) {
    const served = testApp({ members });
    served.controller.current = id === leaderId ? controllerStatus({ id, leaderId, votedFor: id }) : controllerStatus({ id, role: "follower", leaderId, votedFor: leaderId, progress: [] });
    if (id !== leaderId) {
      served.controller.proposeError = notLeaderError(leaderId);
      served.controller.readError = notLeaderError(leaderId);
    }
    const requests: SeenRequest[] = [];
    served.app.addHook("onRequest", async (request) => {
      const key = request.headers["idempotency-key"];
      requests.push({ method: request.method, url: request.url, idempotencyKey: typeof key === "string" ? key : undefined });
    });
    options.prepare?.(served, id);
    await served.app.listen({ host: "127.0.0.1", port: 0 });
    const port = (served.app.server.address() as AddressInfo).port;
    members.push({ id, api: { host: "127.0.0.1", port }, raft: { host: "127.0.0.1", port: 1 } });
    nodes.push({ ...served, id, url: `http://127.0.0.1:${port}`, requests });
  }
  return { nodes, close: async () => void (await Promise.all(nodes.map((node) => node.app.close()))) };
}

/** A loopback URL nothing listens on: connections to it are refused. */
export async function refusedUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** A sleep that returns at once and records what it was asked to wait. */
export function recordingSleep(onSleep: (ms: number) => void = () => {}): { readonly sleeps: number[]; readonly sleep: (ms: number) => Promise<void> } {
  const sleeps: number[] = [];
  return {
    sleeps,
    sleep: async (ms) => {
      sleeps.push(ms);
      onSleep(ms);
    },
  };
}
