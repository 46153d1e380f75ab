import assert from "node:assert/strict";
import { test } from "node:test";
import { withCluster } from "./harness.js";
import { errorCodeOf, httpExchange } from "./http.js";
import { waitFor } from "./waitFor.js";

const requestTimeoutMs = 5_000;
const campaignTimeoutMs = 10_000;

test("a controller that knows no leader refuses a write at once with 503 NO_LEADER and Retry-After", { timeout: 60_000 }, async () => {
  // One of three configured controllers: it can never win an election alone.
  await withCluster({ nodesCount: 3, startIds: [1], name: "yakt-e2e-no-leader" }, async (cluster) => {
    const url = cluster.apiUrl(1);
    const ready = await httpExchange(`${url}/readyz`, { timeoutMs: requestTimeoutMs });
    assert.equal(ready.status, 503);
    assert.equal(errorCodeOf(ready.body), "NO_LEADER");

    const latenciesMs: number[] = [];
    const tryWrite = async (name: string): Promise<void> => {
      const write = await httpExchange(`${url}/v1/topics`, { method: "POST", body: { name }, headers: { "idempotency-key": `lonely:${latenciesMs.length + 1}` }, timeoutMs: requestTimeoutMs });
      assert.equal(write.status, 503, JSON.stringify(write.body));
      assert.equal(errorCodeOf(write.body), "NO_LEADER");
      assert.match(write.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
      latenciesMs.push(write.elapsedMs);
    };
    // Right after start, then once the node has passed its election timeout and is campaigning.
    await tryWrite("lonely-1");
    await waitFor("node 1 to campaign", async () => ((await cluster.status(1)).role === "follower" ? undefined : true), { timeoutMs: campaignTimeoutMs, intervalMs: 20 });
    await tryWrite("lonely-2");

    const read = await httpExchange(`${url}/v1/topics`, { timeoutMs: requestTimeoutMs });
    assert.equal(read.status, 503, JSON.stringify(read.body));
    assert.equal(errorCodeOf(read.body), "NO_LEADER");
    const stale = await httpExchange(`${url}/v1/topics?consistency=stale`, { timeoutMs: requestTimeoutMs });
    assert.deepEqual([stale.status, stale.body], [200, { topics: [] }], "a stale read is served from the node's own state");
    assert.deepEqual(await cluster.terminate(1), { code: 0, signal: null }, "a controller without a leader stops cleanly on SIGTERM");
    console.log(`POST /v1/topics without a leader answered in ${latenciesMs.map((ms) => `${ms.toFixed(1)} ms`).join(" and ")}`);
  });
});
