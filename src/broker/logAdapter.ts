import type { BrokerLog } from "./broker.js";
import { BrokerError } from "./brokerError.js";
import type { PartitionLog} from "./partitionLog.js";
import { checkBatchFrames, PartitionLogError } from "./partitionLog.js";
import type { BrokerErrorCode } from "./protocol.js";

/** The partition log's refusals as broker errors; anything else it throws is a storage failure. */
async function translated<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (!(error instanceof PartitionLogError)) throw new BrokerError("STORAGE_FAILED", `Cannot complete the request as the partition log failed: ${String(error)}`);
    const code: BrokerErrorCode = error.code === "OUT_OF_ORDER_SEQUENCE" || error.code === "OFFSET_OUT_OF_RANGE" || error.code === "FENCED_LEADER_EPOCH" ? error.code : error.code === "INVALID_BATCH" ? "BAD_REQUEST" : "STORAGE_FAILED";
    throw new BrokerError(code, error.message, { ...error.details });
  }
}

/** A `PartitionLog` as the broker and its replicas use it. */
export function brokerLogAdapter(log: PartitionLog): BrokerLog {
  return {
    get logStartOffset() {
      return log.logStartOffset;
    },
    get logEndOffset() {
      return log.logEndOffset;
    },
    get syncedEndOffset() {
      return log.syncedEndOffset;
    },
    lastEpoch: () => log.latestEpoch ?? -1,
    append: (batch) => translated(() => log.append(batch)),
    appendEncoded: (bytes) => translated(() => log.appendReplicated(checkBatchFrames(bytes))),
    sync: () => translated(() => log.sync()),
    readBatches: async (fromOffset, maxBytes, upToOffset) => (await translated(() => log.read(fromOffset, { maxBytes, upToOffset }))).batches,
    readEncoded: async (fromOffset, maxBytes, upToOffset) => (await translated(() => log.read(fromOffset, { maxBytes, upToOffset, decode: false }))).bytes,
    truncateTo: (offset) => translated(() => log.truncateTo(offset)),
    endOffsetForEpoch: (epoch) => {
      const found = log.endOffsetForEpoch(epoch);
      if (found !== undefined) return found;
      // Past our latest epoch (or an empty log): everything we hold is before it.
      return { epoch: log.latestEpoch ?? -1, endOffset: log.logEndOffset };
    },
    checkSequence: (producerId, baseSequence, count) => {
      const check = log.checkSequence(producerId, baseSequence, count);
      return check.kind === "outOfOrder" ? { kind: "outOfOrder", expectedSequence: check.expected } : check;
    },
    close: () => log.close(),
    delete: () => log.delete(),
  };
}
