import assert from "node:assert/strict";
import { test } from "node:test";
import { assertWellFormed, type Operation } from "./history.js";

type Op = Operation<string, string>;

const wellFormed: readonly { readonly name: string; readonly operation: Op }[] = [
  { name: "an ok operation", operation: { clientId: 1, input: "i", invokeMs: 1.5, outcome: "ok", output: "o", completeMs: 2.5 } },
  { name: "an instantaneous ok operation", operation: { clientId: 1, input: "i", invokeMs: 3, outcome: "ok", output: "o", completeMs: 3 } },
  { name: "a failed operation", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "fail", completeMs: 2 } },
  { name: "an unknown operation", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "unknown" } },
];

const malformed: readonly { readonly name: string; readonly operation: Op; readonly message: RegExp }[] = [
  { name: "an ok operation without output", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "ok", completeMs: 2 }, message: /has no output/ },
  { name: "an ok operation without completeMs", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "ok", output: "o" }, message: /completeMs is undefined/ },
  { name: "an operation completed before it was invoked", operation: { clientId: 1, input: "i", invokeMs: 5, outcome: "ok", output: "o", completeMs: 4 }, message: /completeMs is 4/ },
  { name: "a failed operation without completeMs", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "fail" }, message: /completeMs is undefined/ },
  { name: "an unknown operation with completeMs", operation: { clientId: 1, input: "i", invokeMs: 1, outcome: "unknown", completeMs: 2 }, message: /has completeMs 2/ },
  { name: "an operation invoked at NaN", operation: { clientId: 1, input: "i", invokeMs: Number.NaN, outcome: "unknown" }, message: /invokeMs is NaN/ },
];

for (const { name, operation } of wellFormed) {
  test(`assertWellFormed() accepts ${name}`, () => {
    assertWellFormed(operation);
  });
}

for (const { name, operation, message } of malformed) {
  test(`assertWellFormed() rejects ${name}`, () => {
    assert.throws(() => assertWellFormed(operation), message);
  });
}
