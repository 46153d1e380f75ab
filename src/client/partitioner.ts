/**
 * Which partition a record goes to: with a key, a stable hash of the key's UTF-8 bytes modulo the
 * partition count, so that every record of one key lands in one partition (and stays in order there);
 * without one, the next partition in turn.
 *
 * The hash is MurmurHash2 (32-bit) with the seed Kafka's default partitioner uses, and the partition is
 * `(hash & 0x7fffffff) % count` as there: a key goes to the partition a Kafka producer would pick for a
 * topic with the same partition count. MurmurHash2 is fast on short keys and spreads them well.
 */

const murmurSeed = 0x9747b28c;
const murmurM = 0x5bd1e995;
const murmurR = 24;

const encoder = new TextEncoder();

/** MurmurHash2 of `data` as a signed 32-bit integer (the value Java's `Utils.murmur2` returns). */
export function murmur2(data: Uint8Array): number {
  const length = data.length;
  let h = (murmurSeed ^ length) | 0;
  const wholeWordsEnd = length - (length % 4);
  for (let i = 0; i < wholeWordsEnd; i += 4) {
    let k = (data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24);
    k = Math.imul(k, murmurM);
    k ^= k >>> murmurR;
    k = Math.imul(k, murmurM);
    h = Math.imul(h, murmurM) ^ k;
  }
  const tailCount = length % 4;
  if (tailCount >= 3) h ^= (data[wholeWordsEnd + 2] as number) << 16;
  if (tailCount >= 2) h ^= (data[wholeWordsEnd + 1] as number) << 8;
  if (tailCount >= 1) {
    h ^= data[wholeWordsEnd] as number;
    h = Math.imul(h, murmurM);
  }
  h ^= h >>> 13;
  h = Math.imul(h, murmurM);
  h ^= h >>> 15;
  return h | 0;
}

/** The index (0 … count-1) of the partition of `key` among `count` partitions. */
export function partitionIndexOfKey(key: string, count: number): number {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`Cannot choose a partition as the topic needs at least one: current value is ${count}`);
  return (murmur2(encoder.encode(key)) & 0x7fffffff) % count;
}

/**
 * Chooses partitions for one producer: keyed records by hash, the others round-robin per topic (a
 * counter each, starting at a random partition so that producers started together spread out).
 */
export class Partitioner {
  private readonly counters = new Map<string, number>();

  constructor(private readonly random: () => number = Math.random) {}

  /** `partitionIds`: the topic's partitions in id order (not necessarily 0 … n-1). */
  choose(topic: string, key: string | null | undefined, partitionIds: readonly number[]): number {
    const count = partitionIds.length;
    const index = key === undefined || key === null ? this.nextIndex(topic, count) : partitionIndexOfKey(key, count);
    return partitionIds[index] as number;
  }

  private nextIndex(topic: string, count: number): number {
    if (count < 1) throw new RangeError(`Cannot choose a partition of topic ${topic} as it has none`);
    const counter = this.counters.get(topic) ?? Math.floor(this.random() * count);
    // Kept below 2^31 so that it stays an exact integer however long the producer runs.
    this.counters.set(topic, (counter + 1) % 0x7fffffff);
    return counter % count;
  }
}
