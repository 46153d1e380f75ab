import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";

const cli = fileURLToPath(new URL("./main.js", import.meta.url));
const run = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { encoding: "utf8" });

test("yakt --help lists the commands and exits 0", () => {
  const result = run("--help");
  assert.equal(result.status, 0);
  assert.match(result.stdout, /Usage: yakt <command>/);
  assert.match(result.stdout, /\bsim\b/);
});

test("yakt with an unknown command names it and exits 2", () => {
  const result = run("frobnicate");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown command "frobnicate"/);
});

test("yakt sim with a bad flag explains it and exits 2", () => {
  const result = run("sim", "--seeds", "many");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--seeds/);
  assert.match(result.stderr, /Usage: yakt sim/);
});

test("yakt sim runs seeds and ends with the summary line", () => {
  const result = run("sim", "--seeds", "3", "--from", "11");
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^sim: seeds=3 violations=0 liveness_failures=0$/m);
});

test("yakt version prints the package version", () => {
  const result = run("version");
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^yakt \d+\.\d+\.\d+/);
});
