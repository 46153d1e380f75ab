import { mkdir, open, readFile, unlink } from "node:fs/promises";
import { join } from "node:path";
import { writingTo } from "../storage/errors.js";

export const lockFileName = "LOCK";

/** Another live process holds the data directory: two writers would interleave their logs. */
export class DataDirLockedError extends Error {
  override readonly name = "DataDirLockedError";
  readonly code = "DATA_DIR_LOCKED";

  constructor(
    readonly dir: string,
    readonly holderPid: number,
  ) {
    super(`Cannot use data directory ${dir} as it is in use by process ${holderPid}`);
  }
}

export interface DataDirLock {
  release(): Promise<void>;
}

/**
 * Takes the data directory for this process: a `LOCK` file holding our pid, created exclusively. A lock
 * left by a process that no longer exists (kill -9 leaves one) is taken over; one held by a live
 * process is refused with `DataDirLockedError`. A disk that refuses the write (full) throws a
 * `StorageWriteError` naming the lock file.
 */
export async function lockDataDir(dir: string): Promise<DataDirLock> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, lockFileName);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, "wx");
      try {
        await writingTo(path, () => handle.writeFile(`${process.pid}\n`));
      } catch (error) {
        // A full disk: leave no empty lock behind (a later start would take it over anyway).
        await handle.close();
        await unlink(path).catch(() => {});
        throw error;
      }
      await handle.close();
      return { release: () => unlink(path).catch(() => {}) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holderPid = Number.parseInt(await readFile(path, "utf8").catch(() => ""), 10);
    if (Number.isSafeInteger(holderPid) && holderPid > 0 && holderPid !== process.pid && isAlive(holderPid)) throw new DataDirLockedError(dir, holderPid);
    await unlink(path).catch(() => {});
  }
  throw new Error(`Cannot lock data directory ${dir}: another process keeps taking it`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
