/**
 * Every bound of the system in one place. Names carry their unit last
 * (`…CountMax`, `…BytesMax`, `…Ticks`). Each says why it has the value it has.
 */
/** Bytes of one log entry's data: proposed, replicated and stored alike. */
const entryBytesMax = 4 * 1024 * 1024;

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
    entryBytesMax,
    /** ReadIndex requests waiting on one leader. */
    pendingReadsCountMax: 65_536,
    /** Members (voters and learners) of one cluster. */
    membersCountMax: 32,
  },
  storage: {
    /**
     * Bytes of one log segment before the next entry rolls over to a new file: small enough that a
     * recovery scan reads one segment into memory, large enough that roll-over (one fsync) is rare.
     */
    segmentSizeBytesMax: 64 * 1024 * 1024,
    /** Bytes of one entry's data on disk; matches `raft.entryBytesMax` so anything proposed can be stored. */
    entryDataBytesMax: entryBytesMax,
    /** Segment files in one log directory, scanned one by one on open (64 TiB at the default size). */
    segmentsCountMax: 1_000_000,
    /** Entries in one `appendEntries` call: a Ready's batch, bounded so one write stays a few MiB. */
    appendEntriesCountMax: 65_536,
    /** Writes queued behind the disk; the controller awaits each Ready, so a deep queue is a bug. */
    queuedWritesCountMax: 4_096,
    /** Bytes of one snapshot file, read whole into memory on open and on install. */
    snapshotBytesMax: 512 * 1024 * 1024,
    /** Snapshot files looked at on open (the latest, plus any a crash left behind). */
    snapshotFilesCountMax: 64,
  },
  broker: {
    /**
     * Bytes of one record batch's encoded data (one frame on disk). A produce request's body is at most
     * 4 MiB of JSON (broker/protocol.ts) and its records encode smaller than their JSON, so any request
     * the broker accepts fits one batch.
     */
    batchBytesMax: 4 * 1024 * 1024,
    /** Records in one batch: a produce request carries at most 10,000; room for a larger binary producer. */
    batchRecordsCountMax: 65_536,
    /**
     * Bytes of one partition log segment before the next batch rolls over to a new file (the default, and
     * the largest allowed): a recovery scan reads the last segment whole into memory.
     */
    segmentSizeBytesMax: 64 * 1024 * 1024,
    /** Bytes between two entries of a segment's sparse offset index: a read scans at most this much plus one batch. */
    indexIntervalBytes: 4096,
    /** Segment files in one partition directory (6.4 TiB at the default size), each summarised in memory. */
    segmentsCountMax: 100_000,
    /**
     * Producers whose recent batches a partition keeps for idempotence; beyond it the one that appended
     * least recently is forgotten (its next batch must then start a new sequence at 0).
     */
    producersCountMax: 10_000,
    /** Batches kept per producer for duplicate detection: Kafka's bound on in-flight requests with idempotence. */
    producerBatchesCountMax: 5,
    /** Bytes of batches in one replicated append: a replica fetch answers 8 MiB plus one batch at most. */
    replicatedAppendBytesMax: 16 * 1024 * 1024,
    /** Bytes one read may be asked for (at least one batch is always returned, even a larger one). */
    readBytesMax: 16 * 1024 * 1024,
    /** Bytes read from a segment file at a time while looking for or collecting batches. */
    readChunkBytes: 64 * 1024,
    /** Operations queued behind one partition log's disk (appends, reads, truncations); more are refused (OVERLOADED). */
    queuedOpsCountMax: 4096,
  },
  transport: {
    /**
     * Bytes of one frame's payload. Must hold the largest message the core emits: an AppendEntries of
     * `appendEntriesBytesMax` that may overrun by one `entryBytesMax` entry, plus headers (checked by a test).
     */
    frameSizeBytesMax: 16 * 1024 * 1024,
    /** Bytes of a handshake frame: an unauthenticated connection never makes us buffer more than this. */
    handshakeBytesMax: 1024,
    /** Bytes of the cluster id carried in a handshake. */
    clusterIdBytesMax: 255,
    /** Messages queued for one peer; beyond it the oldest is dropped (Raft resends what still matters). */
    sendQueueCountMax: 4096,
    /** Bytes queued for one peer: a few inflight windows (`raft.inflightBytesMax`) with room for heartbeats and votes. */
    sendQueueBytesMax: 32 * 1024 * 1024,
    /** Bytes coalesced into one socket write (at least one frame always is). */
    writeBatchBytesMax: 1024 * 1024,
    /** First reconnect delay; doubles per failed attempt. */
    reconnectDelayMsMin: 50,
    /** Reconnect delay cap: a restarted peer is found again within about this long. */
    reconnectDelayMsMax: 1000,
    /** An outbound connection attempt not established by then is abandoned (a vanished host never answers). */
    connectTimeoutMs: 2000,
    /** An inbound connection that has not sent a valid handshake by then is closed. */
    handshakeTimeoutMs: 5000,
    /** Inbound connections still waiting for their handshake; more are refused at once. */
    inboundPendingCountMax: 64,
  },
  metadata: {
    /** Broker and partition ids are Kafka int32s; anything larger could not reach a Kafka-shaped client. */
    idMax: 2_147_483_647,
    /** Registered broker ids, CLOSED ones included (they stay visible in the history). */
    brokersCountMax: 10_000,
    /**
     * Registered controllers: every member a cluster may have (`raft.membersCountMax`), and as many again
     * for registrations left behind by a removal that could not unregister (a leader that removed itself).
     */
    controllersCountMax: 64,
    /** Topics in the cluster: every broker keeps all of them in its metadata image. */
    topicsCountMax: 10_000,
    /**
     * Partitions over all topics: the scale KRaft was built for (a million, KIP-500). The image stays a few
     * hundred MB and a snapshot ~25 MB; a fencing still walks every partition inside one apply.
     */
    partitionsCountMax: 1_000_000,
    /** Replicas of one partition: far above any useful replication factor, small enough to scan. */
    replicasCountMax: 32,
    /** Characters of a topic name: Kafka's bound, so a topic name is always a valid directory name. */
    topicNameLengthMax: 249,
    /** Characters of a host, security protocol, rack id, UUID or client id. */
    stringLengthMax: 255,
    /** Producer ids listed; beyond it the lowest (oldest) is dropped from the list, never handed out again. */
    producersCountMax: 100_000,
    /**
     * Clients whose last write result is kept for exactly-once retries; beyond it the entry with the oldest
     * timestamp is forgotten, and a retry from that client after so long is applied as a new write.
     */
    clientSessionsCountMax: 100_000,
    /** Applied records kept for "changes since offset"; older offsets are answered with a full image. */
    historyRecordsCountMax: 100_000,
    /** Age of the oldest kept record, measured from the newest record's timestamp: above any sane delta age. */
    historyAgeMsMax: 60 * 60 * 1000,
    /** Default age beyond which a caller that missed changes gets a full image instead of a delta (SPEC §4). */
    deltaAgeMsDefault: 10 * 60 * 1000,
  },
} as const;
