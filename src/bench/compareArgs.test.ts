import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCompareArgs } from "./compareArgs.js";
import type { CompareOptions, ParsedCompareArgs } from "./compareArgs.js";

function options(parsed: ParsedCompareArgs): CompareOptions {
  assert.equal(parsed.kind, "options", JSON.stringify(parsed));
  assert(parsed.kind === "options");
  return parsed.options;
}

function errorOf(parsed: ParsedCompareArgs): string {
  assert(parsed.kind === "error", `expected an error, got ${JSON.stringify(parsed)}`);
  return parsed.message;
}

test("parseCompareArgs() gives writes concurrency 1, 8, 32, 128 and YAKt alone by default", () => {
  const parsed = options(parseCompareArgs("writes", []));
  assert.deepEqual(parsed, {
    scenario: "writes",
    reference: undefined,
    concurrencies: [1, 8, 32, 128],
    followerConcurrency: 32,
    warmUpMs: 2_000,
    measureMs: 10_000,
    jsonFile: undefined,
    markdownFile: undefined,
    cpuProfileDir: undefined,
  });
  assert.deepEqual(options(parseCompareArgs("reads", [])).concurrencies, [32]);
});

test("parseCompareArgs() takes --flag value and --flag=value", () => {
  const parsed = options(parseCompareArgs("reads", ["--vs", "zookeeper", "--concurrency=4,64", "--follower-concurrency", "0", "--warm-up-ms=0", "--measure-ms", "500", "--json", "out.json", "--markdown=out.md", "--cpu-prof", "prof"]));
  assert.equal(parsed.reference, "zookeeper");
  assert.deepEqual(parsed.concurrencies, [4, 64]);
  assert.equal(parsed.followerConcurrency, 0);
  assert.equal(parsed.warmUpMs, 0);
  assert.equal(parsed.measureMs, 500);
  assert.equal(parsed.jsonFile, "out.json");
  assert.equal(parsed.markdownFile, "out.md");
  assert.equal(parsed.cpuProfileDir, "prof");
});

test("parseCompareArgs() answers help whatever else is given", () => {
  assert.deepEqual(parseCompareArgs("writes", ["--vs", "nope", "--help"]), { kind: "help" });
  assert.deepEqual(parseCompareArgs("reads", ["-h"]), { kind: "help" });
});

test("parseCompareArgs() refuses an unknown reference, naming the value", () => {
  assert.match(errorOf(parseCompareArgs("writes", ["--vs", "consul"])), /--vs must be one of etcd, etcd-grpc, zookeeper: current value is "consul"/);
});

test("parseCompareArgs() refuses unknown flags, positional arguments, missing values and repeats", () => {
  assert.match(errorOf(parseCompareArgs("writes", ["--trials", "3"])), /--trials is not a flag of the writes bench/);
  assert.match(errorOf(parseCompareArgs("writes", ["etcd"])), /takes no positional arguments/);
  assert.match(errorOf(parseCompareArgs("writes", ["--vs"])), /--vs needs a value/);
  assert.match(errorOf(parseCompareArgs("writes", ["--json", "--vs", "etcd"])), /--json needs a value/);
  assert.match(errorOf(parseCompareArgs("writes", ["--measure-ms="])), /--measure-ms needs a value/);
  assert.match(errorOf(parseCompareArgs("writes", ["--vs", "etcd", "--vs=zookeeper"])), /--vs is given twice/);
});

test("parseCompareArgs() refuses concurrencies out of range, repeated or not integers", () => {
  for (const bad of ["0", "1,1", "8,x", "1.5", "2000", "", ","]) {
    const parsed = parseCompareArgs("writes", [`--concurrency=${bad}`]);
    assert.equal(parsed.kind, "error", `--concurrency=${bad}`);
  }
  assert.match(errorOf(parseCompareArgs("writes", ["--concurrency", "1,1"])), /distinct integers from 1 to 1024/);
});

test("parseCompareArgs() bounds the durations", () => {
  assert.match(errorOf(parseCompareArgs("writes", ["--measure-ms", "99"])), /--measure-ms must be an integer from 100 to/);
  assert.match(errorOf(parseCompareArgs("writes", ["--warm-up-ms", "-1"])), /--warm-up-ms needs a value|--warm-up-ms must be/);
  assert.match(errorOf(parseCompareArgs("writes", ["--follower-concurrency", "1025"])), /--follower-concurrency must be an integer from 0 to 1024/);
});
