import { assert } from "../../shared/assert.js";

/**
 * The leader epoch cache (KIP-101): for each leader epoch that appended to the log, the offset of its
 * first batch, in increasing order of both. A follower asks the leader for the end of its own latest
 * epoch and truncates whatever it holds past it, which removes a tail that a deposed leader appended
 * and the new leader never had.
 */
export interface EpochStart {
  readonly epoch: number;
  readonly startOffset: number;
}

/** Kafka's OffsetsForLeaderEpoch answer. */
export interface EpochEndOffset {
  readonly epoch: number;
  readonly endOffset: number;
}

/** Notes that a batch of `epoch` starts at `startOffset`; only a new, higher epoch adds an entry. */
export function appendEpoch(epochs: EpochStart[], epoch: number, startOffset: number): void {
  const latest = epochs[epochs.length - 1];
  if (latest !== undefined) {
    assert(epoch >= latest.epoch, `epoch ${epoch} at offset ${startOffset} goes back from epoch ${latest.epoch}`);
    assert(startOffset >= latest.startOffset, `epoch ${epoch} starts at ${startOffset}, before epoch ${latest.epoch} at ${latest.startOffset}`);
    if (epoch === latest.epoch) return;
  }
  epochs.push({ epoch, startOffset });
}

/**
 * Where `epoch` ends in this log, as Kafka answers OffsetsForLeaderEpoch:
 * - `epoch` is the latest: `{ epoch, endOffset: logEndOffset }`;
 * - otherwise, with E the largest known epoch at most `epoch`: `{ epoch: E, endOffset }` where endOffset
 *   is the start offset of the first epoch greater than `epoch`;
 * - `epoch` below every known epoch: `{ epoch, endOffset: start offset of the earliest known epoch }`;
 * - `epoch` above the latest, or no epoch known: undefined (Kafka's UNDEFINED_EPOCH_OFFSET).
 */
export function endOffsetForEpoch(epochs: readonly EpochStart[], epoch: number, logEndOffset: number): EpochEndOffset | undefined {
  const latest = epochs[epochs.length - 1];
  if (latest === undefined || epoch > latest.epoch) return undefined;
  if (epoch === latest.epoch) return { epoch, endOffset: logEndOffset };
  const higherAt = epochs.findIndex((e) => e.epoch > epoch);
  const higher = epochs[higherAt];
  assert(higher !== undefined, `an epoch above ${epoch} exists since the latest is ${latest.epoch}`);
  const floor = epochs[higherAt - 1];
  return { epoch: floor?.epoch ?? epoch, endOffset: higher.startOffset };
}

/** The entries left once the log ends at `endOffset`: epochs that start at or after it had no batch left. */
export function truncateEpochs(epochs: readonly EpochStart[], endOffset: number): EpochStart[] {
  return epochs.filter((e) => e.startOffset < endOffset);
}
