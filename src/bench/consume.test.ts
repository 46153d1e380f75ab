import assert from "node:assert/strict";
import { test } from "node:test";
import { parseConsumeArgs } from "./consume.js";

test("parseConsumeArgs() defaults to 200,000 messages of 200 B and 1 KiB", () => {
  assert.deepEqual(parseConsumeArgs([]), { kind: "options", options: { messagesCount: 200_000, sizesBytes: [200, 1024], jsonFile: undefined } });
});

test("parseConsumeArgs() takes --flag value and --flag=value", () => {
  assert.deepEqual(parseConsumeArgs(["--messages=1000", "--sizes", "64", "--json", "consume.json"]), { kind: "options", options: { messagesCount: 1_000, sizesBytes: [64], jsonFile: "consume.json" } });
});

test("parseConsumeArgs() refuses the producer's flags, bad numbers and bad sizes", () => {
  assert.deepEqual(parseConsumeArgs(["--acks", "1"]), { kind: "error", message: 'Cannot run the consume bench as --acks is not a flag of the consume bench: current value is "--acks"' });
  assert.deepEqual(parseConsumeArgs(["--messages", "-5"]), { kind: "error", message: 'Cannot run the consume bench as --messages must be an integer from 1 to 1000000: current value is "-5"' });
  assert.deepEqual(parseConsumeArgs(["--messages", "1000001"]), { kind: "error", message: 'Cannot run the consume bench as --messages must be an integer from 1 to 1000000: current value is "1000001"' });
  assert.deepEqual(parseConsumeArgs(["--sizes", "0"]), { kind: "error", message: 'Cannot run the consume bench as --sizes must be 1 to 10 distinct integers from 1 to 100000, separated by commas: current value is "0"' });
});

test("parseConsumeArgs() answers help before anything else", () => {
  assert.deepEqual(parseConsumeArgs(["--sizes", "x", "--help"]), { kind: "help" });
});
