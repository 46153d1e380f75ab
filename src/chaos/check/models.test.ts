import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../../shared/prng.js";
import type { Operation } from "./history.js";
import { checkLinearizable, type CheckResult } from "./linearizability.js";
import { registerModel, setModel, type RegisterInput, type RegisterOutput, type SetInput, type SetOutput } from "./models.js";

type RegisterOp = Operation<RegisterInput, RegisterOutput>;
type SetOp = Operation<SetInput, SetOutput>;
type Verdict = CheckResult["verdict"];

test("registerModel.step() reads null from a key never written and the last value from one written", () => {
  const empty = registerModel.init();
  assert.equal(registerModel.step(empty, { kind: "read", key: "x" }, { value: null }).ok, true);
  assert.equal(registerModel.step(empty, { kind: "read", key: "x" }, { value: "1" }).ok, false);
  const written = registerModel.step(empty, { kind: "write", key: "x", value: "1" }, {});
  assert.equal(written.ok, true);
  assert.equal(registerModel.step(written.state, { kind: "read", key: "x" }, { value: "1" }).ok, true);
  assert.equal(registerModel.step(written.state, { kind: "read", key: "x" }, { value: null }).ok, false);
  assert.equal(registerModel.step(written.state, { kind: "read", key: "y" }, { value: null }).ok, true);
  assert.equal(registerModel.init().size, 0, "step() must not change the state it was given");
});

test("registerModel.step() accepts any unknown read and rejects a known read without a value", () => {
  const state = registerModel.step(registerModel.init(), { kind: "write", key: "x", value: "1" }, undefined).state;
  const unknownRead = registerModel.step(state, { kind: "read", key: "x" }, undefined);
  assert.equal(unknownRead.ok, true);
  assert.equal(unknownRead.state, state);
  assert.equal(registerModel.step(state, { kind: "read", key: "x" }, {}).ok, false);
});

test("registerModel.stateKey() does not depend on the order keys were written in", () => {
  const write = (key: string, value: string) => ({ kind: "write", key, value }) as const;
  const { step, init, stateKey } = registerModel;
  const ab = step(step(init(), write("a", "1"), {}).state, write("b", "2"), {}).state;
  const ba = step(step(init(), write("b", "2"), {}).state, write("a", "1"), {}).state;
  assert.equal(stateKey(ab), stateKey(ba));
  assert.notEqual(stateKey(ab), stateKey(step(ab, write("a", "3"), {}).state));
});

test("registerModel.partition() splits by key in key order and drops unknown reads only", () => {
  const history: RegisterOp[] = [
    { clientId: 1, input: { kind: "write", key: "b", value: "1" }, invokeMs: 0, outcome: "unknown" },
    { clientId: 2, input: { kind: "read", key: "a" }, invokeMs: 0, outcome: "unknown" },
    { clientId: 3, input: { kind: "read", key: "a" }, invokeMs: 1, outcome: "ok", output: { value: null }, completeMs: 2 },
    { clientId: 4, input: { kind: "read", key: "b" }, invokeMs: 3, outcome: "unknown" },
    { clientId: 5, input: { kind: "write", key: "c", value: "1" }, invokeMs: 3, outcome: "ok", output: {}, completeMs: 4 },
  ];
  const partitions = registerModel.partition?.(history) ?? [];
  assert.deepEqual(
    partitions.map((partition) => partition.map((operation) => operation.clientId)),
    [[3], [1], [5]],
  );
});

test("registerModel.describe() names the operation, its key and what it saw", () => {
  const describe = registerModel.describe;
  assert.ok(describe !== undefined);
  assert.equal(describe({ kind: "write", key: "x", value: "1" }, {}), 'write(x, "1")');
  assert.equal(describe({ kind: "read", key: "x" }, { value: null }), "read(x) → null");
  assert.equal(describe({ kind: "read", key: "x" }, undefined), "read(x) → ?");
});

function add(clientId: number, key: string, element: string, invokeMs: number, completeMs?: number, added?: boolean): SetOp {
  const input: SetInput = { kind: "add", key, element };
  if (completeMs === undefined) return { clientId, input, invokeMs, outcome: "unknown" };
  return { clientId, input, invokeMs, outcome: "ok", output: added === undefined ? {} : { added }, completeMs };
}
function readSet(clientId: number, key: string, elements: readonly string[], invokeMs: number, completeMs: number): SetOp {
  return { clientId, input: { kind: "read", key }, invokeMs, outcome: "ok", output: { elements }, completeMs };
}

