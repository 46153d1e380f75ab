/**
 * The memo of the linearizability search: the configurations it has already explored, so that it never
 * explores one twice (Lowe, "Testing for linearizability", 2017; Porcupine's cache). A configuration
 * is the set of operations linearized so far plus the model state they lead to; two paths that reach the
 * same configuration have the same future, so the second one can be pruned.
 *
 * The set of linearized operations is a bitset (one bit per operation). Operations of known outcome take
 * the low bits, in order of invocation, and unknown operations the bits after them. Because a search
 * linearizes operations roughly in invocation order, the known part of a set is almost always a run of
 * full words, a short window, then zero words; only the window is stored, which keeps a long history's
 * memo to a few words per configuration instead of one bit per operation.
 */
import { assert, AssertionError } from "../../shared/assert.js";

/** Where the bits of a configuration's set of linearized operations live. */
export interface BitsetLayout {
  /** Words holding the bits of operations of known outcome: words [0, knownWordsCount). */
  readonly knownWordsCount: number;
  /** All words: the bits of unknown operations are words [knownWordsCount, wordsCount). */
  readonly wordsCount: number;
}

/** "full": storing the configuration would take the memo past its byte bound. */
export type MemoAddResult = "added" | "present" | "full";

/**
 * The set of operations linearized so far, as a bitset that keeps what the memo needs up to date as it
 * changes: a Zobrist hash (the XOR of its members' values, so O(1) per change), the count of full words
 * at the start of the known part, and the end of the last non-zero known word.
 */
export interface LinearizedSet {
  readonly words: Uint32Array;
  hash(): number;
  fullWordsCount(): number;
  knownEnd(): number;
  add(bit: number): void;
  remove(bit: number): void;
}

export function createLinearizedSet(layout: BitsetLayout): LinearizedSet {
  const { knownWordsCount, wordsCount } = layout;
  const words = new Uint32Array(wordsCount);
  let hash = 0;
  let fullWordsCount = 0;
  let knownEnd = 0;
  return {
    words,
    hash: () => hash,
    fullWordsCount: () => fullWordsCount,
    knownEnd: () => knownEnd,
    add: (bit) => {
      const word = bit >>> 5;
      const mask = 1 << (bit & 31);
      if (((words[word] as number) & mask) !== 0) throw new AssertionError(`Cannot add bit ${bit} to the linearized set: it is there`);
      words[word] = (words[word] as number) | mask;
      hash = (hash ^ zobrist(bit)) >>> 0;
      if (word >= knownWordsCount) return;
      if (word >= knownEnd) knownEnd = word + 1;
      // Amortised: each word is passed over once per time it fills.
      while (fullWordsCount < knownWordsCount && words[fullWordsCount] === WORD_FULL) fullWordsCount++;
    },
    remove: (bit) => {
      const word = bit >>> 5;
      const mask = 1 << (bit & 31);
      if (((words[word] as number) & mask) === 0) throw new AssertionError(`Cannot remove bit ${bit} from the linearized set: it is not there`);
      words[word] = (words[word] as number) & ~mask;
      hash = (hash ^ zobrist(bit)) >>> 0;
      if (word >= knownWordsCount) return;
      if (word < fullWordsCount) fullWordsCount = word;
      while (knownEnd > 0 && words[knownEnd - 1] === 0) knownEnd--;
    },
  };
}

/** A fixed pseudo-random value per bit, for Zobrist hashing. */
function zobrist(bit: number): number {
  return mix32(Math.imul(bit + 1, 0x9e37_79b1));
}

export interface Memo {
  /**
   * Records the configuration (`set`, `stateId`) unless it is already there; `stateId` identifies the
   * model state exactly. The memo copies what it keeps, so the caller may change `set` afterwards.
   */
  add(set: LinearizedSet, stateId: number): MemoAddResult;
  /** Configurations stored. */
  entriesCount(): number;
  /** Bytes of the stored configurations and the table (allocations round up to at most twice this). */
  bytesUsed(): number;
}

const WORD_FULL = 0xffff_ffff;
const NONE = -1;
const capacityInitial = 1024;
/** Bytes of the per-configuration fields kept beside its words (six 32-bit fields). */
const entryFieldsBytes = 6 * 4;
/** Words of the arena addressable by an Int32Array offset. */
const arenaWordsMax = 0x7fff_ffff;

