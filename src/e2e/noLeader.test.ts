import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { test } from "node:test";
import { withCluster } from "./harness.js";
import { errorCodeOf, httpExchange } from "./http.js";

const requestTimeoutMs = 5_000;

test("a controller that knows no leader refuses a write at once with 503 NO_LEADER and Retry-After", async () => {
  // One of three configured controllers: it can never win an election alone.
  await withCluster({ nodesCount: 3, startIds: [1], name: "yakt-e2e-no-leader" }, async (cluster) => {
    const url = cluster.apiUrl(1);
    const ready = await httpExchange(`${url}/readyz`, { timeoutMs: requestTimeoutMs });
    assert.equal(ready.status, 503);
    assert.equal(errorCodeOf(ready.body), "NO_LEADER");

    const latenciesMs: number[] = [];
    // Right after start, then once the node has passed its election timeout and is campaigning.
    for (const pauseMs of [0, 1_000]) {
      await sleep(pauseMs);
      const put = await httpExchange(`${url}/v1/kv/lonely`, { method: "PUT", body: { value: "v" }, timeoutMs: requestTimeoutMs });
      assert.equal(put.status, 503, JSON.stringify(put.body));
      assert.equal(errorCodeOf(put.body), "NO_LEADER");
      assert.match(put.headers.get("retry-after") ?? "", /^[1-9][0-9]*$/);
      latenciesMs.push(put.elapsedMs);
    }

    const read = await httpExchange(`${url}/v1/kv`, { timeoutMs: requestTimeoutMs });
    assert.equal(read.status, 503, JSON.stringify(read.body));
    assert.equal(errorCodeOf(read.body), "NO_LEADER");
    assert.deepEqual(await cluster.terminate(1), { code: 0, signal: null }, "a controller without a leader stops cleanly on SIGTERM");
    console.log(`PUT without a leader answered in ${latenciesMs.map((ms) => `${ms.toFixed(1)} ms`).join(" and ")}`);
  });
});
