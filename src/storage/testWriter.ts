/**
 * A writer for the kill -9 test: appends batches to the storage in `argv[2]` and syncs each, forever
 * (up to a bound), printing the last index of every batch once its sync has returned. Whatever it
 * printed must survive SIGKILL at any moment.
 *
 * Usage: node dist/storage/testWriter.js <dir>
 */
import { RaftStorage } from "./raftStorage.js";
import { testEntries } from "./storageTesting.js";

/** Ends the loop should the parent never kill it (about a minute of batches on a slow disk). */
const batchesCountMax = 100_000;
const batchEntriesCount = 16;

const dir = process.argv[2];
if (dir === undefined) {
  console.error("Usage: node dist/storage/testWriter.js <dir>");
  process.exit(2);
}
// Small segments so the run rolls over many times.
const { storage } = await RaftStorage.open(dir, { segmentSizeBytesMax: 4096 });
for (let batch = 0; batch < batchesCountMax; batch++) {
  const firstIndex = storage.lastIndex() + 1;
  const lastIndex = firstIndex + batchEntriesCount - 1;
  // Not awaited one by one: the writes queue, and the sync after them covers them all.
  const appended = storage.appendEntries(testEntries(firstIndex, lastIndex, 1, 1 + (batch % 97)));
  const committed = storage.setHardState({ term: 1, votedFor: 1, commitIndex: lastIndex });
  await Promise.all([appended, committed, storage.sync()]);
  process.stdout.write(`${lastIndex}\n`);
}
await storage.close();
