import { constants } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { assert } from "../shared/assert.js";

/**
 * Opens a file for the storage to write. The one seam between the storage and the file system, so that
 * tests can hand out handles whose writes or fsyncs fail as a full disk's do (see `diskTesting.ts`).
 * With `durableWrites` (O_DSYNC) each write returns only once its data is durable, as if an fdatasync
 * followed it, and reports what that fdatasync would.
 */
export type OpenFile = (path: string, flags: OpenFlags, options?: OpenOptions) => Promise<FileHandle>;
export type OpenFlags = "r+" | "w" | "wx";
export interface OpenOptions {
  readonly durableWrites?: boolean;
}

export const openFile: OpenFile = (path, flags, options) => open(path, openFlags(flags, options));

/** `flags` as `fs.open` takes them: the string itself, or its numeric form with O_DSYNC added. */
export function openFlags(flags: OpenFlags, options: OpenOptions = {}): OpenFlags | number {
  if (options.durableWrites !== true) return flags;
  const { O_RDWR, O_WRONLY, O_CREAT, O_TRUNC, O_EXCL, O_DSYNC } = constants;
  // Without the flag the writes would not be durable and nothing would fsync them: refuse rather than
  // lose acknowledged entries (Linux and macOS have it; Windows does not).
  assert((O_DSYNC as number | undefined) !== undefined, "Cannot open a log segment with durable writes as this platform has no O_DSYNC");
  const numeric = flags === "r+" ? O_RDWR : flags === "w" ? O_WRONLY | O_CREAT | O_TRUNC : O_WRONLY | O_CREAT | O_TRUNC | O_EXCL;
  return numeric | O_DSYNC;
}

/** Suffix of a file being written; one left behind by a crash was never renamed into place and means nothing. */
export const tempFileSuffix = ".tmp";

/**
 * Replaces `dir/name` with `chunks` so that after a crash the file holds either the old content or
 * the new, never a mix: write a temp file, fsync it (its data is durable before it has the real name),
 * rename it over the old one (atomic on POSIX), fsync the directory (the rename itself is durable).
 * Durable when the promise resolves. A failed write (a full disk) leaves the old file as it was and
 * perhaps a temp file, which recovery removes.
 */
export async function writeFileAtomic(dir: string, name: string, chunks: readonly Uint8Array[], options: { readonly openFile?: OpenFile } = {}): Promise<void> {
  const tempPath = join(dir, name + tempFileSuffix);
  const handle = await (options.openFile ?? openFile)(tempPath, "w");
  try {
    let position = 0;
    for (const chunk of chunks) {
      await writeFully(handle, chunk, position);
      position += chunk.length;
    }
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tempPath, join(dir, name));
  await syncDirectory(dir);
}

/** Makes creations, renames and deletions of files in `dir` durable. */
export async function syncDirectory(dir: string): Promise<void> {
  const handle = await open(dir, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Writes all of `bytes` at `position`: a write to a file may return having written less. */
export async function writeFully(handle: FileHandle, bytes: Uint8Array, position: number): Promise<void> {
  let written = 0;
  // Each round writes at least one byte (asserted), so this ends within bytes.length rounds.
  while (written < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, written, bytes.length - written, position + written);
    assert(bytesWritten > 0, `write at ${position + written} made no progress`);
    written += bytesWritten;
  }
}

/** Reads exactly `length` bytes at `position`, or fewer only if the file ends first. */
export async function readFully(handle: FileHandle, length: number, position: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(buffer, read, length - read, position + read);
    if (bytesRead === 0) break;
    read += bytesRead;
  }
  return buffer.subarray(0, read);
}

/** Reads a whole file, refusing (returning undefined) one larger than `sizeBytesMax`. */
export async function readFileBounded(path: string, sizeBytesMax: number): Promise<Buffer | undefined> {
  const handle = await open(path, "r");
  try {
    const { size } = await handle.stat();
    if (size > sizeBytesMax) return undefined;
    const bytes = await readFully(handle, size, 0);
    assert(bytes.length === size, `read ${bytes.length} of ${size} bytes of ${path}`);
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Deletes a file that may already be gone (a crash may have stopped a deletion half-way). */
export async function unlinkIfPresent(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof Error && (error as NodeJS.ErrnoException).code === "ENOENT";
}
