import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng, type Prng } from "../../shared/prng.js";
import type { Operation } from "./history.js";
import { checkLinearizable, type CheckResult, type Model } from "./linearizability.js";
import { registerModel, type RegisterInput, type RegisterOutput, type RegisterState } from "./models.js";

type Op = Operation<RegisterInput, RegisterOutput>;

/** [invokeMs, completeMs] */
type Interval = readonly [number, number];

function write(clientId: number, key: string, value: string, [invokeMs, completeMs]: Interval): Op {
  return { clientId, input: { kind: "write", key, value }, invokeMs, outcome: "ok", output: {}, completeMs };
}
function read(clientId: number, key: string, value: string | null, [invokeMs, completeMs]: Interval): Op {
  return { clientId, input: { kind: "read", key }, invokeMs, outcome: "ok", output: { value }, completeMs };
}
function writeUnknown(clientId: number, key: string, value: string, invokeMs: number): Op {
  return { clientId, input: { kind: "write", key, value }, invokeMs, outcome: "unknown" };
}
function readUnknown(clientId: number, key: string, invokeMs: number): Op {
  return { clientId, input: { kind: "read", key }, invokeMs, outcome: "unknown" };
}
function writeFailed(clientId: number, key: string, value: string, [invokeMs, completeMs]: Interval): Op {
  return { clientId, input: { kind: "write", key, value }, invokeMs, outcome: "fail", completeMs };
}

type Verdict = CheckResult["verdict"];

const classicCases: readonly { readonly name: string; readonly history: readonly Op[]; readonly verdict: Verdict }[] = [
  { name: "an empty history", history: [], verdict: "linearizable" },
  {
    name: "a sequential history",
    history: [read(1, "x", null, [0, 5]), write(1, "x", "1", [10, 20]), read(2, "x", "1", [30, 40]), write(2, "x", "2", [50, 60]), read(1, "x", "2", [70, 80])],
    verdict: "linearizable",
  },
  {
    name: "a read concurrent with a write that sees the new value",
    history: [write(1, "x", "1", [0, 10]), write(1, "x", "2", [20, 40]), read(2, "x", "2", [25, 35])],
    verdict: "linearizable",
  },
  {
    name: "a read concurrent with a write that sees the old value",
    history: [write(1, "x", "1", [0, 10]), write(1, "x", "2", [20, 40]), read(2, "x", "1", [25, 35])],
    verdict: "linearizable",
  },
  {
    // The search first orders the writes as listed and fails; the same set of writes in the other order
    // leaves another state, which the memo must not mistake for the explored one.
    name: "two concurrent writes, then a read of the one listed first",
    history: [write(1, "x", "1", [0, 10]), write(2, "x", "2", [0, 10]), read(3, "x", "1", [20, 30])],
    verdict: "linearizable",
  },
  {
    name: "operations that merely touch count as concurrent",
    history: [write(1, "x", "1", [0, 10]), read(2, "x", null, [10, 20])],
    verdict: "linearizable",
  },
  {
    name: "a stale read after a completed write",
    history: [write(1, "x", "1", [0, 10]), write(1, "x", "2", [20, 30]), read(2, "x", "1", [40, 50])],
    verdict: "not-linearizable",
  },
  {
    name: "a read of a value never written",
    history: [write(1, "x", "1", [0, 10]), read(2, "x", "7", [5, 15])],
    verdict: "not-linearizable",
  },
  {
    name: "a read of nothing after a completed write",
    history: [write(1, "x", "1", [0, 10]), read(2, "x", null, [20, 30])],
    verdict: "not-linearizable",
  },
  {
    name: "a new value then an old one, both during one write",
    history: [write(1, "x", "1", [0, 100]), read(2, "x", "1", [10, 20]), read(3, "x", null, [30, 40])],
    verdict: "not-linearizable",
  },
  {
    name: "two reads after two concurrent writes that disagree on their order",
    history: [write(1, "x", "1", [0, 10]), write(2, "x", "2", [0, 10]), read(3, "x", "1", [20, 30]), read(3, "x", "2", [40, 50])],
    verdict: "not-linearizable",
  },
  {
    name: "an unknown write that later becomes visible",
    history: [write(1, "x", "1", [0, 10]), writeUnknown(2, "x", "2", 20), read(3, "x", "1", [30, 40]), read(3, "x", "2", [50, 60])],
    verdict: "linearizable",
  },
  {
    name: "an unknown write that never becomes visible",
    history: [write(1, "x", "1", [0, 10]), writeUnknown(2, "x", "2", 20), read(3, "x", "1", [30, 40]), read(3, "x", "1", [1000, 1010])],
    verdict: "linearizable",
  },
  {
    name: "a read that sees an unknown write, then a read that does not",
    history: [write(1, "x", "1", [0, 10]), writeUnknown(2, "x", "2", 20), read(3, "x", "2", [30, 40]), read(3, "x", "1", [50, 60])],
    verdict: "not-linearizable",
  },
  {
    name: "a read that sees an unknown write before it was invoked",
    history: [read(1, "x", "2", [0, 10]), writeUnknown(2, "x", "2", 20)],
    verdict: "not-linearizable",
  },
  {
    name: "a failed write that is never visible",
    history: [write(1, "x", "1", [0, 10]), writeFailed(2, "x", "2", [20, 30]), read(3, "x", "1", [40, 50])],
    verdict: "linearizable",
  },
  {
    name: "a failed write that is visible",
    history: [write(1, "x", "1", [0, 10]), writeFailed(2, "x", "2", [20, 30]), read(3, "x", "2", [40, 50])],
    verdict: "not-linearizable",
  },
  {
    name: "an unknown read, which constrains nothing",
    history: [write(1, "x", "1", [0, 10]), readUnknown(2, "x", 5), read(3, "x", "1", [20, 30])],
    verdict: "linearizable",
  },
  {
    name: "only unknown operations",
    history: [writeUnknown(1, "x", "1", 0), readUnknown(2, "x", 5)],
    verdict: "linearizable",
  },
];

