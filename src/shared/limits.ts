/**
 * Every bound of the system in one place. Names carry their unit last
 * (`…CountMax`, `…BytesMax`, `…Ticks`). Each says why it has the value it has.
 */
export const limits = {
  raft: {
    /** Entries in one AppendEntries: keeps one message small enough to interleave with heartbeats. */
    appendEntriesCountMax: 512,
    /** Bytes of entry data in one AppendEntries (at least one entry is always sent). */
    appendEntriesBytesMax: 1024 * 1024,
    /** AppendEntries in flight to one follower in the replicate state (pipelining window). */
    inflightMessagesMax: 64,
    /** Bytes of entries in flight to one follower. */
    inflightBytesMax: 8 * 1024 * 1024,
    /** Bytes of proposed but uncommitted entry data on a leader before proposals are refused. */
    uncommittedBytesMax: 32 * 1024 * 1024,
    /** Bytes of one InstallSnapshot chunk. */
    snapshotChunkBytesMax: 512 * 1024,
    /** Bytes of committed entries handed out in one Ready (at least one entry always is). */
    readyCommittedBytesMax: 16 * 1024 * 1024,
    /** Bytes of one proposed entry. */
    entryBytesMax: 4 * 1024 * 1024,
    /** ReadIndex requests waiting on one leader. */
    pendingReadsCountMax: 65_536,
    /** Members (voters and learners) of one cluster. */
    membersCountMax: 32,
  },
} as const;
