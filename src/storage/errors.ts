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
