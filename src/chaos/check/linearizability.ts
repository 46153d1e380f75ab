/**
 * A linearizability checker in the manner of Porcupine: Wing & Gong's search with Lowe's memo ("Testing
 * for linearizability", 2017). A history is linearizable if every operation can be given one point in
 * time, between its invocation and its completion, such that applying the operations in the order of
 * those points to the sequential model gives every output the clients saw (Herlihy & Wing, 1990).
 *
 * The search walks a list of call and return events in time order. At each step it tries to linearize one
 * of the calls that precede the earliest return still in the list; a return reached before its call was
 * linearized is a dead end, and the search undoes its last choice. Configurations (linearized set, model
 * state) already explored are skipped. The search is a loop over an explicit stack, so a history of any
 * length cannot overflow the call stack.
 *
 * Outcomes (`history.ts`): "fail" operations took no effect and are dropped. An "unknown" operation has
 * its return at +infinity: it may be linearized at any point after its invocation, and leaving it out
 * entirely is the same as linearizing it after everything else, so the search succeeds as soon as every
 * operation of known outcome is linearized.
 */
import { assert, assertNever } from "../../shared/assert.js";
import { assertWellFormed, type Operation } from "./history.js";
import { createLinearizedSet, createMemo } from "./memo.js";

export interface Model<State, Input, Output> {
  readonly init: () => State;
  /** Applies `input` to `state`. For an op of known outcome, `output` is what the client saw and `ok` says whether it is legal; for an unknown op `output` is undefined and any output is allowed. */
  readonly step: (state: State, input: Input, output: Output | undefined) => { readonly ok: boolean; readonly state: State };
  /** A canonical string of a state, for memoisation. */
  readonly stateKey: (state: State) => string;
  /** Splits a history into independent sub-histories (e.g. by key); default: one. */
  readonly partition?: (operations: readonly Operation<Input, Output>[]) => Operation<Input, Output>[][];
  /** For messages. */
  readonly describe?: (input: Input, output: Output | undefined) => string;
}

export type CheckResult =
  | {
      readonly verdict: "linearizable";
      /** Operations checked: those left after dropping "fail" ones and whatever `partition` dropped. */
      readonly operationsCount: number;
      readonly partitionsCount: number;
      /** Search steps over all partitions: a measure of how hard the history was. */
      readonly stepsCount: number;
    }
  | {
      readonly verdict: "not-linearizable";
      readonly partitionIndex: number;
      /** The longest linearizable prefix found and the ops that could not be placed, described. */
      readonly explanation: string;
    }
  | {
      readonly verdict: "unknown";
      /** Which bound ran out, and where. */
      readonly reason: string;
      /** The first partition whose search gave up. */
      readonly partitionIndex: number;
    };

export interface CheckOptions {
  /** Search steps allowed per partition before the verdict is "unknown". */
  readonly stepsMax?: number;
  /** Bytes of memo allowed per partition before the verdict is "unknown". */
  readonly memoBytesMax?: number;
}

/**
 * Per partition, so that one hard partition cannot keep the others from a verdict. A step is one event
 * visited; ten million take seconds, not minutes.
 */
export const stepsMaxDefault = 10_000_000;
/** Per partition; the memo lives outside the JS heap, in typed arrays. */
export const memoBytesMaxDefault = 512 * 1024 * 1024;
/** Operations listed in an explanation, per list: enough to see the conflict, short enough to read. */
export const explanationOperationsCountMax = 12;

/**
 * Checks that `operations` (one history, in any order) are linearizable with respect to `model`.
 * Partitions are checked in order; a "not-linearizable" partition wins over one whose search gave up,
 * since it is a definite answer.
 */
export function checkLinearizable<S, I, O>(
  model: Model<S, I, O>,
  operations: readonly Operation<I, O>[],
  options: CheckOptions = {},
): CheckResult {
  const stepsMax = options.stepsMax ?? stepsMaxDefault;
  const memoBytesMax = options.memoBytesMax ?? memoBytesMaxDefault;
  assert(Number.isSafeInteger(stepsMax) && stepsMax > 0, `Cannot check a history: stepsMax is ${stepsMax}`);
  assert(memoBytesMax > 0, `Cannot check a history: memoBytesMax is ${memoBytesMax}`);
  for (const operation of operations) assertWellFormed(operation);

  const considered = operations.filter((operation) => operation.outcome !== "fail");
  const partitions = model.partition === undefined ? [considered] : model.partition(considered);
  let operationsCount = 0;
  let stepsCount = 0;
  let gaveUp: { readonly reason: string; readonly partitionIndex: number } | undefined;
  for (const [partitionIndex, partition] of partitions.entries()) {
    const result = checkPartition(model, partition, { stepsMax, memoBytesMax });
    switch (result.verdict) {
      case "linearizable":
        operationsCount += partition.length;
        stepsCount += result.stepsCount;
        break;
      case "not-linearizable":
        return {
          verdict: "not-linearizable",
          partitionIndex,
          explanation: `Partition ${partitionIndex} (${plural(partition.length, "operation")}) is not linearizable. ${result.explanation}`,
        };
      case "unknown":
        gaveUp ??= {
          partitionIndex,
          reason: `Gave up on partition ${partitionIndex} (${plural(partition.length, "operation")}): ${result.reason}`,
        };
        break;
      default:
        assertNever(result, "partition verdict");
    }
  }
  if (gaveUp !== undefined) return { verdict: "unknown", ...gaveUp };
  return { verdict: "linearizable", operationsCount, partitionsCount: partitions.length, stepsCount };
}

