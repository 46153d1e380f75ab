import type { Entry } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import type { StateMachine } from "./stateMachine.js";

/**
 * A small replicated key-value map, the state machine controllers run until the metadata state
 * machine exists. Every write bumps the key's version and records the log index that wrote it, so a
 * test can tell exactly which acknowledged write a node holds. Commands and snapshots are JSON:
 * readable on disk, and fast enough at the sizes tests use.
 */
export interface KvPut {
  readonly op: "put";
  readonly key: string;
  readonly value: string;
}

export interface KvValue {
  readonly value: string;
  readonly version: number;
  /** Log index of the write that set it. */
  readonly index: number;
}

/** What a proposer is told: the key's new version, or why the command was rejected. */
export type KvResult = { readonly ok: true; readonly key: string; readonly version: number } | { readonly ok: false; readonly reason: string };

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function encodeKvPut(key: string, value: string): Uint8Array {
  return textEncoder.encode(JSON.stringify({ op: "put", key, value } satisfies KvPut));
}

export class KvStateMachine implements StateMachine<KvResult | undefined> {
  private values = new Map<string, KvValue>();
  appliedIndex = 0;

  get(key: string): KvValue | undefined {
    return this.values.get(key);
  }

  get size(): number {
    return this.values.size;
  }

  /** Every key and value, sorted by key. */
  entries(): [string, KvValue][] {
    return [...this.values.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  }

  apply(entry: Entry): KvResult | undefined {
    assert(entry.index === this.appliedIndex + 1, `entry ${entry.index} applied after ${this.appliedIndex}`);
    this.appliedIndex = entry.index;
    if (entry.type !== "normal") return undefined;
    const command = decodeKvPut(entry.data);
    if (command === undefined) return { ok: false, reason: "not a put command" };
    const version = (this.values.get(command.key)?.version ?? 0) + 1;
    this.values.set(command.key, { value: command.value, version, index: entry.index });
    return { ok: true, key: command.key, version };
  }

  snapshot(): Uint8Array {
    return textEncoder.encode(JSON.stringify(this.entries()));
  }

  restore(data: Uint8Array, index: number): void {
    this.values = new Map(data.length === 0 ? [] : (JSON.parse(textDecoder.decode(data)) as [string, KvValue][]));
    this.appliedIndex = index;
  }
}

function decodeKvPut(data: Uint8Array): KvPut | undefined {
  try {
    const parsed: unknown = JSON.parse(textDecoder.decode(data));
    if (typeof parsed !== "object" || parsed === null) return undefined;
    const { op, key, value } = parsed as Record<string, unknown>;
    return op === "put" && typeof key === "string" && typeof value === "string" ? { op, key, value } : undefined;
  } catch {
    return undefined;
  }
}
