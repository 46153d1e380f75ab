import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { createNatsStreams, natsPublishModes, natsStreamsOf, publishToNats, pubAckRefusal } from "../natsProduce.js";
import { NatsCluster, natsConfig, natsManager, natsServerVersion } from "./nats.js";
import type { NatsNode } from "./nats.js";

const nodes: NatsNode[] = [1, 2, 3].map((i) => ({ name: `nats-${i}`, clientPort: 4000 + i, clusterPort: 6000 + i, storeDir: `/tmp/n/nats-${i}` }));

test("natsConfig() gives a node its own name, loopback ports and store dir, and routes to all three", () => {
  assert.deepEqual(natsConfig(nodes, 1, "default").trimEnd().split("\n"), [
    "server_name: nats-2",
    "listen: 127.0.0.1:4002",
    "jetstream {",
    '  store_dir: "/tmp/n/nats-2"',
    "}",
    "cluster {",
    "  name: yakt-bench",
    "  listen: 127.0.0.1:6002",
    "  routes: [nats-route://127.0.0.1:6001, nats-route://127.0.0.1:6002, nats-route://127.0.0.1:6003]",
    "}",
  ]);
});

test("natsConfig() asks for an fsync on every write only with sync always", () => {
  assert.match(natsConfig(nodes, 0, "always"), /^jetstream \{\n {2}store_dir: "[^"]+"\n {2}sync_interval: always\n\}$/m);
  assert.doesNotMatch(natsConfig(nodes, 0, "default"), /sync/);
});

test("natsConfig() refuses a node that is not in the list", () => {
  assert.throws(() => natsConfig(nodes, 3, "default"), /no node 3/);
});

test("natsStreamsOf() names a stream and a subject per partition", () => {
  assert.deepEqual(natsStreamsOf("produce-200", 3), {
    names: ["produce-200-p0", "produce-200-p1", "produce-200-p2"],
    subjects: ["bench.produce-200-p0", "bench.produce-200-p1", "bench.produce-200-p2"],
  });
});

test("pubAckRefusal() accepts a PubAck with a sequence and names a refusal, a status and a non-JSON answer", () => {
  const answer = (text: string): { data: Uint8Array } => ({ data: new TextEncoder().encode(text) });
  assert.equal(pubAckRefusal(answer('{"stream":"t-p0","seq":7}')), undefined);
  assert.match(pubAckRefusal(answer('{"error":{"code":503,"description":"no quorum"}}')) ?? "", /^JetStream refused the message: .*no quorum/);
  assert.match(pubAckRefusal(answer("garbage")) ?? "", /^a PubAck that is not JSON: garbage/);
  assert.equal(pubAckRefusal({ data: new Uint8Array(0), headers: { code: 503, description: "No Responders" } as never }), "status 503 No Responders");
});

// The one test here that starts real servers: a 3-node cluster, 3 streams of 3 replicas, a few
// hundred messages through two producers. Skipped where nats-server is not installed.
const installed = natsServerVersion() !== undefined;
test("a real 3-node JetStream cluster takes R3 streams and the bench's publishes", { skip: installed ? false : "nats-server is not installed (scripts/install-references.sh nats)", timeout: 120_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), "yakt-test-nats-"));
  const cluster = await NatsCluster.start(dir);
  try {
    const streams = natsStreamsOf("t", 3);
    const leaders = await createNatsStreams(cluster, streams, 3);
    assert.equal(leaders.length, 3);
    for (const publishMode of natsPublishModes) {
      const run = await publishToNats(cluster, { streams, publishMode, messagesCount: 300, sizeBytes: 200, producersCount: 2, inFlightCount: 16, warmUpMessagesCount: 10 });
      assert.equal(run.errorsCount, 0, run.firstError);
      assert(run.elapsedMs > 0);
      assert(Array.from(run.latenciesMs).every((ms) => ms > 0), `${publishMode}: every timed message has a latency`);
    }
    const connection = await cluster.connect(1);
    try {
      const manager = await natsManager(connection);
      const stored = await Promise.all(streams.names.map(async (name) => (await manager.streams.info(name)).state));
      // Twice (once per publish mode) 300 timed + 2 producers × 10 warm-up, each producer taking the streams in turn from the first.
      assert.deepEqual(stored.map((state) => state.messages), [216, 212, 212]);
      const info = await manager.streams.info(streams.names[0] ?? "");
      assert.equal(info.config.num_replicas, 3);
      assert.equal(info.config.storage, "file");
    } finally {
      await connection.close();
    }
  } finally {
    await cluster.stop();
    await rm(dir, { recursive: true, force: true });
  }
});
