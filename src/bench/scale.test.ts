import assert from "node:assert/strict";
import { test } from "node:test";
import { parseScaleArgs } from "./scale.js";

test("parseScaleArgs() defaults to a million partitions in topics of 1,000, four creations in flight", () => {
  assert.deepEqual(parseScaleArgs([]), { kind: "options", options: { partitionsCount: 1_000_000, partitionsPerTopicCount: 1_000, concurrency: 4, jsonFile: undefined } });
  assert.deepEqual(parseScaleArgs(["--partitions=20000", "--per-topic", "500", "--concurrency", "8", "--json", "s.json"]), {
    kind: "options",
    options: { partitionsCount: 20_000, partitionsPerTopicCount: 500, concurrency: 8, jsonFile: "s.json" },
  });
  assert.deepEqual(parseScaleArgs(["-h"]), { kind: "help" });
});

test("parseScaleArgs() refuses more partitions than a cluster may hold, and unknown flags", () => {
  const message = (argv: string[]): string => {
    const parsed = parseScaleArgs(argv);
    return parsed.kind === "error" ? parsed.message : `not refused: ${JSON.stringify(parsed)}`;
  };
  assert.equal(message(["--partitions", "1000001"]), 'Cannot run the scale bench as --partitions must be an integer from 1 to 1000000: current value is "1000001"');
  assert.equal(message(["--concurrency", "0"]), 'Cannot run the scale bench as --concurrency must be an integer from 1 to 64: current value is "0"');
  assert.equal(message(["--nodes", "5"]), 'Cannot run the scale bench as --nodes is not a flag of the scale bench: current value is "--nodes"');
});
