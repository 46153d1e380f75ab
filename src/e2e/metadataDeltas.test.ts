import assert from "node:assert/strict";
import { test } from "node:test";
import type { BrokerMetadataAnswerJson, Changes, LogAnswerJson, MetadataRecordJson, ProducerWriteAnswerJson, TopicWriteAnswerJson } from "../api/schemas.js";
import { withBrokerFleet } from "./brokerFleet.js";
import { withCluster } from "./harness.js";
import { httpExchange } from "./http.js";
import { waitFor } from "./waitFor.js";

/** Short, so that records age past it within the test; long enough that a fetch right after the writes is a delta. */
const deltaAgeMs = 2_500;
const leaderTimeoutMs = 20_000;
const requestTimeoutMs = 10_000;
const statusTimeoutMs = 20_000;
const ageTimeoutMs = 30_000;
const brokerId = 7;

async function answer<T>(url: string, init: { readonly method?: "GET" | "POST"; readonly body?: unknown }, status: number): Promise<T> {
  const result = await httpExchange(url, { ...init, timeoutMs: requestTimeoutMs });
  assert.equal(result.status, status, `${init.method ?? "GET"} ${url}: ${JSON.stringify(result.body)}`);
  return result.body as T;
}

/** Epoch seconds with milliseconds, one of the time forms a fetch accepts in place of an offset. */
function epochSeconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

test("a metadata fetch from a recent offset or time gets exactly the records missed; once they are older than --delta-age-ms, the full image", { timeout: 90_000 }, async () => {
  await withCluster({ nodesCount: 3, brokerHeartbeatMs: 200, brokerSessionMs: 1_500, deltaAgeMs, name: "yakt-e2e-metadata-deltas" }, async (cluster) => {
    const leader = await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const leaderUrl = cluster.apiUrl(leader.id);
    const followerUrl = cluster.apiUrl(cluster.ids().find((id) => id !== leader.id) ?? 0);
    await withBrokerFleet({ ...cluster.writerOptions(), brokerIds: [brokerId] }, async (fleet) => {
      await fleet.waitForStatus([brokerId], "UNFENCED", { timeoutMs: statusTimeoutMs });
      // A broker's fetch, sent to a follower (which forwards it to the leader, where sessions live).
      const brokerFetch = (offset: number | string): Promise<BrokerMetadataAnswerJson> =>
        answer(`${followerUrl}/v1/broker-mgmt/metadata-fetch`, { method: "POST", body: { brokerId, brokerEpoch: fleet.view(brokerId).epoch, offset } }, 200);
      const clientFetch = (offset: number | string): Promise<Changes> => answer(`${followerUrl}/v1/client-mgmt/metadata?offset=${offset}`, {}, 200);

      const startOffset = (await brokerFetch(fleet.view(brokerId).offset)).currentOffset;
      const topicA = await answer<TopicWriteAnswerJson>(`${leaderUrl}/v1/topics`, { method: "POST", body: { name: "delta-a", partitions: 1, replicationFactor: 1 } }, 201);
      const topicB = await answer<TopicWriteAnswerJson>(`${leaderUrl}/v1/topics`, { method: "POST", body: { name: "delta-b" } }, 201);
      const producer = await answer<ProducerWriteAnswerJson>(`${leaderUrl}/v1/producers`, { method: "POST", body: { brokerId, brokerEpoch: fleet.view(brokerId).epoch } }, 201);

      const delta = await brokerFetch(startOffset);
      assert.equal(delta.kind, "delta", JSON.stringify(delta));
      const records = delta.records ?? [];
      assert.deepEqual(
        records.map((r) => [r.name, r.offset]),
        [
          ["TopicRecord", topicA.offset],
          ["PartitionRecord", topicA.offset],
          ["TopicRecord", topicB.offset],
          ["ProducerIdsRecord", producer.offset],
        ],
        "the records written since the broker's offset, and nothing else",
      );
      assert.deepEqual(records.map((r) => {
        const fields = r.fields as Record<string, unknown>;
        return fields["topicUUID"] ?? fields["producerId"];
      }), [topicA.topic.topicUUID, topicA.topic.topicUUID, topicB.topic.topicUUID, producer.producer.producerId]);
      assert.equal(delta.currentOffset, producer.offset);
      const log = await answer<LogAnswerJson>(`${leaderUrl}/v1/log?fromOffset=${startOffset + 1}`, {}, 200);
      assert.deepEqual(log.records, records, "the delta holds the records of the event log");

      const firstTimestamp = records[0]?.timestamp ?? 0;
      const sinceTime = await brokerFetch(epochSeconds(firstTimestamp - 1));
      assert.equal(sinceTime.kind, "delta", JSON.stringify(sinceTime));
      assert.deepEqual(sinceTime.records, records, "a time just before the first write asks for the same records");

      const clientDelta = await clientFetch(startOffset);
      const clientRecords: MetadataRecordJson[] = records.filter((r) => r.name !== "ProducerIdsRecord");
      assert.deepEqual([clientDelta.kind, clientDelta.records], ["delta", clientRecords], "clients see topics, partitions and brokers, not producers");

      // Polled, not slept: the same fetch turns into the full image once the records it misses are older than the delta age.
      const writtenMs = performance.now();
      const aged = await waitFor(`a fetch from offset ${startOffset} to get the full image`, async () => {
        const fetched = await brokerFetch(startOffset);
        return fetched.kind === "snapshot" ? fetched : undefined;
      }, { timeoutMs: ageTimeoutMs, intervalMs: 100 });
      const agedAfterMs = performance.now() - writtenMs;
      const image = aged.snapshot;
      assert.ok(image !== undefined && aged.records === undefined, JSON.stringify(aged));
      assert.ok(aged.currentOffset >= producer.offset);
      assert.deepEqual(image.topics.map((t) => [t.name, t.topicUUID, t.partitions.length]), [
        ["delta-a", topicA.topic.topicUUID, 1],
        ["delta-b", topicB.topic.topicUUID, 0],
      ]);
      assert.deepEqual(image.brokers.map((b) => [b.brokerId, b.brokerStatus]), [[brokerId, "UNFENCED"]]);
      assert.deepEqual(image.producers?.map((p) => p.producerId), [producer.producer.producerId]);

      const agedByTime = await brokerFetch(epochSeconds(firstTimestamp - 1));
      assert.deepEqual([agedByTime.kind, agedByTime.snapshot?.topics], ["snapshot", image.topics], "a time older than the delta age gets the full image too");
      const clientImage = await clientFetch(startOffset);
      assert.equal(clientImage.kind, "snapshot");
      assert.deepEqual(clientImage.snapshot, { brokers: image.brokers, topics: image.topics }, "the client's image has no producers");
      const upToDate = await brokerFetch(aged.currentOffset);
      assert.deepEqual([upToDate.kind, upToDate.records], ["delta", []], "a caller that missed nothing gets an empty delta, however old its offset");

      console.log(`a fetch from offset ${startOffset} turned from a delta of ${records.length} records into the full image ${agedAfterMs.toFixed(0)} ms after the writes (delta age ${deltaAgeMs} ms)`);
    });
  });
});
