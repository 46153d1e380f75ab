import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { DataDirLockedError, lockDataDir, lockFileName } from "./dataDirLock.js";

test("lockDataDir() refuses a directory a live process holds, and takes over one whose holder died", async () => {
  const dir = await mkdtemp(join(tmpdir(), "yakt-lock-"));
  const holder = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60000)"], { stdio: "ignore" });
  try {
    assert.ok(holder.pid !== undefined);
    await writeFile(join(dir, lockFileName), `${holder.pid}\n`);
    await assert.rejects(lockDataDir(dir), (error: unknown) => error instanceof DataDirLockedError && error.holderPid === holder.pid);
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
    const lock = await lockDataDir(dir);
    assert.equal(await readFile(join(dir, lockFileName), "utf8"), `${process.pid}\n`);
    await lock.release();
    const again = await lockDataDir(dir);
    await again.release();
  } finally {
    holder.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
  }
});