type PartitionResult =
  | { readonly verdict: "linearizable"; readonly stepsCount: number }
  | { readonly verdict: "not-linearizable"; readonly explanation: string }
  | { readonly verdict: "unknown"; readonly reason: string };

const NONE = -1;

/**
 * The events of one partition as a doubly linked list over typed arrays. Entries are numbered in time
 * order; entry `head` is a sentinel before the first. Operations are renumbered: those of known outcome
 * first, by invocation, then unknown ones (the order the memo's bitset layout expects).
 */
interface EventList<I, O> {
  readonly operations: readonly Operation<I, O>[];
  readonly knownCount: number;
  readonly head: number;
  readonly next: Int32Array;
  readonly prev: Int32Array;
  /** The operation of each entry. */
  readonly operationOf: Int32Array;
  /** 1 for a return entry, 0 for a call. */
  readonly isReturn: Uint8Array;
  /** The return entry of each operation. */
  readonly returnOf: Int32Array;
  /** The bit of each operation in the linearized set. */
  readonly bitOf: Int32Array;
  readonly knownWordsCount: number;
  readonly wordsCount: number;
}

function buildEventList<I, O>(partition: readonly Operation<I, O>[]): EventList<I, O> {
  const byInvoke = (a: Operation<I, O>, b: Operation<I, O>): number => a.invokeMs - b.invokeMs;
  const known = partition.filter((operation) => operation.outcome === "ok").sort(byInvoke);
  const unknown = partition.filter((operation) => operation.outcome === "unknown").sort(byInvoke);
  assert(
    known.length + unknown.length === partition.length,
    `Cannot check a partition holding "fail" operations: they must be dropped first`,
  );
  const operations = [...known, ...unknown];
  const count = operations.length;

  // Calls at invokeMs, returns at completeMs or +infinity. At equal times calls come first, so operations
  // that merely touch are treated as concurrent: the checker never convicts on a tie of clock readings.
  const invokesMs = Float64Array.from(operations, (operation) => operation.invokeMs);
  const completesMs = Float64Array.from(operations, (operation) => operation.completeMs ?? Number.POSITIVE_INFINITY);
  const byTime = (timesMs: Float64Array) => (a: number, b: number) => (timesMs[a] as number) - (timesMs[b] as number) || a - b;
  const calls = Array.from({ length: count }, (_, operation) => operation).sort(byTime(invokesMs));
  const returns = Array.from({ length: count }, (_, operation) => operation).sort(byTime(completesMs));

  const entriesCount = 2 * count;
  const head = entriesCount;
  const next = new Int32Array(entriesCount + 1);
  const prev = new Int32Array(entriesCount + 1);
  const operationOf = new Int32Array(entriesCount);
  const isReturn = new Uint8Array(entriesCount);
  const returnOf = new Int32Array(count);
  let callsTaken = 0;
  for (let entry = 0; entry < entriesCount; entry++) {
    const call = calls[callsTaken];
    const ret = returns[entry - callsTaken] as number;
    if (call !== undefined && (invokesMs[call] as number) <= (completesMs[ret] as number)) {
      operationOf[entry] = call;
      callsTaken++;
    } else {
      operationOf[entry] = ret;
      isReturn[entry] = 1;
      returnOf[ret] = entry;
    }
    next[entry] = entry + 1 < entriesCount ? entry + 1 : NONE;
    prev[entry] = entry === 0 ? head : entry - 1;
  }
  next[head] = entriesCount > 0 ? 0 : NONE;
  prev[head] = NONE;

  const knownWordsCount = Math.ceil(known.length / 32);
  const wordsCount = knownWordsCount + Math.ceil(unknown.length / 32);
  const bitOf = new Int32Array(count);
  for (let operation = 0; operation < count; operation++) {
    bitOf[operation] = operation < known.length ? operation : knownWordsCount * 32 + (operation - known.length);
  }
  return { operations, knownCount: known.length, head, next, prev, operationOf, isReturn, returnOf, bitOf, knownWordsCount, wordsCount };
}

