// The scale bench: a metadata image of a million partitions. How long a controller takes to load its
// snapshot, how much memory it holds, and how long a broker's and a client's full MetadataFetch take.
import { readFile, writeFile } from "node:fs/promises";
import type { MetadataFormat } from "../api/schemas.js";
import { applyChanges as applyToBrokerImage, emptyImage } from "../broker/metadataImage.js";
import { AdminClient } from "../client/adminClient.js";
import { applyChanges as applyToClientView, emptyMetadataView } from "../client/clusterMetadata.js";
import { Cluster } from "../e2e/harness.js";
import { httpRequest } from "../e2e/http.js";
import type { HttpResult } from "../e2e/http.js";
import { waitFor } from "../e2e/waitFor.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { parseBenchArgs } from "./flags.js";
import type { ParsedArgs } from "./flags.js";
import { describeMachine, formatMachine } from "./machine.js";
import type { Machine } from "./machine.js";

export interface ScaleOptions {
  readonly partitionsCount: number;
  readonly partitionsPerTopicCount: number;
  /** Topic creations in flight at once. */
  readonly concurrency: number;
  readonly jsonFile: string | undefined;
}

const nodesCount = 3;
const brokerIds = [1, 2, 3];
const replicationFactor = 3;
const partitionsCountDefault = 1_000_000;
const partitionsPerTopicCountDefault = 1_000;
const concurrencyDefault = 4;
const concurrencyMax = 64;
/** Creating and fetching hundreds of megabytes of metadata is slow by nature: these bound a stuck run, not a slow one. */
const requestTimeoutMs = 120_000;
const setupTimeoutMs = 60_000;
const restartTimeoutMs = 300_000;
/** Brokers heartbeat this often, well inside the default 9 s session, so they stay UNFENCED while topics are created. */
const heartbeatIntervalMs = 1_000;
/** Past any log this bench writes, and below 10^9, from which a fetch's offset is read as epoch seconds. */
const offsetAheadOfLog = 999_999_999;
/** A full fetch answered 503 (no leader, a read not confirmed in time) is sent again, this many times in all. */
const fetchAttemptsMax = 20;
const retryPauseMs = 250;
/** A snapshot only when the bench asks: an automatic one in the middle of the load would blur the figures. */
const snapshotEntriesNever = 100_000_000;

export const scaleUsage = `Usage: npm run bench -- scale [--partitions N] [--per-topic N] [--concurrency N] [--json FILE]

Starts ${nodesCount} controllers on 127.0.0.1 (data in a temp dir), registers ${brokerIds.length} brokers (the bench heartbeats
for them), creates N partitions (replication factor ${replicationFactor}) in topics of --per-topic partitions each, then
measures: a broker's full MetadataFetch and a client's full metadata read, each in the SPEC form and in
the compact form (request to parsed JSON, request to YAKt's broker image or client view, and the
answer's size), a snapshot of the leader, the leader's resident memory, and the time a restarted
follower takes from spawn until it has loaded its snapshot and caught up.

  --partitions N     partitions in all, 1 to ${limits.metadata.partitionsCountMax} (default ${partitionsCountDefault})
  --per-topic N      partitions per topic, 1 to 10000 (default ${partitionsPerTopicCountDefault})
  --concurrency N    topic creations in flight, 1 to ${concurrencyMax} (default ${concurrencyDefault})
  --json FILE        also write the result as JSON to FILE
  -h, --help         print this help

Set YAKT_E2E_KEEP=1 to keep the temp dir with the controllers' logs.`;

export function parseScaleArgs(argv: readonly string[]): ParsedArgs<ScaleOptions> {
  return parseBenchArgs("scale", argv, ["--partitions", "--per-topic", "--concurrency", "--json"], (values) => ({
    partitionsCount: values.integer("--partitions", 1, limits.metadata.partitionsCountMax, partitionsCountDefault),
    partitionsPerTopicCount: values.integer("--per-topic", 1, 10_000, partitionsPerTopicCountDefault),
    concurrency: values.integer("--concurrency", 1, concurrencyMax, concurrencyDefault),
    jsonFile: values.text("--json"),
  }));
}

