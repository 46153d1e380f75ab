import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import { RaftStorage } from "./raftStorage.js";
import { testEntries, withTempDir } from "./storageTesting.js";

/** Synced batches to see before the kill: enough to span several segment roll-overs. */
const reportedLinesCountMin = 40;
/** Generous bound for a slow CI disk; the test fails rather than hang. */
const reportWaitMsMax = 20_000;

test("every index a writer reported synced survives kill -9, and the log is contiguous", async () => {
  await withTempDir(async (dir) => {
    const script = fileURLToPath(new URL("./testWriter.js", import.meta.url));
    const child = spawn(process.execPath, [script, dir], { stdio: ["ignore", "pipe", "pipe"] });
    let reportedIndexMax = 0;
    let linesCount = 0;
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on("exit", (_code, signal) => resolve(signal)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`writer reported ${linesCount} lines in ${reportWaitMsMax} ms: ${stderr}`)), reportWaitMsMax);
        let pending = "";
        child.stdout.on("data", (chunk: Buffer) => {
          pending += chunk.toString();
          const lines = pending.split("\n");
          pending = lines.pop() ?? "";
          for (const line of lines) {
            const index = Number(line);
            assert.ok(index > reportedIndexMax, `reported indexes grow: ${index} after ${reportedIndexMax}`);
            reportedIndexMax = index;
            linesCount++;
          }
          if (linesCount >= reportedLinesCountMin) {
            clearTimeout(timer);
            // Killed mid-stream: the writer is still appending and syncing as fast as it can.
            child.kill("SIGKILL");
            resolve();
          }
        });
        child.on("exit", () => {
          clearTimeout(timer);
          reject(new Error(`writer exited early: ${stderr}`));
        });
      });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
    assert.equal(await exited, "SIGKILL");

    const { storage, initialState, warnings } = await RaftStorage.open(dir, { segmentSizeBytesMax: 4096 });
    await storage.close();
    const { entries, hardState } = initialState;
    assert.ok(entries.length >= reportedIndexMax, `reported ${reportedIndexMax} synced, recovered ${entries.length} (${warnings.join("; ")})`);
    entries.forEach((entry, i) => assert.equal(entry.index, i + 1, "recovered log is contiguous from 1"));
    const batchEntriesCount = 16;
    for (const entry of entries) {
      const batch = Math.floor((entry.index - 1) / batchEntriesCount);
      assert.deepEqual(entry, testEntries(entry.index, entry.index, 1, 1 + (batch % 97))[0], `entry ${entry.index} reads back as written`);
    }
    assert.ok(hardState.commitIndex >= reportedIndexMax, `durable commitIndex ${hardState.commitIndex} covers what was reported`);
    assert.ok(hardState.commitIndex <= entries.length, "durable commitIndex never passes the durable log");
  });
});
