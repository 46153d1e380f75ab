import type { Entry } from "../raft/types.js";
import { assert } from "../shared/assert.js";

/** A client's write as it travels in an entry: set `key` to `value`, on behalf of (clientId, requestId). */
export interface KvCommand {
  readonly clientId: number;
  readonly requestId: number;
  readonly key: number;
  readonly value: number;
}

const commandBytes = 16;
const recordBytes = 12;

export function encodeCommand(command: KvCommand): Uint8Array {
  const bytes = new Uint8Array(commandBytes);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, command.clientId);
  view.setUint32(4, command.requestId);
  view.setUint32(8, command.key);
  view.setUint32(12, command.value);
  return bytes;
}

export function decodeCommand(data: Uint8Array): KvCommand {
  assert(data.length === commandBytes, `a command is ${commandBytes} bytes: current length is ${data.length}`);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { clientId: view.getUint32(0), requestId: view.getUint32(4), key: view.getUint32(8), value: view.getUint32(12) };
}

interface Slot {
  readonly value: number;
  readonly version: number;
}

/**
 * The replicated state machine of the simulation: a map from key to (value, version), where every
 * applied write bumps its key's version. `stateHash` is an order-independent digest of the whole map,
 * kept up to date in O(1) per write, so the checker can compare states at equal applied indexes.
 */
export class KvStore {
  private readonly slots = new Map<number, Slot>();
  private hash = 0;
  appliedIndex: number;

  constructor(appliedIndex = 0) {
    this.appliedIndex = appliedIndex;
  }

  get stateHash(): number {
    return this.hash;
  }

  version(key: number): number {
    return this.slots.get(key)?.version ?? 0;
  }

  value(key: number): number | undefined {
    return this.slots.get(key)?.value;
  }

  /** Applies one committed entry; returns the write it made (noop and membership entries make none). */
  apply(entry: Entry): { readonly command: KvCommand; readonly version: number } | undefined {
    this.appliedIndex = entry.index;
    if (entry.type !== "normal") return undefined;
    const command = decodeCommand(entry.data);
    const version = this.version(command.key) + 1;
    this.set(command.key, { value: command.value, version });
    return { command, version };
  }

  /** The snapshot bytes: [count u32] then per key, sorted, [key u32][value u32][version u32]. */
  encode(): Uint8Array {
    const keys = [...this.slots.keys()].sort((a, b) => a - b);
    const bytes = new Uint8Array(4 + keys.length * recordBytes);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, keys.length);
    keys.forEach((key, i) => {
      const slot = this.slots.get(key) as Slot;
      view.setUint32(4 + i * recordBytes, key);
      view.setUint32(8 + i * recordBytes, slot.value);
      view.setUint32(12 + i * recordBytes, slot.version);
    });
    return bytes;
  }

  static decode(data: Uint8Array, appliedIndex: number): KvStore {
    const kv = new KvStore(appliedIndex);
    if (data.length === 0) return kv; // The empty snapshot of a brand-new node.
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const count = view.getUint32(0);
    assert(data.length === 4 + count * recordBytes, `a snapshot of ${count} keys is ${4 + count * recordBytes} bytes: current length is ${data.length}`);
    for (let i = 0; i < count; i++) {
      kv.set(view.getUint32(4 + i * recordBytes), { value: view.getUint32(8 + i * recordBytes), version: view.getUint32(12 + i * recordBytes) });
    }
    return kv;
  }

  private set(key: number, slot: Slot): void {
    const old = this.slots.get(key);
    if (old !== undefined) this.hash ^= mix(key, old.value, old.version);
    this.slots.set(key, slot);
    this.hash ^= mix(key, slot.value, slot.version);
  }
}

function mix(key: number, value: number, version: number): number {
  let h = Math.imul(key ^ 0x9e3779b9, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ value, 0xc2b2ae35);
  h = Math.imul(h ^ (h >>> 16) ^ version, 0x27d4eb2f);
  return (h ^ (h >>> 15)) >>> 0;
}
