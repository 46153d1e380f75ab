import { limits } from "../shared/limits.js";
import { checkBrokerEpoch, checkBrokerStatus } from "./brokerCommands.js";
import { checkCount, checkId } from "./checks.js";
import type { RegisterProducer } from "./commands.js";
import type { ProducerIds, RecordPosition } from "./records.js";
import { metadataRecord } from "./records.js";
import type { Applied, Rejection } from "./results.js";
import { reject } from "./results.js";
import type { MetadataState } from "./state.js";

/**
 * Producer ids (ProducerIdsRecord). The quorum hands out `nextProducerId` and moves it past every id it
 * hands out, so an id is never given twice — not after a rejection, an eviction from the list, or a
 * snapshot. A requested id must lie at or above that mark; below it, it may have been handed out before.
 * The broker asking must serve (INIT or UNFENCED) and name its current epoch.
 */
export function checkRegisterProducer(state: MetadataState, command: RegisterProducer): Rejection | undefined {
  return (
    checkId(command.brokerId, "brokerId") ??
    checkCount(command.brokerEpoch, "brokerEpoch") ??
    (command.producerId === undefined ? undefined : checkCount(command.producerId, "producerId")) ??
    checkBrokerStatus(state, command.brokerId, ["INIT", "UNFENCED"], "register a producer for") ??
    checkBrokerEpoch(state, command.brokerId, command.brokerEpoch, "register a producer") ??
    checkProducerIdFree(state, command.producerId)
  );
}

export function applyRegisterProducer(state: MetadataState, command: RegisterProducer, at: RecordPosition): Applied {
  const producer: ProducerIds = {
    brokerId: command.brokerId,
    brokerEpoch: command.brokerEpoch,
    producerId: command.producerId ?? state.nextProducerId,
  };
  state.nextProducerId = producer.producerId + 1;
  state.producers.set(producer.producerId, producer);
  evictOldestProducers(state);
  return { ok: true, records: [metadataRecord("ProducerIdsRecord", producer, at)], value: { kind: "producer", producer } };
}

function checkProducerIdFree(state: MetadataState, producerId: number | undefined): Rejection | undefined {
  if (producerId === undefined || producerId >= state.nextProducerId) {
    return state.nextProducerId < Number.MAX_SAFE_INTEGER ? undefined : reject("LIMIT_EXCEEDED", "Cannot register a producer as every producer id is used");
  }
  return reject("PRODUCER_ID_TAKEN", `Cannot register producer ${producerId} as ids below ${state.nextProducerId} may have been handed out: next free value is ${state.nextProducerId}`, "producerId");
}

/** Ids only grow, so the map's first key is the lowest and oldest id. */
function evictOldestProducers(state: MetadataState): void {
  for (const producerId of state.producers.keys()) {
    if (state.producers.size <= limits.metadata.producersCountMax) return;
    state.producers.delete(producerId);
  }
}