export interface ScaleResult {
  readonly scenario: "scale";
  readonly startedAt: string;
  readonly machine: Machine;
  readonly partitionsCount: number;
  readonly topicsCount: number;
  readonly createMs: number;
  /** A broker's full MetadataFetch, in each format. */
  readonly brokerFetch: Readonly<Record<MetadataFormat, Fetched>>;
  /** A client's full metadata read, in each format. */
  readonly clientFetch: Readonly<Record<MetadataFormat, Fetched>>;
  readonly snapshot: { readonly takeMs: number; readonly bytes: number; readonly index: number };
  readonly leaderRssBytes: number;
  /** From spawning a stopped follower to its applied index reaching the commit index it was stopped at. */
  readonly restartToCaughtUpMs: number;
  /** The follower's resident memory once caught up (its image loaded from the snapshot). */
  readonly restartedRssBytes: number;
  /** Per controller, the longest its event loop was held during the run (undefined: not reported). */
  readonly eventLoopStallMsMax: Readonly<Record<string, number | undefined>>;
  /** The leader's longest event-loop stall while it took its snapshot (undefined: not reported). */
  readonly snapshotStallMs: number | undefined;
  /** Terms seen while the bench ran: more than one means leadership moved (e.g. a long event-loop stall). */
  readonly termsCount: number;
}

interface Fetched {
  /** Request to the answer's JSON parsed (JSON.parse of the whole text). */
  readonly ms: number;
  readonly bytes: number;
  /** Requests sent, the successful one included. */
  readonly attemptsCount: number;
  /** Request to the image YAKt's broker (or the view its client) builds from the answer: AdminClient and the decode. */
  readonly decodedMs: number;
}

