/**
 * The disk holds something this code never writes: a bad frame before valid ones, a gap between
 * segments, a checksum that does not match. Starting anyway could silently drop committed entries or
 * a vote, so the process must refuse to start and a human must look (DESIGN §4). A torn tail — what a
 * crash leaves at the very end of the log — is not corruption and is repaired instead.
 */
export class StorageCorruptionError extends Error {
  override readonly name = "StorageCorruptionError";
  readonly code = "STORAGE_CORRUPT";

  /** `file` is relative to the storage directory; `position` is the byte where the problem starts. */
  constructor(
    message: string,
    readonly file: string,
    readonly position: number,
  ) {
    super(message);
  }
}

/** The one message shape for a corrupt log file: "Cannot open log as segment X is corrupt at byte N: why". */
export function segmentCorruption(file: string, position: number, reason: string): StorageCorruptionError {
  return new StorageCorruptionError(`Cannot open log as segment ${file} is corrupt at byte ${position}: ${reason}`, file, position);
}

/**
 * The operating system refused a write, an fsync or a file creation of the log, the hard state or a
 * snapshot: ENOSPC when the disk is full, EIO, EDQUOT… The storage handle is then poisoned (what is on
 * disk is unknown past the last sync) and the process must stop and recover from the disk on restart,
 * as etcd does on a WAL write failure and Kafka on a failed log directory. `errno` is the system's code
 * ("ENOSPC"), `path` the file or directory being written.
 */
export class StorageWriteError extends Error {
  override readonly name = "StorageWriteError";
  readonly code = "STORAGE_WRITE_FAILED";

  /** `syscall` is the call that failed (write, fsync, open); the system's own error is the cause. */
  constructor(
    readonly path: string,
    readonly errno: string,
    readonly syscall: string,
    cause: Error,
  ) {
    super(errno === "ENOSPC" ? `Cannot write ${path} as the disk is full (ENOSPC on ${syscall})` : `Cannot write ${path} as the system refused it (${errno} on ${syscall})`, { cause });
  }
}

/**
 * `error` as a `StorageWriteError` naming `path` when it is a system call's failure, else unchanged (an
 * assertion, a programmer error, must stay one). One already naming its path keeps it.
 */
export function asStorageWriteError(error: unknown, path: string): unknown {
  if (error instanceof StorageWriteError || !(error instanceof Error)) return error;
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (typeof code !== "string" || typeof syscall !== "string") return error;
  return new StorageWriteError((error as NodeJS.ErrnoException).path ?? path, code, syscall, error);
}

/** Runs a write of `path`, turning a system call's failure into a `StorageWriteError` that names it. */
export async function writingTo<T>(path: string, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    throw asStorageWriteError(error, path);
  }
}
