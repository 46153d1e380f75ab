import assert from "node:assert/strict";
import { test } from "node:test";
import { Cluster } from "./harness.js";
import { checkTopics, countOutcomes, waitForSameMetadata, WriteLoad } from "./metadataClient.js";
import type { TopicWrite } from "./metadataClient.js";
import { probeSmallDisk, SmallDisk } from "./smallDisk.js";
import { waitFor } from "./waitFor.js";

/** Room for the test's log many times over; filled to the last byte by the test. */
const diskSizeBytes = 16 * 1024 * 1024;
const snapshotEntriesCount = 200;
const progressWritesCount = 20;
const leaderTimeoutMs = 20_000;
const progressTimeoutMs = 30_000;
const stopTimeoutMs = 30_000;
const convergenceTimeoutMs = 30_000;
const readTimeoutMs = 10_000;

// A real full disk: node 1's data dir is a small tmpfs, filled to the last byte under write load. Needs
// the right to mount (root on Linux); skipped, saying why, elsewhere.
test("a controller whose disk fills stops with exit 1 naming ENOSPC, refuses to start until there is room, then recovers with nothing acknowledged lost", { timeout: 180_000 }, async (t) => {
  const unavailable = await probeSmallDisk();
  if (unavailable !== undefined) {
    t.skip(unavailable);
    return;
  }
  const cluster = await Cluster.start({ nodesCount: 3, startIds: [], snapshotEntries: snapshotEntriesCount, name: "yakt-e2e-disk-full" });
  let disk: SmallDisk | undefined;
  try {
    disk = await SmallDisk.mount(cluster.dataDir(1), diskSizeBytes);
    await Promise.all(cluster.ids().map((id) => cluster.startNode(id)));
    await cluster.waitForLeader({ timeoutMs: leaderTimeoutMs });
    const load = new WriteLoad({ ...cluster.writerOptions(), writersCount: 2, topicsPerWriterMax: 100_000 });
    const progress = async (what: string): Promise<void> => {
      const before = load.acknowledgedCount;
      await waitFor(() => `${progressWritesCount} writes acknowledged ${what} (${load.acknowledgedCount - before} so far)`, () => (load.acknowledgedCount >= before + progressWritesCount ? true : undefined), { timeoutMs: progressTimeoutMs });
    };
    let records: readonly TopicWrite[] = [];
    try {
      await progress("before the disk fills");
      const logBytesBefore = (await cluster.readLog(1)).length;
      cluster.expectExit(1);
      const filled = await disk.fill();
      assert.equal(filled.freeBytes, 0);
      await waitFor("node 1 to stop on its full disk", () => (cluster.isRunning(1) ? undefined : true), { timeoutMs: stopTimeoutMs });
      assert.deepEqual(cluster.lastExit(1), { code: 1, signal: null });
      const stopped = (await cluster.readLog(1)).slice(logBytesBefore);
      assert.match(stopped, /"errno":"ENOSPC"/);
      assert.match(stopped, new RegExp(`stopping: Cannot write ${cluster.dataDir(1)}/\\S+ as the disk is full \\(ENOSPC on (write|fsync)\\)`));
      await progress("by the two nodes left");

      // The stop freed a little (its lock file), not enough: a start must refuse, clearly.
      const logBytesStopped = (await cluster.readLog(1)).length;
      await assert.rejects(cluster.startNode(1), /Cannot start node 1 as it exited during start: code 1/);
      assert.match((await cluster.readLog(1)).slice(logBytesStopped), /refusing to start: Cannot (write|start on data directory) \S+ as (the|its) disk is full \(ENOSPC/);

      await disk.free();
      await cluster.startNode(1);
      await progress("with node 1 back");
    } finally {
      records = await load.stop();
    }
    const same = await waitForSameMetadata(cluster, { timeoutMs: convergenceTimeoutMs, requestTimeoutMs: readTimeoutMs });
    assert.deepEqual(checkTopics(same.topics, records), []);
    console.log(`a full disk on node 1: writes ${JSON.stringify(countOutcomes(records))}, every node at applied index ${same.appliedIndex}`);
    // Only the start refused on the full disk exited by itself; the stop at the fill was expected.
    assert.equal(cluster.unexpectedExits().length, 1, cluster.unexpectedExits().join("; "));
  } catch (error) {
    console.error(await cluster.logTails());
    throw error;
  } finally {
    await cluster.killAll();
    await disk?.unmount();
    await cluster.close();
  }
});