/** Runs the bench, printing progress; always stops every controller it started. */
export async function runScale(options: ScaleOptions, print: (line: string) => void): Promise<ScaleResult> {
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  const cluster = await Cluster.start({ nodesCount, name: "yakt-bench-scale", snapshotEntries: snapshotEntriesNever });
  const heartbeats = new AbortController();
  try {
    print(`machine: ${formatMachine(machine)}`);
    const leader = await cluster.waitForLeader({ timeoutMs: setupTimeoutMs });
    const leaderUrl = cluster.apiUrl(leader.id);
    const beating = await registerBrokers(leaderUrl, heartbeats.signal);

    const topicsCount = Math.ceil(options.partitionsCount / options.partitionsPerTopicCount);
    const createStartMs = performance.now();
    await createTopics(leaderUrl, options, topicsCount, print);
    const createMs = performance.now() - createStartMs;
    print(`created ${options.partitionsCount} partitions in ${topicsCount} topics in ${seconds(createMs)}`);

    const brokerRequest = { brokerId: 1, brokerEpoch: beating.epochOf(1), offset: 0 };
    const admin = new AdminClient({ controllers: [leaderUrl], requestTimeoutMs, attemptsMax: fetchAttemptsMax });
    const brokerFetch = await inEachFormat(async (format) => {
      const parsed = await timed(`${leaderUrl}/v1/broker-mgmt/metadata-fetch${formatQuery(format, "?")}`, { method: "POST", body: brokerRequest });
      const decodedMs = await decodeTimed(async () => {
        const answer = format === "spec" ? await admin.brokerMetadataFetch(brokerRequest) : await admin.brokerMetadataFetch(brokerRequest, { format });
        assert(answer.kind === "snapshot" && ("format" in answer ? answer.format : "spec") === format, `a full image in the ${format} form`);
        return applyToBrokerImage(emptyImage, answer).topics.size;
      }, topicsCount);
      print(`broker full MetadataFetch (${format}): ${mebibytes(parsed.bytes)}; parsed in ${seconds(parsed.ms)}${retried(parsed)}, broker image in ${seconds(decodedMs)}`);
      return { ...parsed, decodedMs };
    });
    const clientFetch = await inEachFormat(async (format) => {
      const parsed = await timed(`${leaderUrl}/v1/client-mgmt/metadata?offset=0${formatQuery(format, "&")}`, { method: "GET" });
      const decodedMs = await decodeTimed(async () => {
        const changes = format === "spec" ? await admin.clientMetadata({ offset: 0 }) : await admin.clientMetadata({ offset: 0, format });
        assert(changes.kind === "snapshot" && ("format" in changes ? changes.format : "spec") === format, `a full image in the ${format} form`);
        return applyToClientView(emptyMetadataView, changes).topics.size;
      }, topicsCount);
      print(`client full metadata (${format}): ${mebibytes(parsed.bytes)}; parsed in ${seconds(parsed.ms)}${retried(parsed)}, client view in ${seconds(decodedMs)}`);
      return { ...parsed, decodedMs };
    });

    // Stalls are the longest since the last scrape: this one closes the creation and the fetches, so the
    // next scrape of the leader covers its snapshot alone.
    const stallsBeforeSnapshotMs = await eventLoopStallsMs(cluster);
    const snapshotStartMs = performance.now();
    const taken = json(await post(`${leaderUrl}/v1/snapshots`, {}));
    const snapshot = { takeMs: performance.now() - snapshotStartMs, bytes: numberAt(taken, "snapshot", "bytes"), index: numberAt(taken, "snapshot", "index") };
    const snapshotStallMs = await eventLoopStallMsMax(leaderUrl);
    print(`snapshot of the leader at index ${snapshot.index}: ${mebibytes(snapshot.bytes)} in ${seconds(snapshot.takeMs)}; longest event-loop stall meanwhile ${snapshotStallMs === undefined ? "?" : `${snapshotStallMs.toFixed(0)} ms`}`);
    const leaderRssBytes = await rssBytes(cluster.pid(leader.id));
    print(`leader resident memory: ${mebibytes(leaderRssBytes)}`);

    const followerId = cluster.ids().find((id) => id !== leader.id);
    assert(followerId !== undefined, "a follower");
    await post(`${cluster.apiUrl(followerId)}/v1/snapshots`, {});
    await cluster.terminate(followerId);
    const commitIndex = (await cluster.status(leader.id)).commitIndex;
    const restartStartMs = performance.now();
    await cluster.startNode(followerId);
    await waitFor(`node ${followerId} to apply index ${commitIndex}`, async () => ((await cluster.status(followerId).catch(() => undefined))?.appliedIndex ?? 0) >= commitIndex || undefined, { timeoutMs: restartTimeoutMs, intervalMs: 20 });
    const restartToCaughtUpMs = performance.now() - restartStartMs;
    const restartedRssBytes = await rssBytes(cluster.pid(followerId));
    print(`follower ${followerId} restarted from its snapshot and caught up in ${seconds(restartToCaughtUpMs)}; resident memory ${mebibytes(restartedRssBytes)}`);

    const stallsAfterSnapshotMs = await eventLoopStallsMs(cluster);
    const stallsMs = cluster.ids().map((id) => {
      const seen = [stallsBeforeSnapshotMs.get(id), id === leader.id ? snapshotStallMs : undefined, stallsAfterSnapshotMs.get(id)].filter((ms) => ms !== undefined);
      return [id, seen.length === 0 ? undefined : Math.max(...seen)] as const;
    });
    print(`longest event-loop stall per controller since start: ${stallsMs.map(([id, ms]) => `${id}: ${ms === undefined ? "?" : `${ms.toFixed(0)} ms`}`).join(", ")}`);
    const termsCount = (await cluster.status(leader.id)).term - leader.term + 1;
    if (termsCount > 1) print(`leadership moved during the run: terms ${leader.term} to ${leader.term + termsCount - 1}`);
    const result: ScaleResult = { scenario: "scale", startedAt, machine, partitionsCount: options.partitionsCount, topicsCount, createMs, brokerFetch, clientFetch, snapshot, leaderRssBytes, restartToCaughtUpMs, restartedRssBytes, eventLoopStallMsMax: Object.fromEntries(stallsMs), snapshotStallMs, termsCount };
    if (options.jsonFile !== undefined) await writeFile(options.jsonFile, `${JSON.stringify(result, null, 2)}\n`);
    return result;
  } catch (error) {
    print(await cluster.logTails());
    throw error;
  } finally {
    heartbeats.abort();
    await cluster.close();
  }
}

