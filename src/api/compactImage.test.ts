import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CompactImageError, compactImage, decodeCompactImage } from "./compactImage.js";
import type { PartitionMaker } from "./compactImage.js";
import type { Broker, Image } from "./schemas.js";
import { jsonStream } from "./jsonStream.js";
import { applyChanges as applyToBrokerImage, emptyImage } from "../broker/metadataImage.js";
import { applyChanges as applyToClientView, emptyMetadataView } from "../client/clusterMetadata.js";

type Partition = Image["topics"][number]["partitions"][number];

const broker = (brokerId: number, brokerStatus: Broker["brokerStatus"]): Broker => ({
  internalUUID: `uuid-${brokerId}`,
  brokerId,
  brokerHost: "127.0.0.1",
  brokerPort: 9090 + brokerId,
  securityProtocol: "PLAINTEXT",
  rackId: brokerId === 1 ? "a" : null,
  brokerStatus,
  epoch: brokerId + 3,
});

const partition = (topicUUID: string, partitionId: number, fields: Partial<Partition> = {}): Partition => ({
  partitionId,
  topicUUID,
  replicas: [1, 2, 3],
  ISR: [1, 2],
  removingReplicas: [],
  addingReplicas: [],
  leader: 1,
  partitionEpoch: partitionId,
  ...fields,
});

/** Brokers in every status, topics with partitions of every kind, an empty topic, producers. */
const image: Image = {
  brokers: [broker(1, "UNFENCED"), broker(2, "FENCED"), broker(3, "CLOSED"), broker(4, "INIT")],
  topics: [
    { name: "a", topicUUID: "uuid-a", partitions: [partition("uuid-a", 0), partition("uuid-a", 1, { leader: -1, ISR: [] }), partition("uuid-a", 7, { removingReplicas: [3], addingReplicas: [4] })] },
    { name: "empty", topicUUID: "uuid-empty", partitions: [] },
    { name: "z", topicUUID: "uuid-z", partitions: [partition("uuid-z", 0, { replicas: [2], ISR: [2], leader: 2, addingReplicas: [1] })] },
  ],
  producers: [{ brokerId: 1, brokerEpoch: 4, producerId: 1 }],
};

/** The SPEC form's partition back from a tuple. */
const specPartition: PartitionMaker<Partition> = (topic, partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas) => ({
  partitionId,
  topicUUID: topic.topicUUID,
  replicas: [...replicas],
  ISR: [...ISR],
  removingReplicas: [...removingReplicas],
  addingReplicas: [...addingReplicas],
  leader,
  partitionEpoch,
});

/** The member of parsed JSON at `path`, to edit in place. */
function at(root: unknown, ...path: (string | number)[]): Record<string, unknown> {
  let value = root;
  for (const key of path) value = (value as Record<string, unknown>)[key];
  assert.equal(typeof value, "object", path.join("."));
  return value as Record<string, unknown>;
}

function list(root: unknown, ...path: (string | number)[]): unknown[] {
  const value = at(root, ...path);
  assert.ok(Array.isArray(value), path.join("."));
  return value;
}

async function streamedText(value: unknown): Promise<string> {
  let text = "";
  for await (const piece of jsonStream(value, { chunkBytes: 16 })) text += String(piece);
  return text;
}

