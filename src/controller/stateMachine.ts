import type { Entry } from "../raft/types.js";

/**
 * What a controller replicates: a deterministic function of the committed log. The controller calls
 * `apply` once per committed entry, in log order (noop and membership entries included, so
 * `appliedIndex` follows the log), and `restore` when a snapshot replaces the state. `snapshot()`
 * must capture exactly the state after `appliedIndex`: `restore(snapshot())` on another node yields
 * the same state.
 */
export interface StateMachine<Result> {
  /** Index of the last entry applied (or of the snapshot restored last). */
  readonly appliedIndex: number;
  /** Applies one committed entry and returns what the proposer is told. Never throws on entry data. */
  apply(entry: Entry): Result;
  /** The state as bytes, at `appliedIndex`. */
  snapshot(): Uint8Array;
  /**
   * Optional: the snapshot at `appliedIndex` (as `offset`), encoded a step at a time — `step()` until it
   * returns true, then `bytes()` — while later entries are applied in between. The controller then encodes
   * large states beside its Ready loop instead of holding the event loop for the whole encoding.
   */
  snapshotInSteps?(): { readonly offset: number; step(): boolean; bytes(): Uint8Array };
  /** Replaces the whole state with a snapshot's (empty data is the empty state). */
  restore(data: Uint8Array, index: number): void;
  /** Optional: the log was compacted up to `index`, after this node's own snapshot there. */
  compacted?(index: number): void;
}
