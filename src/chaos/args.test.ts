import assert from "node:assert/strict";
import { test } from "node:test";
import { parseChaosArgs, rerunCommand } from "./args.js";
import type { ChaosArgs, ParsedChaosArgs } from "./args.js";

const drawSeed = (): number => 77;

function args(parsed: ParsedChaosArgs): ChaosArgs {
  assert.equal(parsed.kind, "args", JSON.stringify(parsed));
  assert.ok(parsed.kind === "args");
  return parsed.args;
}

function reason(parsed: ParsedChaosArgs): string {
  assert.equal(parsed.kind, "error", JSON.stringify(parsed));
  assert.ok(parsed.kind === "error");
  return parsed.reason;
}

test("parseChaosArgs gives the defaults and a drawn seed when no flag is given", () => {
  assert.deepEqual(args(parseChaosArgs([], drawSeed)), {
    durationS: 60,
    nemeses: ["kill", "pause", "partition", "slow", "terminate", "transfer", "disk"],
    nemesesDefaulted: true,
    brokerNemeses: ["broker-kill", "broker-pause", "broker-partition"],
    seed: 77,
    seedDrawn: true,
    clientsCount: 5,
    keysCount: 8,
    controllersCount: 3,
    producersCount: 3,
    groupConsumersCount: 2,
    keep: false,
  });
});

test("parseChaosArgs takes every flag, in both spellings", () => {
  const parsed = args(parseChaosArgs(["--duration", "300", "--nemesis=pause,broker-pause,kill", "--seed", "4294967295", "--clients=2", "--keys", "3", "--controllers", "5", "--producers", "7", "--group-consumers", "0", "--keep"], drawSeed));
  assert.deepEqual(parsed, { durationS: 300, nemeses: ["pause", "kill"], nemesesDefaulted: false, brokerNemeses: ["broker-pause"], seed: 4294967295, seedDrawn: false, clientsCount: 2, keysCount: 3, controllersCount: 5, producersCount: 7, groupConsumersCount: 0, keep: true });
});

test("--nemesis none is a run without faults", () => {
  const none = args(parseChaosArgs(["--nemesis", "none"], drawSeed));
  assert.deepEqual([none.nemeses, none.brokerNemeses], [[], []]);
  const brokersOnly = args(parseChaosArgs(["--nemesis", "broker-kill,broker-partition"], drawSeed));
  assert.deepEqual([brokersOnly.nemeses, brokersOnly.brokerNemeses], [[], ["broker-kill", "broker-partition"]]);
});

test("parseChaosArgs refuses unknown flags, unknown or repeated nemeses, out-of-range numbers and even controller counts", () => {
  assert.match(reason(parseChaosArgs(["--speed", "3"], drawSeed)), /--speed is not one of its flags/);
  assert.match(reason(parseChaosArgs(["--nemesis", "kill,flood"], drawSeed)), /"flood" is not one of them/);
  assert.match(reason(parseChaosArgs(["--nemesis", "kill,kill"], drawSeed)), /names kill twice/);
  assert.match(reason(parseChaosArgs(["--nemesis", "broker-kill,broker-kill"], drawSeed)), /names broker-kill twice/);
  assert.match(reason(parseChaosArgs(["--producers", "0"], drawSeed)), /--producers must be an integer from 1/);
  assert.match(reason(parseChaosArgs(["--duration", "0"], drawSeed)), /--duration must be an integer from 5/);
  assert.match(reason(parseChaosArgs(["--group-consumers", "9"], drawSeed)), /--group-consumers must be an integer from 0/);
  assert.match(reason(parseChaosArgs(["--seed", "-1"], drawSeed)), /--seed/);
  assert.match(reason(parseChaosArgs(["--clients", "x"], drawSeed)), /--clients must be an integer/);
  assert.match(reason(parseChaosArgs(["--controllers", "4"], drawSeed)), /--controllers must be 3, 5 or 7/);
  assert.match(reason(parseChaosArgs(["extra"], drawSeed)), /takes no arguments/);
});

test("--help wins over everything else", () => {
  assert.deepEqual(parseChaosArgs(["--duration", "0", "--help"], drawSeed), { kind: "help" });
});

test("the rerun command parses back to the same run", () => {
  const original = args(parseChaosArgs(["--seed", "9", "--nemesis", "slow,broker-pause", "--duration", "20", "--clients", "3", "--producers", "2", "--group-consumers", "3"], drawSeed));
  const words = rerunCommand(original).split(" ").slice(4);
  assert.deepEqual(args(parseChaosArgs(words, drawSeed)), { ...original, seedDrawn: false });
  const defaulted = args(parseChaosArgs(["--seed", "9"], drawSeed));
  assert.doesNotMatch(rerunCommand(defaulted), /--nemesis/, "the default set stays the default, disk dropped where it cannot be mounted");
  assert.deepEqual(args(parseChaosArgs(rerunCommand(defaulted).split(" ").slice(4), drawSeed)), defaulted);
});