for (const { name, history, verdict } of classicCases) {
  test(`checkLinearizable() judges ${name} ${verdict}`, () => {
    assert.equal(checkLinearizable(registerModel, history).verdict, verdict);
    // Neither the order of the records nor the partitioning may change the verdict.
    assert.equal(checkLinearizable(registerModel, [...history].reverse()).verdict, verdict);
    assert.equal(checkLinearizable(unpartitioned(registerModel), history).verdict, verdict);
  });
}

test("checkLinearizable() explains a stale read by the longest prefix and the read it could not place", () => {
  const result = checkLinearizable(registerModel, [
    write(1, "x", "1", [0, 10]),
    write(1, "x", "2", [20, 30]),
    read(2, "x", "1", [40, 50]),
  ]);
  assert.equal(result.verdict, "not-linearizable");
  assert.match(result.explanation, /^Partition 0 \(3 operations\) is not linearizable\./);
  assert.match(result.explanation, /longest linearizable prefix found has 2 operations/);
  assert.match(result.explanation, /1\. client 1: write\(x, "1"\)/);
  assert.match(result.explanation, /2\. client 1: write\(x, "2"\)/);
  assert.match(result.explanation, /It leaves the state \[\["x","2"\]\]\./);
  assert.match(result.explanation, /Next must come client 2: read\(x\) → "1" \[invoked 40 ms, completed 50 ms, ok\]/);
  assert.match(result.explanation, / {2}- client 2: read\(x\) → "1" \[invoked 40 ms, completed 50 ms, ok\]: illegal in this state/);
});

test("checkLinearizable() counts the operations and partitions it checked", () => {
  const result = checkLinearizable(registerModel, [
    write(1, "a", "1", [0, 10]),
    writeFailed(1, "a", "2", [10, 20]),
    readUnknown(2, "b", 0),
    read(2, "b", null, [0, 10]),
    writeUnknown(3, "c", "1", 0),
  ]);
  assert.deepEqual(result, { verdict: "linearizable", operationsCount: 3, partitionsCount: 3, stepsCount: result.verdict === "linearizable" ? result.stepsCount : -1 });
});

test("checkLinearizable() checks partitions independently and names the failing one", () => {
  const history = [
    // Key "a" is linearizable on its own; so would "b" be without "a"'s write of "2".
    write(1, "a", "1", [0, 10]),
    write(1, "a", "2", [20, 30]),
    read(2, "a", "2", [40, 50]),
    write(3, "b", "1", [0, 10]),
    read(4, "b", "2", [40, 50]),
    write(5, "c", "1", [0, 10]),
  ];
  const result = checkLinearizable(registerModel, history);
  assert.equal(result.verdict, "not-linearizable");
  assert.equal(result.partitionIndex, 1);
  assert.match(result.explanation, /client 4: read\(b\) → "2"/);
  assert.doesNotMatch(result.explanation, /read\(a\)/);
});

