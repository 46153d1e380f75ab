import type { CompatProfileName } from "../../controller/config.js";
import type { CompatAction } from "./actions.js";
import {
  allBrokers,
  brokerChanges,
  brokerHeartbeat,
  changeBroker,
  clientChanges,
  createPartition,
  createTopic,
  deletePartition,
  deleteTopic,
  getBroker,
  getBrokerOrAll,
  getPartitions,
  getTopic,
  getTopicOrAll,
  listBrokers,
  listPartitions,
  listProducers,
  listTopics,
  registerBroker,
  registerProducer,
  unregisterBroker,
  wholeMetadata,
} from "./actions.js";
import type { InputRules } from "./input.js";

/**
 * The five profiles of SPEC §4.1, exactly the routes of its table, each an alias of a shared adapter
 * (actions.ts). Path parameters carry the canonical key names, so that an adapter finds `brokerId` in
 * the path, the query or the body alike.
 */

export type CompatMethod = "GET" | "POST" | "PUT" | "DELETE";

export interface CompatRoute {
  readonly methods: readonly CompatMethod[];
  readonly path: string;
  readonly action: CompatAction;
}

export interface CompatProfile extends Pick<InputRules, "keyMatching" | "integerIs"> {
  readonly name: CompatProfileName;
  readonly routes: readonly CompatRoute[];
}

/** Statuses of the brokers that are not CLOSED (flask-b's "all brokers" left unregistered ones out). */
const registeredStatuses = "INIT,UNFENCED,FENCED";

const route = (methods: CompatMethod | readonly CompatMethod[], path: string, action: CompatAction): CompatRoute => ({
  methods: typeof methods === "string" ? [methods] : methods,
  path,
  action,
});

/** Flask with `<float:offset>` routes: a decimal is epoch seconds, a whole number an offset. */
const flaskA: CompatProfile = {
  name: "flask-a",
  keyMatching: "exact",
  integerIs: "offset",
  routes: [
    route("POST", "/register_broker", registerBroker),
    route("GET", "/get_active_brokers", listBrokers("active")),
    route("POST", "/create_topic", createTopic),
    route("GET", "/get_topic_by_name/:name", getTopic),
    route("POST", "/create_partition", createPartition),
    route("POST", "/register_producer", registerProducer),
    route(["POST", "PUT"], "/update_broker", changeBroker),
    route(["DELETE", "PUT"], "/unregister_broker/:brokerId", unregisterBroker),
    route("GET", "/broker_mgmt/:offset", brokerChanges("offset")),
    route("GET", "/client_mgmt/:offset", clientChanges("offset")),
  ],
};

/** Flask over a key-value store, stamping records `YYYY-mm-dd_HH:MM:SS`: its offsets are times, so a whole number is epoch seconds. */
const flaskB: CompatProfile = {
  name: "flask-b",
  keyMatching: "exact",
  integerIs: "epochSeconds",
  routes: [
    route("GET", "/get_metadata", wholeMetadata),
    route("POST", "/register_broker", registerBroker),
    route("GET", "/get_all_brokers", listBrokers(registeredStatuses)),
    route("GET", "/get_broker/:brokerId", getBroker),
    route("PUT", "/delete_broker/:brokerId", unregisterBroker),
    route("POST", "/create_topic", createTopic),
    route("GET", "/get_topic/:name", getTopic),
    route("POST", "/create_partition", createPartition),
    route("GET", "/get_partitions", listPartitions),
    route("POST", "/register_producer/:brokerId", registerProducer),
    route("GET", "/get_producer_ids", listProducers),
    route(["PUT", "POST"], "/broker_registration_change", changeBroker),
    route("GET", "/broker_mgmt/:offset", brokerChanges("offset")),
    route("GET", "/client_mgmt/:offset", clientChanges("offset")),
  ],
};

/** Flask over PySyncObj: record envelopes in, RFC 1123 dates as offsets. */
const syncobj: CompatProfile = {
  name: "syncobj",
  keyMatching: "exact",
  integerIs: "offset",
  routes: [
    route("POST", "/register-broker-record", registerBroker),
    route("POST", "/register-broker-change", changeBroker),
    route("POST", "/register-topic-record", createTopic),
    route("POST", "/delete-broker-record", unregisterBroker),
    route("POST", "/register-producer-record", registerProducer),
    route("POST", "/partition-record", createPartition),
    route("POST", "/metadata-fetch-broker", brokerHeartbeat),
    route("GET", "/metadata-fetch-client", clientChanges("offset")),
  ],
};

/** FastAPI: trailing slashes, and `/get_x/` (all) beside `/get_x/{id}` (one). */
const fastapi: CompatProfile = {
  name: "fastapi",
  keyMatching: "exact",
  integerIs: "offset",
  routes: [
    route("POST", "/register_broker/", registerBroker),
    route("GET", "/get_broker/", allBrokers),
    route("GET", "/get_broker/:brokerId", getBroker),
    route("DELETE", "/delete_broker/:brokerId", unregisterBroker),
    route("POST", "/register_topic/", createTopic),
    route("GET", "/get_topic/", listTopics),
    route("GET", "/get_topic/:name", getTopic),
    route("DELETE", "/delete_topic/:name", deleteTopic),
    route("POST", "/register_partition/", createPartition),
    route("GET", "/get_partition/", listPartitions),
    route("GET", "/get_partition/:partitionId", getPartitions),
    route("DELETE", "/delete_partition/:partitionId", deletePartition),
    route("POST", "/register_broker_change/", changeBroker),
    route("POST", "/register_producer/", registerProducer),
    route(["GET", "POST"], "/get_producer/", listProducers),
    route("POST", "/metadata_fetch/", brokerHeartbeat),
    route("GET", "/metadata_fetch_client/", clientChanges("offset")),
  ],
};

/** Gin over hashicorp/raft: resources with ids in the query, keys matched case-insensitively, `prevLogicalTime` an offset. */
const goRest: CompatProfile = {
  name: "go-rest",
  keyMatching: "caseInsensitive",
  integerIs: "offset",
  routes: [
    route("POST", "/brokers", registerBroker),
    route("GET", "/brokers", getBrokerOrAll),
    route("PUT", "/brokers", changeBroker),
    route("DELETE", "/brokers", unregisterBroker),
    route("GET", "/activeBrokers", listBrokers("active")),
    route("POST", "/topics", createTopic),
    route("GET", "/topics", getTopicOrAll),
    route("POST", "/producers", registerProducer),
    route("POST", "/partitions", createPartition),
    route("GET", "/clientMetadata", clientChanges("prevLogicalTime")),
    route("GET", "/brokerMetadata", brokerChanges("prevLogicalTime")),
  ],
};

/** In SPEC §4.1's order, which is also the order in which profiles claim root paths after the chosen one. */
export const compatProfiles: readonly CompatProfile[] = [flaskA, flaskB, syncobj, fastapi, goRest];
