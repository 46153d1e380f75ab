import assert from "node:assert/strict";
import { execFile, spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { startTestCluster } from "../client/testing.js";

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

test("yakt --help lists the dev and controller commands", () => {
  const result = run("--help");
  assert.match(result.stdout, /^ {2}dev\b/m);
  assert.match(result.stdout, /^ {2}controller\b/m);
});

test("yakt controller with a bad flag explains it on stderr and exits 2", () => {
  const result = run("controller", "--id", "x", "--raft", "127.0.0.1:9101", "--api", "127.0.0.1:9001", "--peers", "1@127.0.0.1:9101:9001");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^yakt controller: Cannot start controller as --id must be a positive integer: current value is "x"$/m);
  assert.match(result.stderr, /^Run "yakt controller --help" for usage\.$/m);
  assert.equal(result.stdout, "");
});

test("yakt controller --help prints its usage and exits 0", () => {
  const result = run("controller", "--help");
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^Usage: yakt controller --id N/);
});

test("yakt dev --controllers 0 explains it on stderr and exits 2", () => {
  const result = run("dev", "--controllers", "0");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^yakt dev: Cannot start dev cluster as --controllers must be an integer from 1 to 9: current value is "0"$/m);
  assert.match(result.stderr, /^Run "yakt dev --help" for usage\.$/m);
});

test("yakt dev --brokers 10 refuses the count and exits 2", () => {
  const result = run("dev", "--brokers", "10");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--brokers must be an integer from 0 to 9: current value is "10"/);
});

test("yakt broker without its required flags exits 2 naming the first one missing", () => {
  const result = run("broker", "--data", "/tmp/x", "--listen", "127.0.0.1:9201");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /Cannot start broker as --id is required/);
});

test("yakt dev --help prints its usage and exits 0", () => {
  const result = run("dev", "--help");
  assert.equal(result.status, 0);
  assert.match(result.stdout, /^Usage: yakt dev/);
});

test("yakt --help lists the admin commands", () => {
  const result = run("--help");
  for (const command of ["topics", "brokers", "cluster", "log", "snapshot"]) assert.match(result.stdout, new RegExp(`^ {2}${command}\\b`, "m"));
});

test("yakt topics create with a bad flag explains it with the usage on stderr and exits 2", () => {
  const result = run("topics", "create", "orders", "--partitions", "many");
  assert.equal(result.status, 2);
  assert.match(result.stderr, /^yakt topics create: Cannot create topic as --partitions must be an integer from 0 to \d+: current value is "many"$/m);
  assert.match(result.stderr, /^Usage: yakt topics create NAME/m);
  assert.equal(result.stdout, "");
});

test("yakt topics create and list talk to the controllers given, and exit 1 on an error answer", async () => {
  const cluster = await startTestCluster(1);
  const yakt = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args, "--controllers", cluster.nodes[0]?.url ?? ""], { encoding: "utf8" });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
    }
  };
  try {
    assert.deepEqual(await yakt("topics", "create", "orders"), { code: 0, stdout: "Created topic orders (00000000-0000-4000-8000-000000000001) with 0 partitions at offset 1\n", stderr: "" });
    assert.deepEqual(await yakt("topics", "list"), { code: 0, stdout: "NAME    PARTITIONS  RF  UUID\norders  0           -   00000000-0000-4000-8000-000000000001\n", stderr: "" });
    assert.deepEqual(await yakt("topics", "create", "orders"), { code: 1, stdout: "", stderr: "yakt topics create: Cannot create topic orders as the name is taken (TOPIC_EXISTS)\n" });
  } finally {
    await cluster.close();
  }
});
