import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { notLeaderError } from "../controller/errors.js";
import { controllerStatus, FakeController, jsonRequest, testApp, testMembers } from "./testing.js";

/** A follower whose leader (controller 2) is a plain HTTP server answering with `answer`. */
async function withLeader(answer: (request: IncomingMessage, response: ServerResponse) => void, body: (follower: ReturnType<typeof testApp>) => Promise<void>): Promise<void> {
  const leader = createServer(answer);
  leader.listen(0, "127.0.0.1");
  await once(leader, "listening");
  try {
    const { port } = leader.address() as AddressInfo;
    const members = testMembers.map((m) => (m.id === 2 ? { ...m, api: { host: "127.0.0.1", port } } : m));
    const controller = new FakeController();
    controller.current = controllerStatus({ role: "follower", leaderId: 2, progress: [] });
    controller.proposeError = notLeaderError(2);
    const follower = testApp({ controller, members });
    try {
      await body(follower);
    } finally {
      await follower.app.close();
    }
  } finally {
    leader.closeAllConnections();
    leader.close();
  }
}

const createTopic = jsonRequest("POST", "/v1/topics", { name: "orders" });

test("a forwarded write relays the leader's answer whole, however large (a full metadata image is tens of MiB)", async () => {
  const piece = `"${"x".repeat(64 * 1024 - 3)}",`;
  const pieces = 400; // 25 MiB
  await withLeader(
    (_request, response) => {
      response.writeHead(201, { "content-type": "application/json; charset=utf-8" });
      response.write("[");
      for (let i = 0; i < pieces; i++) response.write(piece);
      response.end("0]");
    },
    async ({ app }) => {
      const answer = await app.inject(createTopic);
      assert.equal(answer.statusCode, 201);
      assert.equal(answer.headers["content-type"], "application/json; charset=utf-8");
      assert.equal(answer.rawPayload.length, 1 + pieces * piece.length + 2);
      assert.equal((answer.json() as unknown[]).length, pieces + 1);
    },
  );
});

test("a forwarded write whose leader never begins its answer is 503 FORWARD_FAILED with outcome unknown", async () => {
  await withLeader(
    (request) => {
      request.resume(); // Reads the write and never answers.
    },
    async ({ app }) => {
      app.get("/v1/never", { config: { forwardToLeader: true, forwardTimeoutMs: 200 } }, () => {
        throw notLeaderError(2);
      });
      const answer = await app.inject({ method: "GET", url: "/v1/never" });
      assert.equal(answer.statusCode, 503);
      assert.equal(answer.json().code, "FORWARD_FAILED");
      assert.equal(answer.json().outcome, "unknown");
    },
  );
});
