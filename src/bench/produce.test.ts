import assert from "node:assert/strict";
import { test } from "node:test";
import { parseProduceArgs } from "./produce.js";

test("parseProduceArgs() defaults to 100,000 messages of 200 B and 1 KiB, acks=all, the producer's linger and one producer", () => {
  assert.deepEqual(parseProduceArgs([]), {
    kind: "options",
    options: { messagesCount: 100_000, sizesBytes: [200, 1024], acks: "all", lingerMs: 5, producersCount: 1, inFlightCount: 2_000, reference: undefined, roundsCount: 3, natsPublishMode: "async", jsonFile: undefined, markdownFile: undefined, brokerCpuProfileDir: undefined },
  });
});

test("parseProduceArgs() takes --flag value and --flag=value, and acks as 0, 1 or all", () => {
  assert.deepEqual(parseProduceArgs(["--messages", "5000", "--sizes=100,2048,10", "--acks", "1", "--linger-ms=0", "--producers", "4", "--in-flight", "500", "--json", "out.json", "--cpu-prof", "prof"]), {
    kind: "options",
    options: { messagesCount: 5_000, sizesBytes: [100, 2048, 10], acks: 1, lingerMs: 0, producersCount: 4, inFlightCount: 500, reference: undefined, roundsCount: 3, natsPublishMode: "async", jsonFile: "out.json", markdownFile: undefined, brokerCpuProfileDir: "prof" },
  });
  const acksZero = parseProduceArgs(["--acks=0"]);
  assert.equal(acksZero.kind === "options" ? acksZero.options.acks : undefined, 0);
});

test("parseProduceArgs() refuses bad numbers, sizes and acks", () => {
  const refused = (argv: string[]): string => {
    const parsed = parseProduceArgs(argv);
    assert.equal(parsed.kind, "error", `${argv.join(" ")} is refused`);
    return parsed.kind === "error" ? parsed.message : "";
  };
  assert.equal(refused(["--messages", "0"]), 'Cannot run the produce bench as --messages must be an integer from 1 to 1000000: current value is "0"');
  assert.equal(refused(["--messages", "1000001"]), 'Cannot run the produce bench as --messages must be an integer from 1 to 1000000: current value is "1000001"');
  assert.equal(refused(["--producers", "3", "--messages", "2"]), 'Cannot run the produce bench as --messages must be an integer from 3 to 1000000: current value is "2"');
  assert.equal(refused(["--sizes", "200,,1024"]), 'Cannot run the produce bench as --sizes must be 1 to 10 distinct integers from 1 to 100000, separated by commas: current value is "200,,1024"');
  assert.equal(refused(["--sizes", "200,200"]), 'Cannot run the produce bench as --sizes must be 1 to 10 distinct integers from 1 to 100000, separated by commas: current value is "200,200"');
  assert.equal(refused(["--sizes", "1e3"]), 'Cannot run the produce bench as --sizes must be 1 to 10 distinct integers from 1 to 100000, separated by commas: current value is "1e3"');
  assert.equal(refused(["--acks", "-1"]), 'Cannot run the produce bench as --acks must be one of all, 1, 0: current value is "-1"');
  assert.equal(refused(["--linger-ms", "1.5"]), 'Cannot run the produce bench as --linger-ms must be an integer from 0 to 10000: current value is "1.5"');
  assert.equal(refused(["--producers", "0"]), 'Cannot run the produce bench as --producers must be an integer from 1 to 16: current value is "0"');
});

test("parseProduceArgs() refuses an unknown flag, a positional argument, a missing value and a repeated flag", () => {
  assert.deepEqual(parseProduceArgs(["--trials", "5"]), { kind: "error", message: 'Cannot run the produce bench as --trials is not a flag of the produce bench: current value is "--trials"' });
  assert.deepEqual(parseProduceArgs(["fast"]), { kind: "error", message: 'Cannot run the produce bench as it takes no positional arguments: current value is "fast"' });
  assert.deepEqual(parseProduceArgs(["--json"]), { kind: "error", message: "Cannot run the produce bench as --json needs a value" });
  assert.deepEqual(parseProduceArgs(["--sizes", "--acks", "1"]), { kind: "error", message: "Cannot run the produce bench as --sizes needs a value" });
  assert.deepEqual(parseProduceArgs(["--acks", "1", "--acks=0"]), { kind: "error", message: 'Cannot run the produce bench as --acks is given twice: current value is "0"' });
});

test("parseProduceArgs() takes --vs nats with --rounds and --markdown", () => {
  assert.deepEqual(parseProduceArgs(["--vs", "nats", "--rounds", "5", "--markdown=out.md", "--sizes", "200", "--messages", "20000"]), {
    kind: "options",
    options: { messagesCount: 20_000, sizesBytes: [200], acks: "all", lingerMs: 5, producersCount: 1, inFlightCount: 2_000, reference: "nats", roundsCount: 5, natsPublishMode: "async", jsonFile: undefined, markdownFile: "out.md", brokerCpuProfileDir: undefined },
  });
  const defaults = parseProduceArgs(["--vs=nats"]);
  assert.equal(defaults.kind === "options" ? defaults.options.roundsCount : undefined, 3);
  const request = parseProduceArgs(["--vs", "nats", "--nats-publish", "request"]);
  assert.equal(request.kind === "options" ? request.options.natsPublishMode : undefined, "request");
});

test("parseProduceArgs() refuses another reference, --rounds or --markdown without --vs, and acks other than all with --vs", () => {
  assert.deepEqual(parseProduceArgs(["--vs", "kafka"]), { kind: "error", message: 'Cannot run the produce bench as --vs must be one of nats: current value is "kafka"' });
  assert.deepEqual(parseProduceArgs(["--rounds", "2"]), { kind: "error", message: 'Cannot run the produce bench as --rounds needs --vs: current value is "2"' });
  assert.deepEqual(parseProduceArgs(["--markdown", "out.md"]), { kind: "error", message: 'Cannot run the produce bench as --markdown needs --vs: current value is "out.md"' });
  assert.deepEqual(parseProduceArgs(["--nats-publish", "request"]), { kind: "error", message: 'Cannot run the produce bench as --nats-publish needs --vs nats: current value is "request"' });
  assert.deepEqual(parseProduceArgs(["--vs", "nats", "--nats-publish", "sync"]), { kind: "error", message: 'Cannot run the produce bench as --nats-publish must be one of async, request: current value is "sync"' });
  assert.deepEqual(parseProduceArgs(["--vs", "nats", "--rounds", "0"]), { kind: "error", message: 'Cannot run the produce bench as --rounds must be an integer from 1 to 100: current value is "0"' });
  const acks = parseProduceArgs(["--vs", "nats", "--acks", "1"]);
  assert.equal(acks.kind, "error");
  assert.match(acks.kind === "error" ? acks.message : "", /^Cannot run the produce bench as --acks must be all with --vs nats: .*: current value is "1"$/);
});

test("parseProduceArgs() answers help before anything else", () => {
  assert.deepEqual(parseProduceArgs(["--messages", "x", "--help"]), { kind: "help" });
  assert.deepEqual(parseProduceArgs(["-h"]), { kind: "help" });
});