export function createMemo(layout: BitsetLayout, bytesMax: number): Memo {
  const { knownWordsCount, wordsCount } = layout;
  assert(
    Number.isInteger(knownWordsCount) && Number.isInteger(wordsCount) && knownWordsCount >= 0 && wordsCount >= knownWordsCount,
    `Cannot create a memo: layout is ${knownWordsCount} known words of ${wordsCount}`,
  );
  assert(bytesMax > 0, `Cannot create a memo: bytesMax is ${bytesMax}`);
  const unknownWordsCount = wordsCount - knownWordsCount;

  let buckets = new Int32Array(capacityInitial).fill(NONE);
  let hashes = new Uint32Array(capacityInitial);
  let stateIds = new Int32Array(capacityInitial);
  /** Full words at the start of the known part that are not stored. */
  let fullWordsCounts = new Int32Array(capacityInitial);
  /** End of the stored known window; words from there to `knownWordsCount` are zero. */
  let knownEnds = new Int32Array(capacityInitial);
  let offsets = new Int32Array(capacityInitial);
  let nexts = new Int32Array(capacityInitial);
  let arena = new Uint32Array(capacityInitial);
  let arenaWordsUsed = 0;
  let count = 0;

  const bytesUsed = (): number => arenaWordsUsed * 4 + count * entryFieldsBytes + buckets.length * 4;

  const wordsEqual = (entry: number, bits: Uint32Array, fullWordsCount: number, knownEnd: number): boolean => {
    let at = offsets[entry] as number;
    for (let w = fullWordsCount; w < knownEnd; w++, at++) if (arena[at] !== bits[w]) return false;
    for (let w = knownWordsCount; w < wordsCount; w++, at++) if (arena[at] !== bits[w]) return false;
    return true;
  };

  const growEntries = (): void => {
    const capacity = hashes.length * 2;
    hashes = grown(hashes, new Uint32Array(capacity));
    stateIds = grown(stateIds, new Int32Array(capacity));
    fullWordsCounts = grown(fullWordsCounts, new Int32Array(capacity));
    knownEnds = grown(knownEnds, new Int32Array(capacity));
    offsets = grown(offsets, new Int32Array(capacity));
    nexts = grown(nexts, new Int32Array(capacity));
    // One bucket per entry keeps chains short; rehash every entry into the larger table.
    buckets = new Int32Array(capacity).fill(NONE);
    const mask = capacity - 1;
    for (let entry = 0; entry < count; entry++) {
      const bucket = (hashes[entry] as number) & mask;
      nexts[entry] = buckets[bucket] as number;
      buckets[bucket] = entry;
    }
  };

  const add = (set: LinearizedSet, stateId: number): MemoAddResult => {
    const bits = set.words;
    if (bits.length !== wordsCount) throw new AssertionError(`Cannot add to the memo: the set has ${bits.length} words, not ${wordsCount}`);
    const hash = mix32((set.hash() ^ Math.imul(stateId + 1, 0x9e37_79b1)) >>> 0);
    const fullWordsCount = set.fullWordsCount();
    const knownEnd = set.knownEnd(); // ≥ fullWordsCount, since a full word is not zero

    for (let entry = buckets[hash & (buckets.length - 1)] as number; entry !== NONE; entry = nexts[entry] as number) {
      if (
        hashes[entry] === hash &&
        stateIds[entry] === stateId &&
        fullWordsCounts[entry] === fullWordsCount &&
        knownEnds[entry] === knownEnd &&
        wordsEqual(entry, bits, fullWordsCount, knownEnd)
      ) {
        return "present";
      }
    }

    const wordsStoredCount = knownEnd - fullWordsCount + unknownWordsCount;
    const bytesAfter = bytesUsed() + wordsStoredCount * 4 + entryFieldsBytes;
    if (bytesAfter > bytesMax || arenaWordsUsed + wordsStoredCount > arenaWordsMax) return "full";
    if (count === hashes.length) growEntries();
    if (arenaWordsUsed + wordsStoredCount > arena.length) {
      let capacity = arena.length * 2;
      while (capacity < arenaWordsUsed + wordsStoredCount) capacity *= 2;
      arena = grown(arena, new Uint32Array(Math.min(capacity, arenaWordsMax)));
    }

    const entry = count++;
    hashes[entry] = hash;
    stateIds[entry] = stateId;
    fullWordsCounts[entry] = fullWordsCount;
    knownEnds[entry] = knownEnd;
    offsets[entry] = arenaWordsUsed;
    arena.set(bits.subarray(fullWordsCount, knownEnd), arenaWordsUsed);
    arena.set(bits.subarray(knownWordsCount, wordsCount), arenaWordsUsed + knownEnd - fullWordsCount);
    arenaWordsUsed += wordsStoredCount;
    const bucket = hash & (buckets.length - 1);
    nexts[entry] = buckets[bucket] as number;
    buckets[bucket] = entry;
    return "added";
  };

  return { add, entriesCount: () => count, bytesUsed };
}

/** Murmur3's 32-bit finaliser: spreads every input bit over the output, so low bits index buckets well. */
export function mix32(value: number): number {
  let h = value >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85eb_ca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2_ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function grown<T extends Uint32Array | Int32Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
