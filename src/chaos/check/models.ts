/**
 * Sequential models of what chaos clients exercise, for `checkLinearizable`. Each model is correct on
 * its own over a whole history; its `partition` only splits the work by key, which is sound because
 * operations on different keys commute (linearizability is local: Herlihy & Wing, 1990).
 */
import { assertNever } from "../../shared/assert.js";
import type { Operation } from "./history.js";
import type { Model } from "./linearizability.js";

export type RegisterInput =
  | { readonly kind: "write"; readonly key: string; readonly value: string }
  | { readonly kind: "read"; readonly key: string };

/** A read's output is `{ value }` (null: the key was never written); a write's is `{}`. */
export interface RegisterOutput {
  readonly value?: string | null;
}

/** The value of each key written so far. */
export type RegisterState = ReadonlyMap<string, string>;

/** A map of registers: a read returns the value of the last write to its key before it. */
export const registerModel: Model<RegisterState, RegisterInput, RegisterOutput> = {
  init: () => new Map(),
  step: (state, input, output) => {
    switch (input.kind) {
      case "write":
        return { ok: true, state: state.get(input.key) === input.value ? state : new Map(state).set(input.key, input.value) };
      case "read":
        // An unknown read may have returned anything; a known one must match the register.
        return { ok: output === undefined || output.value === (state.get(input.key) ?? null), state };
      default:
        return assertNever(input, "register input");
    }
  },
  stateKey: (state) => JSON.stringify([...state].sort(byKey)),
  // A read of unknown outcome constrains nothing and changes nothing: dropping it saves search.
  partition: (operations) => partitionByKey(operations, (operation) => operation.input.kind === "read"),
  describe: (input, output) => {
    switch (input.kind) {
      case "write":
        return `write(${input.key}, ${JSON.stringify(input.value)})`;
      case "read":
        return `read(${input.key}) → ${output === undefined ? "?" : JSON.stringify(output.value)}`;
      default:
        return assertNever(input, "register input");
    }
  },
};

export type SetInput =
  | { readonly kind: "add"; readonly key: string; readonly element: string }
  | { readonly kind: "read"; readonly key: string };

/**
 * A read's output is `{ elements }`, in any order. An add's is `{}`, or `{ added }` when the system says
 * whether the element was new (e.g. "created" versus "already exists"), which the model then checks.
 */
export interface SetOutput {
  readonly elements?: readonly string[];
  readonly added?: boolean;
}

/** The elements of each key's set, sorted, without duplicates. */
export type SetState = ReadonlyMap<string, readonly string[]>;

/** A map of add-only sets (e.g. the names of the topics created): a read returns the whole set of its key. */
export const setModel: Model<SetState, SetInput, SetOutput> = {
  init: () => new Map(),
  step: (state, input, output) => {
    const elements = state.get(input.key) ?? [];
    switch (input.kind) {
      case "add": {
        const present = elements.includes(input.element);
        const ok = output?.added === undefined || output.added === !present;
        if (present) return { ok, state };
        return { ok, state: new Map(state).set(input.key, [...elements, input.element].sort()) };
      }
      case "read": {
        if (output === undefined) return { ok: true, state };
        const seen = output.elements;
        return { ok: seen !== undefined && sameElements(elements, seen), state };
      }
      default:
        return assertNever(input, "set input");
    }
  },
  stateKey: (state) => JSON.stringify([...state].sort(byKey)),
  partition: (operations) => partitionByKey(operations, (operation) => operation.input.kind === "read"),
  describe: (input, output) => {
    switch (input.kind) {
      case "add":
        return `add(${input.key}, ${JSON.stringify(input.element)})` + (output?.added === undefined ? "" : ` → added: ${output.added}`);
      case "read":
        return `read(${input.key}) → ${output?.elements === undefined ? "?" : JSON.stringify([...output.elements].sort())}`;
      default:
        return assertNever(input, "set input");
    }
  },
};

/**
 * Splits a history into one sub-history per key, in key order, dropping unknown operations that
 * `isReadOnly` says have no effect.
 */
function partitionByKey<I extends { readonly key: string }, O>(
  operations: readonly Operation<I, O>[],
  isReadOnly: (operation: Operation<I, O>) => boolean,
): Operation<I, O>[][] {
  const groups = new Map<string, Operation<I, O>[]>();
  for (const operation of operations) {
    if (operation.outcome === "unknown" && isReadOnly(operation)) continue;
    const group = groups.get(operation.input.key);
    if (group === undefined) groups.set(operation.input.key, [operation]);
    else group.push(operation);
  }
  return [...groups].sort(byKey).map(([, group]) => group);
}

/** Sorted elements against a read's elements in any order; duplicates in the read make it differ. */
function sameElements(sorted: readonly string[], seen: readonly string[]): boolean {
  if (sorted.length !== seen.length) return false;
  const seenSorted = [...seen].sort();
  return sorted.every((element, i) => element === seenSorted[i]);
}

/** Orders [key, value] entries by key, in UTF-16 code unit order like `Array.prototype.sort`. */
function byKey<T>(a: readonly [string, T], b: readonly [string, T]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}
