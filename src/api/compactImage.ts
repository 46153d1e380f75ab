import type { Broker, Image, Producer } from "./schemas.js";

/**
 * The compact form of a full metadata image, asked for with `?format=compact` on both MetadataFetch
 * routes (`POST /v1/broker-mgmt/metadata-fetch`, `GET /v1/client-mgmt/metadata`). Without the flag the
 * answer keeps SPEC §4's shape, where each partition is a PartitionRecord object that repeats its
 * topic's UUID and every field name: ~170 bytes a partition, 168 MiB for a million. Here a partition is
 * a tuple under its topic, as in the snapshot (`src/metadata/snapshot.ts`), ~25 bytes:
 *
 *     { "brokers": [Broker, …],                       // as in the SPEC form
 *       "topics": [ { "name": "t", "topicUUID": "…",
 *                     "partitions": [ [partitionId, leader, partitionEpoch, replicas, ISR], …,
 *                                     [partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas] ] } ],
 *       "producers": [Producer, …] }                  // broker view only, as in the SPEC form
 *
 * A partition's tuple has 5 members, or 7 when `removingReplicas` or `addingReplicas` is non-empty
 * (both absent means both empty). `leader` is -1 when the partition has none. Topics come in name
 * order, partitions in id order, brokers in id order, as in the SPEC form.
 *
 * The answer that carries it says `"format": "compact"` beside `kind`; deltas (`kind: "delta"`) are the
 * SPEC's records either way (a delta is what changed, rarely large). A reader that finds no `format`
 * reads the SPEC form: a controller that does not know the flag answers that.
 */
export const compactFormat = "compact";

/** A partition in the compact form; see the module comment for the order. */
export type CompactPartition =
  | readonly [partitionId: number, leader: number, partitionEpoch: number, replicas: readonly number[], isr: readonly number[]]
  | readonly [partitionId: number, leader: number, partitionEpoch: number, replicas: readonly number[], isr: readonly number[], removingReplicas: readonly number[], addingReplicas: readonly number[]];

export interface CompactTopic {
  readonly name: string;
  readonly topicUUID: string;
  readonly partitions: readonly CompactPartition[];
}

export interface CompactImage {
  readonly brokers: readonly Broker[];
  readonly topics: readonly CompactTopic[];
  readonly producers?: readonly Producer[];
}

/**
 * The compact form of `image`, for streaming (jsonStream.ts): each topic turns into its compact form
 * only when it is written (its `toJSON`), one topic at a time, so the event loop is never held for the
 * whole image and no second copy of every partition is built up front. `image` must not change while
 * it streams (it is built from immutable entries).
 */
export function compactImage(image: Image): CompactImage {
  const topics = image.topics.map((topic) => ({ toJSON: () => compactTopicJson(topic) }) as unknown as CompactTopic);
  return { brokers: image.brokers, topics, ...(image.producers === undefined ? {} : { producers: image.producers }) };
}

/** One topic's JSON value in the compact form. */
function compactTopicJson(topic: Image["topics"][number]): CompactTopic {
  const partitions: CompactPartition[] = new Array<CompactPartition>(topic.partitions.length);
  for (let i = 0; i < topic.partitions.length; i++) {
    const { partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas } = topic.partitions[i] as Image["topics"][number]["partitions"][number];
    partitions[i] =
      removingReplicas.length === 0 && addingReplicas.length === 0
        ? [partitionId, leader, partitionEpoch, replicas, ISR]
        : [partitionId, leader, partitionEpoch, replicas, ISR, removingReplicas, addingReplicas];
  }
  return { name: topic.name, topicUUID: topic.topicUUID, partitions };
}

/** A compact image that is not one: `path` names the first member that is wrong. */
export class CompactImageError extends Error {
  readonly code = "BAD_COMPACT_IMAGE";
  constructor(
    readonly path: string,
    expected: string,
  ) {
    super(`Cannot read the compact metadata image as ${path} must be ${expected}`);
    this.name = "CompactImageError";
  }
}

/** Builds a reader's own partition object from one tuple: the decoder allocates nothing else per partition. */
export type PartitionMaker<P> = (
  topic: { readonly name: string; readonly topicUUID: string },
  partitionId: number,
  leader: number,
  partitionEpoch: number,
  replicas: readonly number[],
  isr: readonly number[],
  removingReplicas: readonly number[],
  addingReplicas: readonly number[],
) => P;

export interface DecodedTopic<P> {
  readonly name: string;
  readonly topicUUID: string;
  /** In the answer's order (partition id order). */
  readonly partitions: readonly P[];
}

export interface DecodedImage<P> {
  readonly brokers: readonly Broker[];
  readonly topics: readonly DecodedTopic<P>[];
  readonly producers?: readonly Producer[];
}