/** Registers the brokers and heartbeats them (offset = what each last heard) until `signal` aborts. */
async function registerBrokers(leaderUrl: string, signal: AbortSignal): Promise<{ epochOf: (brokerId: number) => number }> {
  const epochs = new Map<number, number>();
  const offsets = new Map<number, number>();
  for (const brokerId of brokerIds) {
    await post(`${leaderUrl}/v1/brokers`, { brokerId, brokerHost: "127.0.0.1", brokerPort: 19_000 + brokerId });
    epochs.set(brokerId, 1);
    offsets.set(brokerId, 0);
  }
  const beat = async (brokerId: number, offset = offsets.get(brokerId)): Promise<string> => {
    const answer = json(await post(`${leaderUrl}/v1/broker-mgmt/metadata-fetch`, { brokerId, brokerEpoch: epochs.get(brokerId), offset }));
    epochs.set(brokerId, numberAt(answer, "brokerEpoch"));
    offsets.set(brokerId, numberAt(answer, "currentOffset"));
    return String(answer["brokerStatus"]);
  };
  await waitFor("every broker UNFENCED", async () => ((await Promise.all(brokerIds.map((id) => beat(id)))).every((s) => s === "UNFENCED") ? true : undefined), { timeoutMs: setupTimeoutMs, intervalMs: 50 });
  // From here on the stand-in brokers only keep their sessions: they report an offset ahead of the log,
  // which is answered with an empty delta. Following every record, as a real broker does, would make
  // this one process parse the whole creation storm three times over and miss its own heartbeats.
  for (const brokerId of brokerIds) {
    void (async () => {
      while (!signal.aborted) {
        await new Promise((resolve) => setTimeout(resolve, heartbeatIntervalMs));
        if (!signal.aborted) await beat(brokerId, offsetAheadOfLog).catch(() => "");
      }
    })();
  }
  return { epochOf: (brokerId) => epochs.get(brokerId) ?? 1 };
}

async function createTopics(leaderUrl: string, options: ScaleOptions, topicsCount: number, print: (line: string) => void): Promise<void> {
  let next = 0;
  let done = 0;
  const progressEvery = Math.max(1, Math.floor(topicsCount / 10));
  const worker = async (): Promise<void> => {
    for (;;) {
      const i = next++;
      if (i >= topicsCount) return;
      const partitions = Math.min(options.partitionsPerTopicCount, options.partitionsCount - i * options.partitionsPerTopicCount);
      // No Idempotency-Key: the replicated session table would keep each creation's answer (the whole
      // topic), holding every partition a second time in memory and in the snapshot.
      json(await post(`${leaderUrl}/v1/topics`, { name: `scale-${String(i).padStart(6, "0")}`, partitions, replicationFactor }));
      done++;
      if (done % progressEvery === 0) print(`  ${done} / ${topicsCount} topics`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(options.concurrency, topicsCount) }, worker));
}

/**
 * Request to parsed answer, as a client sees it, retrying a retriable 503 (a busy or changing leader)
 * as a client would; the time covers the retries. The size is of the JSON text (the answer is streamed,
 * without a length).
 */
