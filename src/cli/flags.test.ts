import assert from "node:assert/strict";
import { test } from "node:test";
import { parseFlags } from "./flags.js";
import type { FlagSpec } from "./flags.js";

const specs: readonly FlagSpec[] = [
  { name: "--partitions", kind: "integer", min: 0, max: 100 },
  { name: "--node", kind: "string" },
  { name: "--json", kind: "boolean" },
];

function flags(argv: readonly string[], positionals: readonly string[] = ["NAME"]) {
  const parsed = parseFlags(argv, specs, positionals);
  assert.equal(parsed.kind, "flags", parsed.kind === "error" ? parsed.reason : parsed.kind);
  assert(parsed.kind === "flags");
  return parsed.flags;
}

function reason(argv: readonly string[], positionals: readonly string[] = ["NAME"]): string {
  const parsed = parseFlags(argv, specs, positionals);
  assert(parsed.kind === "error", `expected an error for ${JSON.stringify(argv)}`);
  return parsed.reason;
}

test("parseFlags() reads --flag value, --flag=value, booleans and positionals in any order", () => {
  const parsed = flags(["--partitions", "3", "orders", "--node=http://h:1", "--json"]);
  assert.deepEqual(parsed.positionals, ["orders"]);
  assert.equal(parsed.integers.get("--partitions"), 3);
  assert.equal(parsed.strings.get("--node"), "http://h:1");
  assert(parsed.booleans.has("--json"));
});

test("parseFlags() takes arguments after -- as positionals, even when they start with a dash", () => {
  assert.deepEqual(flags(["--json", "--", "-odd"]).positionals, ["-odd"]);
});

test("parseFlags() answers help for -h or --help anywhere", () => {
  assert.deepEqual(parseFlags(["--partitions", "x", "--help"], specs, ["NAME"]), { kind: "help" });
  assert.deepEqual(parseFlags(["-h"], specs, []), { kind: "help" });
});

test("parseFlags() names the flag and the value it refuses", () => {
  assert.equal(reason(["a", "--partitions", "x"]), '--partitions must be an integer from 0 to 100: current value is "x"');
  assert.equal(reason(["a", "--partitions=101"]), '--partitions must be an integer from 0 to 100: current value is "101"');
  assert.equal(reason(["a", "--partitions", "-1"]), '--partitions must be an integer from 0 to 100: current value is "-1"');
  assert.equal(reason(["a", "--partitions", "1.5"]), '--partitions must be an integer from 0 to 100: current value is "1.5"');
  assert.equal(reason(["a", "--partitions"]), "--partitions needs a value");
  assert.equal(reason(["a", "--node", "--json"]), "--node needs a value");
  assert.equal(reason(["a", "--json=yes"]), '--json takes no value: current value is "yes"');
  assert.equal(reason(["a", "--jsn"]), "--jsn is not one of its flags");
  assert.equal(reason(["a", "--json", "--json"]), "--json is given twice");
});

test("parseFlags() requires exactly the positionals named", () => {
  assert.equal(reason([]), "it needs NAME");
  assert.equal(reason(["a", "b", "c"]), 'it takes only NAME: extra arguments are "b c"');
  assert.equal(reason(["x"], []), 'it takes no arguments besides flags: current value is "x"');
});
