import type { Broker, BrokerStatus, ControllerRegistration, Partition, ProducerIds } from "./records.js";
import type { TopicView } from "./results.js";
import type { MetadataState } from "./state.js";
import { partitionsInOrder, sortedNumbers, topicsInOrder } from "./state.js";
import { topicView } from "./topicCommands.js";

/** Reads the API serves. Every list is in a stable order (ids ascending, topics by name). */

export interface BrokerFilter {
  /** Only brokers with one of these statuses ("active" brokers are UNFENCED ones). */
  readonly statuses?: readonly BrokerStatus[];
}

export function listBrokers(state: MetadataState, filter: BrokerFilter = {}): Broker[] {
  const brokers = sortedNumbers(state.brokers.keys()).flatMap((id) => present(state.brokers.get(id)));
  const { statuses } = filter;
  return statuses === undefined ? brokers : brokers.filter((broker) => statuses.includes(broker.brokerStatus));
}

export function getBroker(state: MetadataState, brokerId: number): Broker | undefined {
  return state.brokers.get(brokerId);
}

export function listTopics(state: MetadataState): TopicView[] {
  return [...topicsInOrder(state)].map(topicView);
}

export function getTopic(state: MetadataState, name: string): TopicView | undefined {
  const topic = state.topics.get(name);
  return topic === undefined ? undefined : topicView(topic);
}

export function getTopicByUUID(state: MetadataState, topicUUID: string): TopicView | undefined {
  const name = state.topicNamesByUUID.get(topicUUID);
  return name === undefined ? undefined : getTopic(state, name);
}

export interface TopicPartition {
  readonly topicName: string;
  readonly partition: Partition;
}

/** Every partition, or one topic's (none for an unknown topic). */
export function listPartitions(state: MetadataState, topicName?: string): TopicPartition[] {
  const topics = topicName === undefined ? [...topicsInOrder(state)] : present(state.topics.get(topicName));
  return topics.flatMap((topic) => partitionsInOrder(topic).map((partition) => ({ topicName: topic.name, partition })));
}

/** Producer ids still listed (the oldest drop off beyond `limits.metadata.producersCountMax`). */
export function listProducers(state: MetadataState): ProducerIds[] {
  return sortedNumbers(state.producers.keys()).flatMap((id) => present(state.producers.get(id)));
}

/** Registered controllers in id order. */
export function listControllers(state: MetadataState): ControllerRegistration[] {
  return sortedNumbers(state.controllers.keys()).flatMap((id) => present(state.controllers.get(id)));
}

function present<T>(value: T | undefined): T[] {
  return value === undefined ? [] : [value];
}
