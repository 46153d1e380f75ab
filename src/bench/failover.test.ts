import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFailoverArgs } from "./failover.js";

test("parseFailoverArgs() defaults to 20 trials and the controllers' own election settings", () => {
  assert.deepEqual(parseFailoverArgs([]), { kind: "options", options: { trialsCount: 20, tickMs: undefined, electionTicks: undefined, heartbeatTicks: undefined, jsonFile: undefined } });
});

test("parseFailoverArgs() takes --flag value and --flag=value", () => {
  assert.deepEqual(parseFailoverArgs(["--trials", "12", "--tick-ms=100", "--election-ticks", "10", "--heartbeat-ticks=1", "--json", "out.json"]), {
    kind: "options",
    options: { trialsCount: 12, tickMs: 100, electionTicks: 10, heartbeatTicks: 1, jsonFile: "out.json" },
  });
});

test("parseFailoverArgs() refuses a bad number, an unknown flag and a missing value", () => {
  assert.deepEqual(parseFailoverArgs(["--trials", "0"]), { kind: "error", message: 'Cannot run the failover bench as --trials must be an integer from 1 to 1000: current value is "0"' });
  assert.deepEqual(parseFailoverArgs(["--tick-ms", "1.5"]), { kind: "error", message: 'Cannot run the failover bench as --tick-ms must be an integer from 1 to 1000: current value is "1.5"' });
  assert.deepEqual(parseFailoverArgs(["--nodes", "5"]), { kind: "error", message: 'Cannot run the failover bench as --nodes is not a flag of the failover bench: current value is "--nodes"' });
  assert.deepEqual(parseFailoverArgs(["--json"]), { kind: "error", message: "Cannot run the failover bench as --json needs a value" });
});

test("parseFailoverArgs() answers help before anything else", () => {
  assert.deepEqual(parseFailoverArgs(["--trials", "x", "--help"]), { kind: "help" });
});
