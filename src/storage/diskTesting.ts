import { open } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { openFlags } from "./atomicFile.js";
import type { OpenFile } from "./atomicFile.js";

/** What a system call's failure looks like from node:fs: an Error with `code`, `errno` and `syscall`. */
export function systemError(code: "ENOSPC" | "EIO", syscall: string): NodeJS.ErrnoException {
  const message = code === "ENOSPC" ? "no space left on device" : "i/o error";
  return Object.assign(new Error(`${code}: ${message}, ${syscall}`), { code, errno: code === "ENOSPC" ? -28 : -5, syscall });
}

/**
 * A disk with `bytesFree` bytes left, for tests: files opened through `openFile` are real, but their
 * writes take from the budget, and one that does not fit writes what fits (a short write, as a full
 * file system gives) after which the next write throws ENOSPC. With `syncFails`, fsync throws ENOSPC
 * (what a file system with delayed allocation reports), and so does a write to a file opened with
 * `durableWrites`, which flushes as it writes. Creating files takes nothing: a full tmpfs or
 * ext4 still creates an empty file.
 */
export class TestDisk {
  bytesFree: number;
  syncFails = false;
  /** Fsyncs of files opened here (each handle's `sync()`). */
  fsyncCount = 0;
  /** Files opened here with `durableWrites`. */
  durableOpenCount = 0;

  constructor(bytesFree = Number.MAX_SAFE_INTEGER) {
    this.bytesFree = bytesFree;
  }

  readonly openFile: OpenFile = async (path, flags, options) => {
    const durableWrites = options?.durableWrites === true;
    const handle = await open(path, openFlags(flags, options));
    if (durableWrites) this.durableOpenCount++;
    return this.wrap(handle, durableWrites);
  };

  /** A handle with `durableWrites` flushes in each write, so a failing flush (`syncFails`) fails the write. */
  private wrap(handle: FileHandle, durableWrites: boolean): FileHandle {
    const write = async (buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesWritten: number; buffer: Uint8Array }> => {
      if (this.bytesFree === 0 || (durableWrites && this.syncFails)) throw systemError("ENOSPC", "write");
      const fitting = Math.min(length, this.bytesFree);
      this.bytesFree -= fitting;
      return handle.write(buffer, offset, fitting, position);
    };
    const sync = async (): Promise<void> => {
      this.fsyncCount++;
      if (this.syncFails) throw systemError("ENOSPC", "fsync");
      await handle.sync();
    };
    return new Proxy(handle, {
      get(target, property) {
        if (property === "write") return write;
        if (property === "sync") return sync;
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === "function" ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
  }
}