describe("compact metadata image", () => {
  test("streams to tuples under their topic, and decodes back to the same image", async () => {
    const text = await streamedText(compactImage(image));
    const parsed = JSON.parse(text) as { topics: { partitions: unknown[] }[] };
    assert.deepEqual(parsed.topics[0]?.partitions, [
      [0, 1, 0, [1, 2, 3], [1, 2]],
      [1, -1, 1, [1, 2, 3], []],
      [7, 1, 7, [1, 2, 3], [1, 2], [3], [4]],
    ]);
    assert.deepEqual(parsed.topics[1], { name: "empty", topicUUID: "uuid-empty", partitions: [] });
    assert.equal(text, JSON.stringify(compactImage(image)), "streamed as JSON.stringify writes it");
    const decoded = decodeCompactImage(parsed, specPartition);
    assert.deepEqual(decoded, image);
  });

  test("a client view has no producers; the decoded image has none either", async () => {
    const { producers: _, ...clientImage } = image;
    const decoded = decodeCompactImage(JSON.parse(await streamedText(compactImage(clientImage))), specPartition);
    assert.deepEqual(decoded, clientImage);
    assert.equal("producers" in decoded, false);
  });

  test("an empty image (no brokers, no topics) round-trips", () => {
    const empty: Image = { brokers: [], topics: [] };
    assert.deepEqual(decodeCompactImage(JSON.parse(JSON.stringify(compactImage(empty))), specPartition), empty);
  });

  test("it is several times smaller than the SPEC form", () => {
    const big: Image = { brokers: image.brokers, topics: [{ name: "big", topicUUID: "4c1a2f4e-0d5b-4f7e-9a3b-2f6d8e1c7b90", partitions: Array.from({ length: 1000 }, (_, i) => partition("4c1a2f4e-0d5b-4f7e-9a3b-2f6d8e1c7b90", i)) }] };
    const specBytes = JSON.stringify(big).length;
    const compactBytes = JSON.stringify(compactImage(big)).length;
    assert.ok(compactBytes * 4 < specBytes, `compact ${compactBytes} B against SPEC ${specBytes} B`);
  });

  test("a malformed compact image fails with BAD_COMPACT_IMAGE naming the first wrong member", () => {
    const good = JSON.parse(JSON.stringify(compactImage(image))) as Record<string, unknown>;
    const cases: [string, (copy: Record<string, unknown>) => unknown, string][] = [
      ["not an object", () => [], "snapshot"],
      ["null", () => null, "snapshot"],
      ["no topics", (copy) => ({ brokers: copy["brokers"] }), "snapshot.topics"],
      ["brokers not an array", (copy) => ({ ...copy, brokers: {} }), "snapshot.brokers"],
      ["a broker's port as a string", (copy) => ((at(copy, "brokers", 1)["brokerPort"] = "9092"), copy), "snapshot.brokers[1].brokerPort"],
      ["a topic without a UUID", (copy) => (delete at(copy, "topics", 2)["topicUUID"], copy), "snapshot.topics[2].topicUUID"],
      ["partitions as objects (the SPEC form)", (copy) => ((at(copy, "topics", 0)["partitions"] = image.topics[0]?.partitions), copy), "snapshot.topics[0].partitions[0]"],
      ["a tuple of 6", (copy) => (list(copy, "topics", 0, "partitions", 2).pop(), copy), "snapshot.topics[0].partitions[2]"],
      ["a tuple of 4", (copy) => (list(copy, "topics", 0, "partitions", 0).pop(), copy), "snapshot.topics[0].partitions[0]"],
      ["a fractional partition id", (copy) => ((list(copy, "topics", 0, "partitions", 1)[0] = 1.5), copy), "snapshot.topics[0].partitions[1][0]"],
      ["a leader below -1", (copy) => ((list(copy, "topics", 0, "partitions", 1)[1] = -2), copy), "snapshot.topics[0].partitions[1][1]"],
      ["an epoch as a string", (copy) => ((list(copy, "topics", 0, "partitions", 0)[2] = "0"), copy), "snapshot.topics[0].partitions[0][2]"],
      ["replicas not an array", (copy) => ((list(copy, "topics", 2, "partitions", 0)[3] = 2), copy), "snapshot.topics[2].partitions[0][3]"],
      ["a negative ISR member", (copy) => ((list(copy, "topics", 0, "partitions", 0)[4] = [1, -1]), copy), "snapshot.topics[0].partitions[0][4][1]"],
      ["adding replicas with a null", (copy) => ((list(copy, "topics", 0, "partitions", 2)[6] = [null]), copy), "snapshot.topics[0].partitions[2][6][0]"],
      ["producers not an array", (copy) => ((copy["producers"] = 1), copy), "snapshot.producers"],
      ["a producer without an id", (copy) => (delete at(copy, "producers", 0)["producerId"], copy), "snapshot.producers[0].producerId"],
    ];
    for (const [name, mutate, path] of cases) {
      const malformed = mutate(JSON.parse(JSON.stringify(good)) as Record<string, unknown>);
      assert.throws(
        () => decodeCompactImage(malformed, specPartition),
        (error: unknown) => error instanceof CompactImageError && error.code === "BAD_COMPACT_IMAGE" && error.path === path && error.message.includes(path),
        name,
      );
    }
  });

  test("the broker's image and the client's view refuse a malformed compact answer the same way, and read one without `format` as the SPEC form", () => {
    const malformed = { kind: "snapshot", currentOffset: 9, format: "compact", snapshot: { brokers: [], topics: [{ name: "t", topicUUID: "u", partitions: "none" }] } } as const;
    const refused = (error: unknown) => error instanceof CompactImageError && error.path === "snapshot.topics[0].partitions";
    assert.throws(() => applyToBrokerImage(emptyImage, malformed as never), refused);
    assert.throws(() => applyToClientView(emptyMetadataView, malformed as never), refused);
    const spec = { kind: "snapshot" as const, currentOffset: 9, snapshot: image };
    assert.equal(applyToBrokerImage(emptyImage, spec).topics.get("a")?.partitions.get(7)?.addingReplicas[0], 4);
    assert.deepEqual(applyToClientView(emptyMetadataView, spec).topics.get("z")?.partitions[0]?.replicas, [2]);
  });
});