/** Takes a call entry and its return entry out of the list; their own links stay, for `unlift`. */
function lift(list: EventList<unknown, unknown>, call: number): void {
  unlink(list, call);
  unlink(list, list.returnOf[list.operationOf[call] as number] as number);
}

/** Puts back what `lift` took out, in the reverse order, which restores the links exactly. */
function unlift(list: EventList<unknown, unknown>, call: number): void {
  relink(list, list.returnOf[list.operationOf[call] as number] as number);
  relink(list, call);
}

function unlink({ next, prev }: EventList<unknown, unknown>, entry: number): void {
  const before = prev[entry] as number;
  const after = next[entry] as number;
  next[before] = after;
  if (after !== NONE) prev[after] = before;
}

function relink({ next, prev }: EventList<unknown, unknown>, entry: number): void {
  const after = next[entry] as number;
  next[prev[entry] as number] = entry;
  if (after !== NONE) prev[after] = entry;
}

/** The deepest dead end the search reached: what the explanation describes. */
interface DeadEnd<S> {
  /** Operations linearized, in order. */
  readonly prefix: Int32Array;
  readonly state: S;
  /** Operations whose calls preceded the blocking return, in list order. */
  readonly pending: readonly number[];
  /** The operation whose return was reached before it could be linearized. */
  readonly blocking: number;
}

function checkPartition<S, I, O>(
  model: Model<S, I, O>,
  partition: readonly Operation<I, O>[],
  bounds: { readonly stepsMax: number; readonly memoBytesMax: number },
): PartitionResult {
  const list = buildEventList(partition);
  const { operations, head, next, operationOf, isReturn, bitOf } = list;
  const count = operations.length;
  const outputs = operations.map((operation) => (operation.outcome === "ok" ? operation.output : undefined));
  const memo = createMemo(list, bounds.memoBytesMax);
  const linearized = createLinearizedSet(list);
  const stateIdOf = stateIdentifier(model.stateKey);

  const stackCalls = new Int32Array(count);
  const stackStates = new Array<S>(count);
  const deepest = createDeepestPrefix(count);
  let depth = 0;
  let state = model.init();
  let knownRemaining = list.knownCount;
  let deadEnd: Omit<DeadEnd<S>, "prefix"> | undefined;
  let stepsCount = 0;
  let entry = next[head] as number;

  while (knownRemaining > 0) {
    if (++stepsCount > bounds.stepsMax) {
      return { verdict: "unknown", reason: `the search took more than stepsMax = ${bounds.stepsMax} steps` };
    }
    // A known operation's return is still in the list, and every entry before it is a call.
    assert(entry !== NONE, "The linearizability search ran off the end of the event list");
    const operation = operationOf[entry] as number;
    if (isReturn[entry] === 0) {
      const operationRecord = operations[operation] as Operation<I, O>;
      const stepped = model.step(state, operationRecord.input, outputs[operation]);
      if (stepped.ok) {
        linearized.add(bitOf[operation] as number);
        const added = memo.add(linearized, stateIdOf(stepped.state));
        if (added === "added") {
          stackCalls[depth] = entry;
          stackStates[depth] = state;
          depth++;
          state = stepped.state;
          if (operationRecord.outcome === "ok") knownRemaining--;
          lift(list, entry);
          entry = next[head] as number;
          continue;
        }
        linearized.remove(bitOf[operation] as number);
        if (added === "full") {
          return { verdict: "unknown", reason: `the memo outgrew memoBytesMax = ${bounds.memoBytesMax} bytes` };
        }
      }
      entry = next[entry] as number;
      continue;
    }

    // A return reached: its operation was not linearized in time. Remember the deepest such dead end,
    // then undo the last choice and try the call after it.
    if (deadEnd === undefined || depth > deepest.length()) {
      deepest.record(stackCalls, depth);
      deadEnd = { state, pending: pendingOperations(list, entry), blocking: operation };
    }
    if (depth === 0) {
      const prefix = deepest.operations(list);
      return { verdict: "not-linearizable", explanation: explain(model, operations, { ...deadEnd, prefix }) };
    }
    depth--;
    deepest.truncate(depth);
    const call = stackCalls[depth] as number;
    state = stackStates[depth] as S;
    const undone = operationOf[call] as number;
    linearized.remove(bitOf[undone] as number);
    if ((operations[undone] as Operation<I, O>).outcome === "ok") knownRemaining++;
    unlift(list, call);
    entry = next[call] as number;
  }
  return { verdict: "linearizable", stepsCount };
}