test("checkLinearizable() prefers a failing partition over one whose search gave up", () => {
  const history = [...concurrentWritesThenImpossibleRead("a", 12), write(1, "b", "1", [0, 10]), read(2, "b", null, [20, 30])];
  const result = checkLinearizable(registerModel, history, { stepsMax: 100 });
  assert.equal(result.verdict, "not-linearizable");
  assert.equal(result.partitionIndex, 1);
});

test("checkLinearizable() gives up with 'unknown' when stepsMax runs out", () => {
  const history = concurrentWritesThenImpossibleRead("x", 12);
  const result = checkLinearizable(registerModel, history, { stepsMax: 100 });
  assert.equal(result.verdict, "unknown");
  assert.equal(result.partitionIndex, 0);
  assert.match(result.reason, /stepsMax = 100/);
  // With room to finish, the same search convicts.
  assert.equal(checkLinearizable(registerModel, history).verdict, "not-linearizable");
});

test("checkLinearizable() gives up with 'unknown' when the memo outgrows memoBytesMax", () => {
  const result = checkLinearizable(registerModel, concurrentWritesThenImpossibleRead("x", 12), { memoBytesMax: 64 * 1024 });
  assert.equal(result.verdict, "unknown");
  assert.match(result.reason, /memoBytesMax/);
});

test("checkLinearizable() rejects a malformed operation", () => {
  const noOutput: Op = { clientId: 1, input: { kind: "read", key: "x" }, invokeMs: 0, outcome: "ok", completeMs: 1 };
  assert.throws(() => checkLinearizable(registerModel, [noOutput]), /has no output/);
});

test("checkLinearizable() agrees with a brute-force search on small random histories", () => {
  const verdicts = { linearizable: 0, "not-linearizable": 0 };
  for (let seed = 1; seed <= 600; seed++) {
    const prng = createPrng(seed);
    const history = randomSmallHistory(prng);
    const expected = bruteForceLinearizable(registerModel, history) ? "linearizable" : "not-linearizable";
    const result = checkLinearizable(registerModel, history);
    assert.equal(result.verdict, expected, `seed ${seed}: ${JSON.stringify(history)}`);
    verdicts[expected]++;
  }
  // The generator must exercise both answers, or the comparison proves little.
  assert.ok(verdicts.linearizable > 100 && verdicts["not-linearizable"] > 100, JSON.stringify(verdicts));
});

test("checkLinearizable() accepts every history of a real execution, and rejects it once one read is corrupted", () => {
  for (let seed = 1; seed <= 300; seed++) {
    const prng = createPrng(seed);
    const history = executedHistory(prng, { operationsCount: 60, keysCount: 3, spreadMs: 40 });
    const result = checkLinearizable(registerModel, history);
    assert.equal(result.verdict, "linearizable", `seed ${seed}: ${JSON.stringify(result)}`);

    const readIndexes = history.flatMap((op, i) => (op.input.kind === "read" && op.outcome === "ok" ? [i] : []));
    const corruptedIndex = prng.pick(readIndexes);
    const corrupted = history.map((op, i): Op => (i === corruptedIndex ? { ...op, output: { value: "never-written" } } : op));
    const corruptedResult = checkLinearizable(registerModel, corrupted);
    assert.equal(corruptedResult.verdict, "not-linearizable", `seed ${seed}, corrupted operation ${corruptedIndex}`);
    assert.match(corruptedResult.explanation, /"never-written"/);
  }
});

test("checkLinearizable() finishes a history of 20,000 operations across 50 keys", (t) => {
  const history = executedHistory(createPrng(2026), { operationsCount: 20_000, keysCount: 50, spreadMs: 60 });
  const startMs = performance.now();
  const result = checkLinearizable(registerModel, history);
  t.diagnostic(`checked in ${(performance.now() - startMs).toFixed(0)} ms: ${JSON.stringify(result)}`);
  assert.equal(result.verdict, "linearizable");
});

test("checkLinearizable() finishes a history of 20,000 operations on one key without recursion", (t) => {
  const history = executedHistory(createPrng(7), { operationsCount: 20_000, keysCount: 1, spreadMs: 40 });
  const startMs = performance.now();
  const result = checkLinearizable(registerModel, history);
  t.diagnostic(`checked in ${(performance.now() - startMs).toFixed(0)} ms: ${JSON.stringify(result)}`);
  assert.equal(result.verdict, "linearizable");
});

