import type { Entry, EntryType, NodeId } from "../raft/types.js";

/** What the checker needs to see of one node's log. */
export interface LogView {
  readonly snapshotIndex: number;
  readonly snapshotTerm: number;
  termAt(index: number): number | undefined;
  entryAt(index: number): Entry | undefined;
}

interface EntryRecord {
  readonly term: number;
  readonly type: EntryType;
  readonly data: Uint8Array;
}

interface AppendedRecord extends EntryRecord {
  readonly prevTerm: number;
}

interface CommittedRecord extends EntryRecord {
  /**
   * The lowest current term of a node seen holding the entry as committed: the entry was committed by
   * a leader of this term or an earlier one, so every leader of a later term must hold it (Raft §5.4).
   */
  commitTerm: number;
}

/**
 * The safety properties of Raft (Figure 3 of the paper) and of the application above it, checked
 * incrementally from what the cluster reports after every event. The first broken property is recorded
 * in `violations`; the run stops there, so later messages never hide the first cause.
 */
export class Checker {
  readonly violations: string[] = [];
  /** Simulated time of the event being checked, for the messages. */
  now = 0;
  private readonly leaderByTerm = new Map<number, NodeId>();
  /** Index → term → what some log held there, with the term of the entry before it. */
  private readonly appended: (Map<number, AppendedRecord> | undefined)[] = [];
  /** Index → the entry committed there (known to be committed by at least one node). */
  private readonly committed: (CommittedRecord | undefined)[] = [];
  private committedIndexMax = 0;
  /** Index → digest of the state machine after applying it. */
  private readonly stateHashes: (number | undefined)[] = [];

  get failed(): boolean {
    return this.violations.length > 0;
  }

  get committedIndex(): number {
    return this.committedIndexMax;
  }

  fail(message: string): void {
    this.violations.push(`t=${this.now} ${message}`);
  }

  /** Election safety: at most one leader per term, ever. Leader completeness: it holds every committed entry. */
  leaderElected(node: NodeId, term: number, log: LogView): void {
    const previous = this.leaderByTerm.get(term);
    if (previous !== undefined && previous !== node) {
      this.fail(`election safety: n${node} became leader of term ${term}, which n${previous} already led`);
      return;
    }
    this.leaderByTerm.set(term, node);
    if (log.snapshotIndex > 0) {
      const atSnapshot = this.committed[log.snapshotIndex];
      if (atSnapshot !== undefined && atSnapshot.term !== log.snapshotTerm) {
        this.fail(`leader completeness: n${node} (term ${term}) has a snapshot at ${log.snapshotIndex} of term ${log.snapshotTerm}, committed term is ${atSnapshot.term}`);
        return;
      }
    }
    for (let index = log.snapshotIndex + 1; index <= this.committedIndexMax; index++) {
      const want = this.committed[index];
      // A leader of an older term (a candidate that resumed late, say) need not hold newer commits.
      if (want === undefined || want.commitTerm >= term) continue;
      const have = log.entryAt(index);
      if (have === undefined || have.term !== want.term || !sameBytes(have.data, want.data)) {
        this.fail(`leader completeness: n${node} became leader of term ${term} without committed entry ${index} (term ${want.term}); it holds ${have === undefined ? "nothing" : `term ${have.term}`}`);
        return;
      }
    }
  }

  /** Log matching: an (index, term) pair names one entry everywhere, with the same predecessor term. */
  entriesAppended(node: NodeId, entries: readonly Entry[], prevTermOfFirst: number | undefined): void {
    let prevTerm = prevTermOfFirst;
    for (const entry of entries) {
      let byTerm = this.appended[entry.index];
      if (byTerm === undefined) {
        byTerm = new Map();
        this.appended[entry.index] = byTerm;
      }
      const seen = byTerm.get(entry.term);
      if (seen === undefined) {
        if (prevTerm !== undefined) byTerm.set(entry.term, { term: entry.term, type: entry.type, data: entry.data, prevTerm });
      } else if (seen.type !== entry.type || !sameBytes(seen.data, entry.data)) {
        this.fail(`log matching: n${node} holds a different entry at index ${entry.index} term ${entry.term} than another log`);
        return;
      } else if (prevTerm !== undefined && seen.prevTerm !== prevTerm) {
        this.fail(`log matching: n${node} holds entry ${entry.index} term ${entry.term} after term ${prevTerm}, another log after term ${seen.prevTerm}`);
        return;
      }
      prevTerm = entry.term;
    }
  }

