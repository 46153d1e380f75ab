import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry, Snapshot } from "../raft/types.js";

/** Helpers shared by the storage tests and the kill -9 writer. */

/** Runs `body` with a fresh directory under the OS temp dir, removed afterwards whatever happens. */
export async function withTempDir(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "yakt-storage-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An entry whose data is derived from its index and term, so a read-back can be checked byte for byte. */
export function testEntry(index: number, term: number, dataBytes = 10): Entry {
  const data = new Uint8Array(dataBytes);
  for (let i = 0; i < dataBytes; i++) data[i] = (index * 31 + term * 7 + i) & 0xff;
  return { index, term, type: index % 5 === 0 ? "noop" : "normal", data };
}

export function testEntries(fromIndex: number, toIndex: number, term: number, dataBytes = 10): Entry[] {
  const entries: Entry[] = [];
  for (let index = fromIndex; index <= toIndex; index++) entries.push(testEntry(index, term, dataBytes));
  return entries;
}

export function testSnapshot(index: number, term: number, dataBytes = 32): Snapshot {
  const data = new Uint8Array(dataBytes).map((_, i) => (index + i) & 0xff);
  return { meta: { index, term, membership: { voters: [1, 2, 3], learners: [4] } }, data };
}
