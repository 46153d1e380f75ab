import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { Cluster } from "./harness.js";

test("a controller that cannot listen on its API address exits 1 and logs why", { timeout: 60_000 }, async () => {
  const cluster = await Cluster.start({ nodesCount: 3, startIds: [], name: "yakt-e2e-start-failure" });
  // Holds the port and hangs up on anyone who connects, so probes of it fail at once.
  const squatter = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      squatter.once("error", reject);
      squatter.listen(Number(new URL(cluster.apiUrl(1)).port), "127.0.0.1", resolve);
    });
    await assert.rejects(cluster.startNode(1), /Cannot start node 1 as it exited during start: code 1/);
    assert.deepEqual(cluster.lastExit(1), { code: 1, signal: null });
    assert.match(await cluster.readLog(1), /"msg":"cannot listen"/);
  } finally {
    squatter.close();
    await cluster.close();
  }
});