async function timed(url: string, init: { readonly method: "GET" | "POST"; readonly body?: unknown }): Promise<Omit<Fetched, "decodedMs">> {
  const startMs = performance.now();
  for (let attempt = 1; ; attempt++) {
    const response = await fetch(url, {
      method: init.method,
      signal: AbortSignal.timeout(requestTimeoutMs),
      ...(init.body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(init.body) }),
    });
    const text = await response.text();
    if (response.status === 503 && attempt < fetchAttemptsMax) {
      await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
      continue;
    }
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}: ${text.slice(0, 500)}`);
    const answer: unknown = JSON.parse(text);
    assert(typeof answer === "object" && answer !== null, "an answer object");
    return { ms: performance.now() - startMs, bytes: Buffer.byteLength(text), attemptsCount: attempt };
  }
}

const formats: readonly MetadataFormat[] = ["spec", "compact"];

async function inEachFormat(measure: (format: MetadataFormat) => Promise<Fetched>): Promise<Record<MetadataFormat, Fetched>> {
  const spec = await measure("spec");
  const compact = await measure("compact");
  assert(formats.length === 2, "two formats");
  return { spec, compact };
}

/** `?format=` for the compact form; nothing for the SPEC form, which is the default. */
function formatQuery(format: MetadataFormat, separator: "?" | "&"): string {
  return format === "spec" ? "" : `${separator}format=${format}`;
}

/** Request to decoded image through YAKt's own client code; checks that every topic made it. */
async function decodeTimed(fetchAndDecode: () => Promise<number>, topicsCount: number): Promise<number> {
  const startMs = performance.now();
  const decodedTopicsCount = await fetchAndDecode();
  const ms = performance.now() - startMs;
  assert(decodedTopicsCount === topicsCount, `the decoded image must hold ${topicsCount} topics: current value is ${decodedTopicsCount}`);
  return ms;
}

/** Each controller's longest event-loop stall since the last scrape. */
async function eventLoopStallsMs(cluster: Cluster): Promise<Map<number, number | undefined>> {
  return new Map(await Promise.all(cluster.ids().map(async (id) => [id, await eventLoopStallMsMax(cluster.apiUrl(id))] as const)));
}

/** The longest the node's event loop was held since the last scrape of its metrics (prom-client's monitor). */
async function eventLoopStallMsMax(apiUrl: string): Promise<number | undefined> {
  const result = await httpRequest(`${apiUrl}/metrics`, { timeoutMs: requestTimeoutMs });
  if (result.kind === "failure" || typeof result.body !== "string") return undefined;
  const seconds = /^yakt_nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(result.body)?.[1];
  return seconds === undefined ? undefined : Number(seconds) * 1000;
}

function post(url: string, body: unknown): Promise<HttpResult> {
  return httpRequest(url, { method: "POST", body, timeoutMs: requestTimeoutMs });
}

/** The JSON body of a 2xx answer; anything else fails the bench with what came back. */
function json(result: HttpResult): Record<string, unknown> {
  if (result.kind === "failure") throw new Error(result.message);
  const body = result.body;
  if (result.status >= 300 || typeof body !== "object" || body === null) throw new Error(`answer ${result.status}: ${JSON.stringify(body).slice(0, 500)}`);
  return body as Record<string, unknown>;
}

function numberAt(body: Record<string, unknown>, ...path: string[]): number {
  let value: unknown = body;
  for (const key of path) value = typeof value === "object" && value !== null ? (value as Record<string, unknown>)[key] : undefined;
  assert(typeof value === "number", `${path.join(".")} must be a number: current value is ${JSON.stringify(value)}`);
  return value;
}

/** VmRSS of a process we started, from /proc (Linux). */
async function rssBytes(pid: number | undefined): Promise<number> {
  assert(pid !== undefined, "the process runs");
  const status = await readFile(`/proc/${pid}/status`, "utf8");
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1];
  assert(kib !== undefined, `VmRSS of ${pid}`);
  return Number(kib) * 1024;
}

function retried(fetched: { readonly attemptsCount: number }): string {
  return fetched.attemptsCount === 1 ? "" : ` (${fetched.attemptsCount} requests: the first answered 503)`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function mebibytes(bytes: number): string {
  return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
}
