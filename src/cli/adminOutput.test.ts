import assert from "node:assert/strict";
import { test } from "node:test";
import type { Topic } from "../api/schemas.js";
import type { ClusterStatus } from "../client/adminClient.js";
import { brokersTable, clusterStatusText, topicsTable, topicWritten } from "./adminOutput.js";

const partition = (partitionId: number, replicas: number[], leader: number) => ({ partitionId, topicUUID: "u", replicas, ISR: replicas, removingReplicas: [], addingReplicas: [], leader, partitionEpoch: 1 });

test("topicWritten() says when the answer is a replay of an earlier attempt rather than naming an offset", () => {
  const topic: Topic = { name: "orders", topicUUID: "u", partitions: [] };
  assert.equal(topicWritten("Created", { topic, offset: 0, replayed: true }), "Created topic orders (u) with 0 partitions: answered from an earlier attempt of this request");
  assert.equal(topicWritten("Deleted", { topic: { ...topic, partitions: [partition(0, [1], 1)] }, offset: 4, replayed: false }), "Deleted topic orders (u) with 1 partition at offset 4");
});

test("topicsTable() shows a range when partitions have different replication factors, and none without topics", () => {
  const topic: Topic = { name: "mixed", topicUUID: "u", partitions: [partition(0, [1, 2], 1), partition(1, [1, 2, 3], -1)] };
  assert.equal(topicsTable([topic]), "NAME   PARTITIONS  RF   UUID\nmixed  2           2-3  u");
  assert.equal(topicsTable([]), "no topics");
});

test("brokersTable() brackets IPv6 hosts and sorts by id", () => {
  const broker = { internalUUID: "i", brokerId: 2, brokerHost: "::1", brokerPort: 9202, securityProtocol: "PLAINTEXT", rackId: null, brokerStatus: "FENCED" as const, epoch: 4 };
  assert.equal(brokersTable([broker, { ...broker, brokerId: 1, brokerHost: "h", rackId: "r1" }]), "ID  HOST:PORT   RACK  STATUS  EPOCH\n1   h:9202      r1    FENCED  4\n2   [::1]:9202  -     FENCED  4");
  assert.equal(brokersTable([]), "no brokers");
});

test("clusterStatusText() says when no leader is known and whose view it shows; a member whose address is unknown shows -", () => {
  const status: ClusterStatus = {
    nodeId: 3,
    pid: 1,
    role: "candidate",
    term: 7,
    leaderId: 0,
    leaderUrl: null,
    commitIndex: 5,
    appliedIndex: 5,
    lastIndex: 6,
    snapshotIndex: 0,
    election: { tickIntervalMs: 10, electionTimeoutMs: 300, heartbeatIntervalMs: 50 },
    members: [
      { id: 3, voter: true, role: "candidate", raftAddress: "h:3", apiUrl: "http://h:3", matchIndex: 6, lag: null, lastContactMs: 0 },
      { id: 4, voter: false, role: "learner", raftAddress: null, apiUrl: null, matchIndex: null, lag: null, lastContactMs: null },
    ],
  };
  assert.equal(
    clusterStatusText(status),
    `leader  none known (an election may be under way)
term    7
commit  5 (applied 5, last 6, snapshot 0)

ID  ROLE       MATCH  LAG  LAST CONTACT  API
3   candidate  6      -    -             http://h:3
4   learner    -      -    -             -

as seen by controller 3 (candidate): only the leader knows every member's match, lag and last contact`,
  );
});