  /** A node in term `term` moved its commit index from `from` to `to` within one incarnation. */
  commitAdvanced(node: NodeId, term: number, from: number, to: number, log: LogView): void {
    if (to < from) {
      this.fail(`commit monotonicity: n${node} moved its commit index back from ${from} to ${to}`);
      return;
    }
    for (let index = from + 1; index <= to; index++) {
      const entry = log.entryAt(index);
      if (entry !== undefined) this.entryCommitted(node, term, entry);
      else if (index === log.snapshotIndex) this.snapshotCommitted(node, index, log.snapshotTerm);
    }
  }

  /** State machine safety: once committed, an index holds the same entry forever, on every node. */
  entryCommitted(node: NodeId, nodeTerm: number, entry: Entry): void {
    const known = this.committed[entry.index];
    if (known === undefined) {
      this.committed[entry.index] = { term: entry.term, type: entry.type, data: entry.data, commitTerm: nodeTerm };
      if (entry.index > this.committedIndexMax) this.committedIndexMax = entry.index;
      return;
    }
    if (nodeTerm < known.commitTerm) known.commitTerm = nodeTerm;
    if (known.term !== entry.term || known.type !== entry.type || !sameBytes(known.data, entry.data)) {
      this.fail(`committed entry changed: n${node} has entry ${entry.index} of term ${entry.term}, but entry ${entry.index} of term ${known.term} was committed`);
    }
  }

  private snapshotCommitted(node: NodeId, index: number, term: number): void {
    const known = this.committed[index];
    if (known !== undefined && known.term !== term) {
      this.fail(`committed entry changed: n${node} has a snapshot at ${index} of term ${term}, but term ${known.term} was committed there`);
    }
  }

  /** The durable commit index of a node never moves back, across crashes and restarts. */
  persistedCommit(node: NodeId, before: number, after: number): void {
    if (after < before) this.fail(`durable commit went back: n${node} stored commit ${after} after ${before}`);
  }

  /**
   * Applied sequences are prefixes of one global sequence: a node applies `entry` right after
   * `appliedBefore`, the entry is the committed one, and the resulting state equals every other
   * node's state at that index.
   */
  applied(node: NodeId, nodeTerm: number, appliedBefore: number, entry: Entry, stateHash: number): void {
    if (entry.index !== appliedBefore + 1) {
      this.fail(`applied order: n${node} applied entry ${entry.index} right after ${appliedBefore}`);
      return;
    }
    this.entryCommitted(node, nodeTerm, entry);
    if (this.failed) return;
    this.stateAt(node, entry.index, stateHash, "applying");
  }

  /** A node's state machine jumped to `index` from a snapshot (installed, or loaded on restart). */
  snapshotRestored(node: NodeId, index: number, term: number, stateHash: number): void {
    this.snapshotCommitted(node, index, term);
    if (this.failed) return;
    this.stateAt(node, index, stateHash, "restoring a snapshot at");
  }

  /** Linearizable reads: a read sees every write acknowledged before it began. */
  readServed(node: NodeId, key: number, version: number, versionRequired: number): void {
    if (version < versionRequired) {
      this.fail(`stale read: n${node} served key ${key} at version ${version}, but version ${versionRequired} was acknowledged before the read began`);
    }
  }

  private stateAt(node: NodeId, index: number, stateHash: number, how: string): void {
    if (index === 0) return;
    const known = this.stateHashes[index];
    if (known === undefined) this.stateHashes[index] = stateHash;
    else if (known !== stateHash) this.fail(`state machine divergence: n${node} has state ${stateHash} after ${how} ${index}, another node had ${known}`);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