const setCases: readonly { readonly name: string; readonly history: readonly SetOp[]; readonly verdict: Verdict }[] = [
  {
    name: "reads that see completed adds, in any order",
    history: [add(1, "t", "a", 0, 10), add(1, "t", "b", 20, 30), readSet(2, "t", ["b", "a"], 40, 50), readSet(2, "u", [], 40, 50)],
    verdict: "linearizable",
  },
  {
    name: "a read concurrent with an add that sees it",
    history: [add(1, "t", "a", 0, 30), readSet(2, "t", ["a"], 10, 20)],
    verdict: "linearizable",
  },
  {
    name: "a read concurrent with an add that does not see it",
    history: [add(1, "t", "a", 0, 30), readSet(2, "t", [], 10, 20)],
    verdict: "linearizable",
  },
  {
    name: "a read that misses a completed add",
    history: [add(1, "t", "a", 0, 10), add(1, "t", "b", 20, 30), readSet(2, "t", ["b"], 40, 50)],
    verdict: "not-linearizable",
  },
  {
    name: "a read that sees an element never added",
    history: [add(1, "t", "a", 0, 10), readSet(2, "t", ["a", "z"], 20, 30)],
    verdict: "not-linearizable",
  },
  {
    name: "a read that sees an element twice",
    history: [add(1, "t", "a", 0, 10), readSet(2, "t", ["a", "a"], 20, 30)],
    verdict: "not-linearizable",
  },
  {
    name: "an unknown add seen by a later read",
    history: [add(1, "t", "a", 0), readSet(2, "t", [], 10, 20), readSet(2, "t", ["a"], 30, 40)],
    verdict: "linearizable",
  },
  {
    name: "an unknown add seen, then not seen",
    history: [add(1, "t", "a", 0), readSet(2, "t", ["a"], 10, 20), readSet(2, "t", [], 30, 40)],
    verdict: "not-linearizable",
  },
  {
    name: "two concurrent adds of one element, one of which found it already there",
    history: [add(1, "t", "a", 0, 10, true), add(2, "t", "a", 0, 10, false)],
    verdict: "linearizable",
  },
  {
    name: "two concurrent adds of one element that both say they added it",
    history: [add(1, "t", "a", 0, 10, true), add(2, "t", "a", 0, 10, true)],
    verdict: "not-linearizable",
  },
  {
    name: "an add that found its element already there when it was not",
    history: [add(1, "t", "a", 0, 10, false)],
    verdict: "not-linearizable",
  },
  {
    name: "an add that found its element already there after an unknown add of it",
    history: [add(1, "t", "a", 0), add(2, "t", "a", 5, 10, false)],
    verdict: "linearizable",
  },
];

for (const { name, history, verdict } of setCases) {
  test(`checkLinearizable(setModel) judges ${name} ${verdict}`, () => {
    assert.equal(checkLinearizable(setModel, history).verdict, verdict);
  });
}

test("checkLinearizable(setModel) accepts histories of real executions and rejects a read corrupted by an element never added", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const prng = createPrng(seed);
    const sets = new Map<string, Set<string>>();
    const history: SetOp[] = [];
    for (let i = 0; i < 50; i++) {
      const atMs = i * 10;
      const invokeMs = atMs - prng.int(31);
      const completeMs = atMs + prng.int(31);
      const key = `t${prng.int(2)}`;
      const set = sets.get(key) ?? new Set<string>();
      sets.set(key, set);
      if (prng.chance(0.5)) {
        const element = `e${prng.int(20)}`;
        const added = !set.has(element);
        set.add(element);
        history.push(prng.chance(0.05) ? add(i, key, element, invokeMs) : add(i, key, element, invokeMs, completeMs, added));
      } else {
        history.push(readSet(i, key, [...set].reverse(), invokeMs, completeMs));
      }
    }
    assert.equal(checkLinearizable(setModel, history).verdict, "linearizable", `seed ${seed}`);

    const reads = history.flatMap((op, i) => (op.input.kind === "read" ? [i] : []));
    const corruptedIndex = prng.pick(reads);
    const corrupted = history.map((op, i): SetOp =>
      i === corruptedIndex ? { ...op, output: { elements: [...(op.output?.elements ?? []), "never-added"] } } : op,
    );
    assert.equal(checkLinearizable(setModel, corrupted).verdict, "not-linearizable", `seed ${seed}`);
  }
});