const noReplicas: readonly number[] = Object.freeze([]);

/**
 * Reads a compact image (the parsed JSON of an answer's `snapshot`), checking its shape as it goes, and
 * builds each partition with `makePartition`. Throws CompactImageError (code BAD_COMPACT_IMAGE, the
 * offending member's path) on anything that is not the compact form. Brokers and producers are checked
 * for the fields readers use (ids, host, port, status) and passed on as they came.
 */
export function decodeCompactImage<P>(value: unknown, makePartition: PartitionMaker<P>): DecodedImage<P> {
  const image = object(value, "snapshot");
  const brokers = array(image["brokers"], "snapshot.brokers");
  for (let i = 0; i < brokers.length; i++) checkBroker(brokers[i], `snapshot.brokers[${i}]`);
  const topicsIn = array(image["topics"], "snapshot.topics");
  const topics = new Array<DecodedTopic<P>>(topicsIn.length);
  for (let t = 0; t < topicsIn.length; t++) {
    const path = `snapshot.topics[${t}]`;
    const topicIn = object(topicsIn[t], path);
    const name = topicIn["name"];
    const topicUUID = topicIn["topicUUID"];
    if (typeof name !== "string") throw new CompactImageError(`${path}.name`, "a string");
    if (typeof topicUUID !== "string") throw new CompactImageError(`${path}.topicUUID`, "a string");
    const topic = { name, topicUUID };
    const tuples = array(topicIn["partitions"], `${path}.partitions`);
    const partitions = new Array<P>(tuples.length);
    for (let p = 0; p < tuples.length; p++) {
      const tuple = tuples[p];
      if (!Array.isArray(tuple) || (tuple.length !== 5 && tuple.length !== 7)) throw new CompactImageError(`${path}.partitions[${p}]`, "an array of 5 or 7 members");
      const [partitionId, leader, partitionEpoch, replicas, isr, removing, adding] = tuple as unknown[];
      if (!Number.isSafeInteger(partitionId) || (partitionId as number) < 0) throw new CompactImageError(`${path}.partitions[${p}][0]`, "a partition id (an integer ≥ 0)");
      if (!Number.isSafeInteger(leader) || (leader as number) < -1) throw new CompactImageError(`${path}.partitions[${p}][1]`, "a leader (a broker id, or -1)");
      if (!Number.isSafeInteger(partitionEpoch) || (partitionEpoch as number) < 0) throw new CompactImageError(`${path}.partitions[${p}][2]`, "a partition epoch (an integer ≥ 0)");
      partitions[p] = makePartition(
        topic,
        partitionId as number,
        leader as number,
        partitionEpoch as number,
        brokerIds(replicas, `${path}.partitions[${p}][3]`),
        brokerIds(isr, `${path}.partitions[${p}][4]`),
        removing === undefined ? noReplicas : brokerIds(removing, `${path}.partitions[${p}][5]`),
        adding === undefined ? noReplicas : brokerIds(adding, `${path}.partitions[${p}][6]`),
      );
    }
    topics[t] = { name, topicUUID, partitions };
  }
  const producersIn = image["producers"];
  if (producersIn === undefined) return { brokers: brokers as Broker[], topics };
  const producers = array(producersIn, "snapshot.producers");
  for (let i = 0; i < producers.length; i++) {
    const producer = object(producers[i], `snapshot.producers[${i}]`);
    for (const key of ["brokerId", "brokerEpoch", "producerId"]) if (!Number.isSafeInteger(producer[key])) throw new CompactImageError(`snapshot.producers[${i}].${key}`, "an integer");
  }
  return { brokers: brokers as Broker[], topics, producers: producers as Producer[] };
}

function checkBroker(value: unknown, path: string): void {
  const broker = object(value, path);
  for (const key of ["brokerId", "brokerPort", "epoch"]) if (!Number.isSafeInteger(broker[key])) throw new CompactImageError(`${path}.${key}`, "an integer");
  for (const key of ["brokerHost", "brokerStatus"]) if (typeof broker[key] !== "string") throw new CompactImageError(`${path}.${key}`, "a string");
}

function object(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new CompactImageError(path, "an object");
  return value as Record<string, unknown>;
}

function array(value: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(value)) throw new CompactImageError(path, "an array");
  return value;
}

function brokerIds(value: unknown, path: string): readonly number[] {
  if (!Array.isArray(value)) throw new CompactImageError(path, "an array of broker ids");
  for (let i = 0; i < value.length; i++) if (!Number.isSafeInteger(value[i]) || (value[i] as number) < 0) throw new CompactImageError(`${path}[${i}]`, "a broker id (an integer ≥ 0)");
  return value as readonly number[];
}