/**
 * The call entries of the deepest dead end's prefix, kept without copying the whole stack at every new
 * depth: only the part of the stack that changed since the last record is copied, so the copying costs
 * no more than the pushes did.
 */
function createDeepestPrefix(countMax: number): {
  record(stackCalls: Int32Array, depth: number): void;
  truncate(depth: number): void;
  length(): number;
  operations(list: EventList<unknown, unknown>): Int32Array;
} {
  const calls = new Int32Array(countMax);
  let length = 0;
  /** calls[0, sharedCount) equals the stack's bottom entries. */
  let sharedCount = 0;
  return {
    record: (stackCalls, depth) => {
      calls.set(stackCalls.subarray(sharedCount, depth), sharedCount);
      length = depth;
      sharedCount = depth;
    },
    truncate: (depth) => {
      sharedCount = Math.min(sharedCount, depth);
    },
    length: () => length,
    operations: (list) => calls.slice(0, length).map((call) => list.operationOf[call] as number),
  };
}

/**
 * Identifies model states by their canonical key. States the model handed back unchanged (a read)
 * are the same object, so an object's id is cached by identity and its key computed once.
 */
function stateIdentifier<S>(stateKey: (state: S) => string): (state: S) => number {
  const idsByKey = new Map<string, number>();
  const idsByObject = new WeakMap<object, number>();
  return (state) => {
    const isObject = typeof state === "object" && state !== null;
    if (isObject) {
      const cached = idsByObject.get(state);
      if (cached !== undefined) return cached;
    }
    const id = internState(idsByKey, stateKey(state));
    if (isObject) idsByObject.set(state, id);
    return id;
  };
}

function internState(stateIds: Map<string, number>, key: string): number {
  let id = stateIds.get(key);
  if (id === undefined) {
    id = stateIds.size;
    stateIds.set(key, id);
  }
  return id;
}

function pendingOperations(list: EventList<unknown, unknown>, blockingReturn: number): number[] {
  const pending: number[] = [];
  for (let entry = list.next[list.head] as number; entry !== blockingReturn && entry !== NONE; entry = list.next[entry] as number) {
    pending.push(list.operationOf[entry] as number);
  }
  return pending;
}

function explain<S, I, O>(model: Model<S, I, O>, operations: readonly Operation<I, O>[], deadEnd: DeadEnd<S>): string {
  const describe = (operation: number): string => describeOperation(model, operations[operation] as Operation<I, O>);
  const { prefix, state, pending, blocking } = deadEnd;
  const lines: string[] = [];
  const stateKey = model.stateKey(state);
  if (prefix.length === 0) {
    lines.push(`No operation can be linearized first, from the initial state ${stateKey}.`);
  } else {
    const shownFrom = Math.max(0, prefix.length - explanationOperationsCountMax);
    const shown = shownFrom > 0 ? `; its last ${prefix.length - shownFrom}` : "";
    lines.push(`The longest linearizable prefix found has ${plural(prefix.length, "operation")}${shown}:`);
    for (let i = shownFrom; i < prefix.length; i++) lines.push(`  ${i + 1}. ${describe(prefix[i] as number)}`);
    lines.push(`It leaves the state ${stateKey}.`);
  }
  lines.push(`Next must come ${describe(blocking)}, or an operation invoked before it completed; none of these can:`);
  for (const operation of pending.slice(0, explanationOperationsCountMax)) {
    const record = operations[operation] as Operation<I, O>;
    const legal = model.step(state, record.input, record.outcome === "ok" ? record.output : undefined).ok;
    lines.push(`  - ${describe(operation)}: ${legal ? "legal here, but no linearization continues from it" : "illegal in this state"}`);
  }
  if (pending.length > explanationOperationsCountMax) {
    lines.push(`  … and ${pending.length - explanationOperationsCountMax} more`);
  }
  return lines.join("\n");
}

function describeOperation<S, I, O>(model: Model<S, I, O>, operation: Operation<I, O>): string {
  const output = operation.outcome === "ok" ? operation.output : undefined;
  const what =
    model.describe?.(operation.input, output) ??
    `${JSON.stringify(operation.input)} → ${output === undefined ? "?" : JSON.stringify(output)}`;
  const completed = operation.completeMs === undefined ? "never completed" : `completed ${formatMs(operation.completeMs)}`;
  return `client ${operation.clientId}: ${what} [invoked ${formatMs(operation.invokeMs)}, ${completed}, ${operation.outcome}]`;
}

function formatMs(timeMs: number): string {
  return `${Number.isInteger(timeMs) ? timeMs : timeMs.toFixed(3)} ms`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}
