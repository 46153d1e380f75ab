import { Readable } from "node:stream";
import { setImmediate as nextTurn } from "node:timers/promises";

/**
 * Serialises an answer as a stream of JSON text, giving the event loop back between pieces.
 *
 * Why: a full metadata image of a million partitions is over 100 MB of JSON. Serialised in one call
 * (Fastify's schema serializer, or JSON.stringify) it holds the event loop for seconds, and a
 * controller that cannot tick or answer its peers for that long loses its leadership and fences the
 * brokers whose heartbeats wait behind it. Streamed, the same text goes out a piece at a time, with
 * timers, heartbeats and Raft messages served in between, and never sits whole in memory.
 *
 * The output is exactly `JSON.stringify(value)`: objects and arrays down to `depthMax` are written
 * member by member, anything deeper by one JSON.stringify call each (a topic with its partitions, a
 * record). The value must not change while it streams: callers pass answers built from immutable
 * entries (an image or a list of records), never live state.
 */
export function jsonStream(value: unknown, options: JsonStreamOptions = {}): Readable {
  return Readable.from(pieces(value, options.depthMax ?? depthMaxDefault, options.chunkBytes ?? chunkBytesDefault), { objectMode: false });
}

export interface JsonStreamOptions {
  /** Containers this deep (the top is 0) are written member by member; deeper ones whole. */
  readonly depthMax?: number;
  /** Text gathered before a piece is handed on and the event loop is given a turn. */
  readonly chunkBytes?: number;
}

/** Answer → image → topics → one topic: a topic is the unit written whole. */
const depthMaxDefault = 2;
/** Large enough that the per-piece overhead is noise, small enough that one piece costs well under a tick. */
const chunkBytesDefault = 256 * 1024;

async function* pieces(value: unknown, depthMax: number, chunkBytes: number): AsyncGenerator<string> {
  let pending = "";
  for (const text of texts(value, 0, depthMax)) {
    pending += text;
    if (pending.length < chunkBytes) continue;
    yield pending;
    pending = "";
    await nextTurn();
  }
  if (pending !== "") yield pending;
}

/** The JSON text of `value` in order, splitting containers down to `depthMax`. */
function* texts(value: unknown, depth: number, depthMax: number): Generator<string> {
  if (depth > depthMax || value === null || typeof value !== "object" || typeof (value as { toJSON?: unknown }).toJSON === "function") {
    yield JSON.stringify(value) ?? "null";
    return;
  }
  if (Array.isArray(value)) {
    yield "[";
    for (let i = 0; i < value.length; i++) {
      if (i > 0) yield ",";
      const item: unknown = value[i];
      // As JSON.stringify: an array member that has no JSON form is written as null.
      yield* isOmitted(item) ? ["null"] : texts(item, depth + 1, depthMax);
    }
    yield "]";
    return;
  }
  yield "{";
  let first = true;
  for (const [key, member] of Object.entries(value)) {
    if (isOmitted(member)) continue; // As JSON.stringify: such a property is left out.
    yield `${first ? "" : ","}${JSON.stringify(key)}:`;
    first = false;
    yield* texts(member, depth + 1, depthMax);
  }
  yield "}";
}

function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}
