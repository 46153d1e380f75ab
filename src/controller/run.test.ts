import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { freePorts } from "../e2e/harness.js";
import { RaftStorage } from "../storage/raftStorage.js";

// The controller process refuses to start on data it must not touch, with a message and exit code 1.

const cli = fileURLToPath(new URL("../cli/main.js", import.meta.url));

async function controllerArgs(dataDir: string): Promise<string[]> {
  const [raft, api] = await freePorts(2);
  return ["controller", "--id", "1", "--data", dataDir, "--raft", `127.0.0.1:${raft}`, "--api", `127.0.0.1:${api}`, "--peers", `1@127.0.0.1:${raft}:${api}`];
}

test("a controller refuses to start on a log with a bad entry before valid ones, naming the file and the byte", async () => {
  const dir = await mkdtemp(join(tmpdir(), "yakt-corrupt-"));
  try {
    const { storage } = await RaftStorage.open(dir);
    const data = new TextEncoder().encode("committed data that must never be silently dropped");
    await storage.appendEntries([1, 2, 3].map((index) => ({ index, term: 1, type: "normal" as const, data })));
    await storage.sync();
    await storage.close();
    const segment = (await readdir(dir)).find((name) => name.endsWith(".log"));
    assert.ok(segment !== undefined);
    const bytes = await readFile(join(dir, segment));
    bytes[40] = bytes[40]! ^ 0xff; // inside the first entry's data
    await writeFile(join(dir, segment), bytes);
    const result = spawnSync(process.execPath, [cli, ...(await controllerArgs(dir))], { encoding: "utf8", timeout: 30_000 });
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stderr, new RegExp(`segment ${segment} is corrupt at byte 0`));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a second controller on a data directory in use refuses to start", async () => {
  const dir = await mkdtemp(join(tmpdir(), "yakt-locked-"));
  const first = spawn(process.execPath, [cli, ...(await controllerArgs(dir))], { stdio: ["ignore", "pipe", "pipe"] });
  try {
    let output = "";
    first.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    for (let i = 0; i < 600 && !output.includes("controller started"); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.match(output, /controller started/);
    const second = spawnSync(process.execPath, [cli, ...(await controllerArgs(dir))], { encoding: "utf8", timeout: 30_000 });
    assert.equal(second.status, 1);
    assert.match(second.stderr, new RegExp(`in use by process ${first.pid}`));
    const exited = new Promise<number | null>((resolve) => first.once("exit", (code) => resolve(code)));
    first.kill("SIGTERM");
    assert.equal(await exited, 0, "the first one stops cleanly");
  } finally {
    first.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});