/** `count` writes of distinct values, all concurrent, then a read of a value none of them wrote. */
function concurrentWritesThenImpossibleRead(key: string, count: number): Op[] {
  const writes = Array.from({ length: count }, (_, i) => write(i, key, `${i}`, [0, 100]));
  return [...writes, read(count, key, "never-written", [200, 210])];
}

function unpartitioned<S, I, O>(model: Model<S, I, O>): Model<S, I, O> {
  const { partition: _partition, ...rest } = model;
  return rest;
}

/**
 * A history produced by really executing operations one at a time, each at its own instant (10 ms
 * apart), with an interval drawn around that instant: linearizable by construction. Some writes are
 * "unknown" (half of them took effect) or "fail" (none took effect); some reads are "unknown".
 */
function executedHistory(
  prng: Prng,
  { operationsCount, keysCount, spreadMs }: { readonly operationsCount: number; readonly keysCount: number; readonly spreadMs: number },
): Op[] {
  const registers = new Map<string, string>();
  const history: Op[] = [];
  for (let i = 0; i < operationsCount; i++) {
    const atMs = i * 10;
    const invokeMs = atMs - prng.int(spreadMs + 1);
    const completeMs = atMs + prng.int(spreadMs + 1);
    const clientId = prng.int(10);
    const key = `k${prng.int(keysCount)}`;
    const roll = prng.float();
    if (roll < 0.45) {
      const value = `v${i}`;
      if (roll < 0.04) {
        history.push(writeUnknown(clientId, key, value, invokeMs));
        if (prng.chance(0.5)) registers.set(key, value);
      } else if (roll < 0.06) {
        history.push(writeFailed(clientId, key, value, [invokeMs, completeMs]));
      } else {
        history.push(write(clientId, key, value, [invokeMs, completeMs]));
        registers.set(key, value);
      }
    } else if (roll < 0.47) {
      history.push(readUnknown(clientId, key, invokeMs));
    } else {
      history.push(read(clientId, key, registers.get(key) ?? null, [invokeMs, completeMs]));
    }
  }
  return history;
}

/** Up to 7 operations on one or two keys with arbitrary outputs, so that either verdict is likely. */
function randomSmallHistory(prng: Prng): Op[] {
  const count = prng.intBetween(1, 7);
  const keys = prng.chance(0.3) ? ["x", "y"] : ["x"];
  const values = ["1", "2", "3"];
  return Array.from({ length: count }, (_, i): Op => {
    const invokeMs = prng.int(40);
    const interval: Interval = [invokeMs, invokeMs + prng.int(25)];
    const key = prng.pick(keys);
    const roll = prng.float();
    if (roll < 0.35) return write(i, key, prng.pick(values), interval);
    if (roll < 0.45) return writeUnknown(i, key, prng.pick(values), invokeMs);
    if (roll < 0.5) return writeFailed(i, key, prng.pick(values), interval);
    if (roll < 0.55) return readUnknown(i, key, invokeMs);
    return read(i, key, prng.chance(0.2) ? null : prng.pick(values), interval);
  });
}

/**
 * The definition, by exhaustion: some order of the non-failed operations that respects real time
 * (a completed before b was invoked ⇒ a first), in which every known operation is placed and legal;
 * unknown operations may be left out.
 */
function bruteForceLinearizable(model: Model<RegisterState, RegisterInput, RegisterOutput>, history: readonly Op[]): boolean {
  const ops = history.filter((op) => op.outcome !== "fail");
  const precedes = (a: Op, b: Op): boolean => a.completeMs !== undefined && a.completeMs < b.invokeMs;
  const placed = new Array<boolean>(ops.length).fill(false);
  const search = (state: RegisterState): boolean => {
    const ready = ops.filter((op, i) => !placed[i] && ops.every((other, j) => placed[j] || !precedes(other, op)));
    if (ops.every((op, i) => placed[i] || op.outcome === "unknown")) return true;
    for (const op of ready) {
      const i = ops.indexOf(op);
      const stepped = model.step(state, op.input, op.outcome === "ok" ? op.output : undefined);
      if (!stepped.ok) continue;
      placed[i] = true;
      const found = search(stepped.state);
      placed[i] = false;
      if (found) return true;
    }
    return false;
  };
  return search(model.init());
}
