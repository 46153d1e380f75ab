import assert from "node:assert/strict";
import { test } from "node:test";
import { parseBrokerArgs } from "./brokerArgs.js";

const required = ["--id", "1", "--data", "/d", "--listen", "127.0.0.1:9201"];

test("--replica-peers gives the URL a follower fetches from, per leader id; without it there is none", () => {
  const parsed = parseBrokerArgs([...required, "--replica-peers", "2=127.0.0.1:7002, 3=[::1]:7003"]);
  assert.equal(parsed.kind, "config");
  assert.deepEqual(parsed.kind === "config" ? [...(parsed.config.settings.replicaPeerUrls ?? [])] : [], [
    [2, "http://127.0.0.1:7002"],
    [3, "http://[::1]:7003"],
  ]);
  const plain = parseBrokerArgs(required);
  assert.equal(plain.kind === "config" ? plain.config.settings.replicaPeerUrls : "none", undefined);
});

test("--replica-peers refuses entries that are not ID=HOST:PORT, and an id given twice", () => {
  for (const bad of ["2", "2=127.0.0.1", "x=127.0.0.1:7002", "2=127.0.0.1:7002,2=127.0.0.1:7003", ""]) {
    const parsed = parseBrokerArgs([...required, "--replica-peers", bad]);
    assert.equal(parsed.kind, "error", bad);
    if (parsed.kind === "error") assert.match(parsed.message, /^Cannot start broker as --replica-peers must list ID=HOST:PORT/);
  }
});
