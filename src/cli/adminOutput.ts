import type { AddMemberAnswerJson, Broker, MetadataRecordJson, RemoveMemberAnswerJson, SnapshotInfo, Topic, TopicWriteAnswerJson } from "../api/schemas.js";
import type { ClusterStatus, SnapshotsAnswerJson } from "../client/adminClient.js";
import { formatHostPort } from "../controller/config.js";
import { formatTable } from "./table.js";

/** The human output of the admin commands: pure functions from the API's answers to text. */

export function topicWritten(verb: "Created" | "Deleted", answer: TopicWriteAnswerJson): string {
  const { topic } = answer;
  const count = topic.partitions.length;
  const what = `${verb} topic ${topic.name} (${topic.topicUUID}) with ${count} partition${count === 1 ? "" : "s"}`;
  // A replayed answer is the first attempt's, whose offset the quorum does not keep.
  const summary = answer.replayed ? `${what}: answered from an earlier attempt of this request` : `${what} at offset ${answer.offset}`;
  return verb === "Created" && count > 0 ? `${summary}\n\n${partitionsTable(topic)}` : summary;
}

export function topicsTable(topics: readonly Topic[]): string {
  if (topics.length === 0) return "no topics";
  const rows = [...topics].sort((a, b) => a.name.localeCompare(b.name)).map((t) => [t.name, String(t.partitions.length), replicationFactorOf(t), t.topicUUID]);
  return formatTable([["NAME", "PARTITIONS", "RF", "UUID"], ...rows]);
}

export function topicDescription(topic: Topic): string {
  const header = formatTable([
    ["topic", topic.name],
    ["uuid", topic.topicUUID],
    ["partitions", String(topic.partitions.length)],
    ["replication factor", replicationFactorOf(topic)],
  ]);
  return topic.partitions.length === 0 ? header : `${header}\n\n${partitionsTable(topic)}`;
}

function partitionsTable(topic: Topic): string {
  const rows = [...topic.partitions]
    .sort((a, b) => a.partitionId - b.partitionId)
    .map((p) => [String(p.partitionId), p.leader === -1 ? "none" : String(p.leader), p.replicas.join(","), p.ISR.join(","), String(p.partitionEpoch)]);
  return formatTable([["PARTITION", "LEADER", "REPLICAS", "ISR", "EPOCH"], ...rows]);
}

/** "-" without partitions, "2-3" when partitions differ. */
function replicationFactorOf(topic: Topic): string {
  const counts = topic.partitions.map((p) => p.replicas.length);
  if (counts.length === 0) return "-";
  const [min, max] = [Math.min(...counts), Math.max(...counts)];
  return min === max ? String(min) : `${min}-${max}`;
}

export function brokersTable(brokers: readonly Broker[]): string {
  if (brokers.length === 0) return "no brokers";
  const rows = [...brokers]
    .sort((a, b) => a.brokerId - b.brokerId)
    .map((b) => [String(b.brokerId), formatHostPort({ host: b.brokerHost, port: b.brokerPort }), b.rackId === null || b.rackId === "" ? "-" : b.rackId, b.brokerStatus, String(b.epoch)]);
  return formatTable([["ID", "HOST:PORT", "RACK", "STATUS", "EPOCH"], ...rows]);
}

export function clusterStatusText(status: ClusterStatus): string {
  const leader = status.leaderId === 0 ? "none known (an election may be under way)" : `${status.leaderId} (${status.leaderUrl ?? "address unknown"})`;
  const summary = formatTable([
    ["leader", leader],
    ["term", String(status.term)],
    ["commit", `${status.commitIndex} (applied ${status.appliedIndex}, last ${status.lastIndex}, snapshot ${status.snapshotIndex})`],
  ]);
  const members = [...status.members]
    .sort((a, b) => a.id - b.id)
    .map((m) => [String(m.id), m.role, orDash(m.matchIndex), orDash(m.lag), m.id === status.nodeId || m.lastContactMs === null ? "-" : `${m.lastContactMs} ms`, m.apiUrl ?? "-"]);
  const table = formatTable([["ID", "ROLE", "MATCH", "LAG", "LAST CONTACT", "API"], ...members]);
  const seenFrom = status.role === "leader" ? "" : `\n\nas seen by controller ${status.nodeId} (${status.role}): only the leader knows every member's match, lag and last contact`;
  return `${summary}\n\n${table}${seenFrom}`;
}

export function memberAdded(answer: AddMemberAnswerJson): string {
  const { member } = answer;
  const as = member.role === "voter" ? "a voter" : "an observer";
  return `Added controller ${member.id} as ${as} (raft ${member.raftAddress}, api ${member.apiAddress})\n\n${membershipTable(answer.membership)}`;
}

export function memberRemoved(answer: RemoveMemberAnswerJson): string {
  return `Removed controller ${answer.removedId}; stop its process now\n\n${membershipTable(answer.membership)}`;
}

function membershipTable(membership: { readonly voters: readonly number[]; readonly learners: readonly number[] }): string {
  const ids = (list: readonly number[]): string => (list.length === 0 ? "-" : list.join(","));
  return formatTable([
    ["voters", ids(membership.voters)],
    ["observers", ids(membership.learners)],
  ]);
}

function orDash(value: number | null): string {
  return value === null ? "-" : String(value);
}

/** BrokerRegistrationChangeRecord, the longest record name, fits. */
const recordNameWidth = 30;
/** Offsets up to 99,999,999 stay aligned. */
const offsetWidth = 8;
/** An ISO 8601 time in UTC with milliseconds. */
const timeWidth = 24;

/** The header over log lines; lines have fixed widths so that a followed log stays aligned. */
export const logHeader = `${"OFFSET".padStart(offsetWidth)}  ${"TIME".padEnd(timeWidth)}  ${"RECORD".padEnd(recordNameWidth)}  FIELDS`;

export function logLine(record: MetadataRecordJson): string {
  return `${String(record.offset).padStart(offsetWidth)}  ${new Date(record.timestamp).toISOString().padEnd(timeWidth)}  ${record.name.padEnd(recordNameWidth)}  ${JSON.stringify(record.fields)}`;
}

export function snapshotTaken(node: string, snapshot: SnapshotInfo): string {
  return `Took snapshot ${snapshot.id} on ${node}: index ${snapshot.index}, term ${snapshot.term}, ${snapshot.bytes} bytes`;
}

export function snapshotsTable(node: string, answer: SnapshotsAnswerJson): string {
  if (answer.snapshots.length === 0) return `no snapshots on ${node}`;
  const rows = answer.snapshots.map((s) => [s.id, String(s.index), String(s.term), String(s.bytes)]);
  return `snapshots on ${node}\n\n${formatTable([["ID", "INDEX", "TERM", "BYTES"], ...rows])}`;
}
