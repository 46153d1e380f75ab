import { assert } from "../shared/assert.js";

/**
 * What a leader knows about one follower's log (etcd's Progress):
 * - `probe`: we do not know where the logs match; one AppendEntries at a time until one succeeds.
 * - `replicate`: logs match up to `matchIndex`; AppendEntries are pipelined within the inflight limits.
 * - `snapshot`: the entries the follower needs are compacted away; a snapshot is being sent in chunks.
 */
export type ProgressState = "probe" | "replicate" | "snapshot";

export interface Progress {
  state: ProgressState;
  /** Highest index known to match the leader's log. */
  matchIndex: number;
  /** Next index to send. */
  nextIndex: number;
  /** In `probe`: an AppendEntries is outstanding, wait for its answer or the next heartbeat response. */
  probeSent: boolean;
  /** Whether the follower answered anything since the last check-quorum round. */
  recentActive: boolean;
  /** In `replicate`: last index and data size of each AppendEntries not yet acknowledged, oldest first. */
  inflight: { lastIndex: number; bytes: number }[];
  inflightBytes: number;
  /** In `snapshot`: which snapshot, and how many of its bytes the follower confirmed. */
  snapshotIndex: number;
  snapshotBytesAcked: number;
  /** In `snapshot`: a chunk is outstanding. */
  snapshotChunkSent: boolean;
  /** The last ReadIndex round this follower confirmed. */
  readRoundAcked: number;
  /** The highest commit index sent to this follower in an AppendEntries. */
  commitIndexSent: number;
  /** The leader's tick count when this follower last answered (see NodeStatus). */
  lastContactTick: number;
}

export function newProgress(nextIndex: number): Progress {
  return {
    state: "probe",
    matchIndex: 0,
    nextIndex,
    probeSent: false,
    recentActive: false,
    inflight: [],
    inflightBytes: 0,
    snapshotIndex: 0,
    snapshotBytesAcked: 0,
    snapshotChunkSent: false,
    readRoundAcked: 0,
    commitIndexSent: 0,
    lastContactTick: 0,
  };
}

function resetState(pr: Progress, state: ProgressState): void {
  pr.state = state;
  pr.probeSent = false;
  pr.inflight = [];
  pr.inflightBytes = 0;
  pr.snapshotIndex = 0;
  pr.snapshotBytesAcked = 0;
  pr.snapshotChunkSent = false;
}

export function becomeProbe(pr: Progress): void {
  // After a snapshot the follower holds at least the snapshot; otherwise resume right after the match.
  const next = pr.state === "snapshot" ? Math.max(pr.matchIndex + 1, pr.snapshotIndex + 1) : pr.matchIndex + 1;
  resetState(pr, "probe");
  pr.nextIndex = next;
}

export function becomeReplicate(pr: Progress): void {
  resetState(pr, "replicate");
  pr.nextIndex = pr.matchIndex + 1;
}

export function becomeSnapshot(pr: Progress, snapshotIndex: number): void {
  resetState(pr, "snapshot");
  pr.snapshotIndex = snapshotIndex;
}

export function isPaused(pr: Progress, inflightMessagesMax: number, inflightBytesMax: number): boolean {
  switch (pr.state) {
    case "probe":
      return pr.probeSent;
    case "replicate":
      return pr.inflight.length >= inflightMessagesMax || pr.inflightBytes >= inflightBytesMax;
    case "snapshot":
      return true;
  }
}

/** Records an acknowledgement up to `index`; returns whether it told us anything new. */
export function maybeUpdate(pr: Progress, index: number): boolean {
  let updated = false;
  if (pr.matchIndex < index) {
    pr.matchIndex = index;
    updated = true;
    pr.probeSent = false;
  }
  pr.nextIndex = Math.max(pr.nextIndex, index + 1);
  return updated;
}

/** Records an AppendEntries sent in `replicate` state. */
export function sentEntries(pr: Progress, lastIndex: number, bytes: number): void {
  if (pr.state === "replicate") {
    assert(lastIndex >= pr.nextIndex, "replicate progress only moves forward");
    pr.nextIndex = lastIndex + 1;
    pr.inflight.push({ lastIndex, bytes });
    pr.inflightBytes += bytes;
  } else if (pr.state === "probe") {
    pr.probeSent = true;
  }
}

/** Frees the inflight slots of every AppendEntries acknowledged up to `index`. */
export function freeInflightUpTo(pr: Progress, index: number): void {
  let freed = 0;
  for (const item of pr.inflight) {
    if (item.lastIndex > index) break;
    pr.inflightBytes -= item.bytes;
    freed++;
  }
  if (freed > 0) pr.inflight.splice(0, freed);
}

/**
 * Handles a rejection of the AppendEntries whose previous index was `rejectedIndex`; `probeIndex` is
 * where the leader will try next (from the follower's hint). Returns false for a stale rejection.
 */
export function maybeDecrease(pr: Progress, rejectedIndex: number, probeIndex: number): boolean {
  if (pr.state === "replicate") {
    // A rejection at or below the match is stale: the follower has since accepted more.
    if (rejectedIndex <= pr.matchIndex) return false;
    pr.nextIndex = pr.matchIndex + 1;
    return true;
  }
  // In probe only the rejection of the last probe counts.
  if (pr.nextIndex - 1 !== rejectedIndex) return false;
  pr.nextIndex = Math.max(Math.min(rejectedIndex, probeIndex + 1), pr.matchIndex + 1);
  pr.probeSent = false;
  return true;
}
