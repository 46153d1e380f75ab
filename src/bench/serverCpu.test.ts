import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProcStatCpuTicks } from "./serverCpu.js";

test("parseProcStatCpuTicks() adds utime and stime, also when the command name holds spaces and parentheses", () => {
  const fields = "S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 12 0";
  assert.equal(parseProcStatCpuTicks(`1234 (java) ${fields}`), 300);
  assert.equal(parseProcStatCpuTicks(`1234 (a (b) c) ${fields}`), 300);
});

test("parseProcStatCpuTicks() refuses a line without the CPU fields", () => {
  assert.throws(() => parseProcStatCpuTicks("1234 (x) S 1 2"), /no fields 14 and 15/);
});
