import { pino } from "pino";
import type { Logger } from "pino";
import { buildApp } from "../api/app.js";
import { asStorageWriteError, StorageCorruptionError, StorageWriteError } from "../storage/errors.js";
import { RaftStorage } from "../storage/raftStorage.js";
import { TcpTransport } from "../transport/tcpTransport.js";
import type { ControllerConfig } from "./config.js";
import { DataDirLockedError, lockDataDir } from "./dataDirLock.js";
import { Controller } from "./controller.js";
import { randomUUID } from "node:crypto";
import { statfs } from "node:fs/promises";
import { controllerRegistrationsIn, MetadataStateMachine } from "../metadata/metadataStateMachine.js";
import type { ControllerRegistration } from "../metadata/records.js";
import type { ApplyResult } from "../metadata/results.js";
import type { MemberAddress } from "./config.js";
import { formatHostPort } from "./config.js";
import { mergeMemberAddresses, registeredAddress, updatePeers } from "./memberAddresses.js";
import { MembershipService } from "./membershipService.js";
import { MetadataService } from "./metadataService.js";

/** A stop that has not finished by then ends the process anyway: a stuck disk must not hold it forever. */
const shutdownMsMax = 10_000;
/**
 * Free bytes the data dir's disk must have for a start (after recovery's repairs freed what they could).
 * Less means a disk still full: the node would stop at its first writes, over and over, so it refuses
 * at once, clearly. A few thousand entries and the hard state fit; a larger snapshot may still fail
 * later, as any write on a disk that fills up does.
 */
const startFreeBytesMin = 1024 * 1024;

/**
 * Runs one controller process: storage, transport, the Ready loop and the HTTP API, until SIGTERM or
 * SIGINT (a leader hands over first) or a disk failure. Resolves with the process exit code: 0 after
 * a clean stop, 1 when it could not start or its disk failed.
 */
export async function runController(config: ControllerConfig): Promise<number> {
  const log = pino({ level: process.env["YAKT_LOG_LEVEL"] ?? "info", base: { node: config.id, pid: process.pid } });
  const lock = await lockDataDir(config.dataDir).catch((error: unknown) => {
    if (error instanceof DataDirLockedError) {
      log.fatal({ dataDir: config.dataDir, holderPid: error.holderPid }, "refusing to start: the data directory is in use");
      console.error(`yakt controller: ${error.message}`);
      return undefined;
    }
    // Taking the lock is the first write: a full disk (a restart before room was made) stops here.
    if (refusedByDisk(error, config, log)) return undefined;
    throw error;
  });
  if (lock === undefined) return 1;
  const opened = await openStorage(config, log);
  if (opened === undefined) {
    await lock.release();
    return 1;
  }
  const { storage, initialState, warnings } = opened;
  for (const warning of warnings) log.warn({ dataDir: config.dataDir }, warning);

  // Where every controller listens: the command line's members, then registrations the stored log
  // proposes (a node restarted behind its log must reach a leader added at runtime to catch up at
  // all), then the registry as the state machine applies it. A later layer wins for an id.
  const fromLog = controllerRegistrationsIn(initialState.entries).map(registeredAddress);
  let members: readonly MemberAddress[] = mergeMemberAddresses([config.members, fromLog]);
  const controllersChanged = (registered: readonly ControllerRegistration[]): void => {
    const next = mergeMemberAddresses([config.members, fromLog, registered.map(registeredAddress)]);
    // Called from the controller's constructor (a restore) and Ready loop, both after `transport` exists.
    const described = (list: readonly MemberAddress[]): string[] => list.map((m) => `${m.id}@${formatHostPort(m.raft)}/${formatHostPort(m.api)}`);
    const changed = described(next).join(",") !== described(members).join(",");
    updatePeers(transport, members, next, config.id);
    members = next;
    if (changed) log.info({ members: described(next) }, "controller addresses changed");
  };
  const stateMachine = new MetadataStateMachine({ onControllersChanged: controllersChanged });
  const peers = new Map(members.filter((m) => m.id !== config.id).map((m) => [m.id, m.raft]));
  const transport = new TcpTransport({
    selfId: config.id,
    listen: config.raft,
    peers,
    clusterId: config.clusterId,
    log: log.child({ component: "transport" }),
    // The transport calls back only once started, after `controller` exists.
    onMessage: (m) => controller.receive(m),
    onPeerDisconnected: (id) => controller.peerDisconnected(id),
  });
  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  const controller: Controller<ApplyResult | undefined> = new Controller({
    id: config.id,
    // A joining node starts with no membership: the leader that adds it sends it the cluster's.
    voters: config.join ? [] : config.members.map((m) => m.id),
    election: config.election,
    snapshot: config.snapshot,
    storage,
    initialState,
    stateMachine,
    send: (m) => transport.send(m),
    log: log.child({ component: "controller" }),
    onFatal: (error) => {
      const failure = asStorageWriteError(error, config.dataDir);
      const fields = failure instanceof StorageWriteError ? { errno: failure.errno, path: failure.path } : {};
      log.fatal({ err: failure, ...fields, dataDir: config.dataDir }, `stopping: ${failure instanceof Error ? failure.message : String(failure)}; restart once the disk works (recovery repairs what the failed write left)`);
      console.error(`yakt controller: stopping as a write failed: ${failure instanceof Error ? failure.message : String(failure)}`);
      finish(1);
    },
  });
  const metadata = new MetadataService({
    controller,
    stateMachine,
    nowMs: () => Date.now(),
    sessionNowMs: () => performance.now(),
    newUUID: () => randomUUID(),
    liveness: config.liveness,
    deltaAgeMs: config.deltaAgeMs,
    log: log.child({ component: "metadata" }),
  });
  const membership = new MembershipService({ controller, metadata, members: () => members, log: log.child({ component: "membership" }) });
  const app = buildApp({
    controller,
    metadata,
    membership,
    members: () => members,
    pid: process.pid,
    logger: log.child({ component: "api" }),
    transportCounters: () => transport.counters(),
    processMetrics: true,
    compatProfile: config.compatProfile,
  });

  try {
    await transport.start();
    await app.listen({ host: config.api.host, port: config.api.port });
  } catch (error) {
    log.error({ err: error }, "cannot listen");
    await Promise.allSettled([transport.stop(), app.close()]);
    await storage.close();
    await lock.release();
    return 1;
  }
  controller.start();
  metadata.start();
  const status = controller.status();
  log.info({ raft: config.raft, api: config.api, dataDir: config.dataDir, join: config.join, term: status.term, commitIndex: status.commitIndex, lastIndex: status.lastIndex, snapshotIndex: status.snapshotIndex }, "controller started");

  const onSignal = (signal: NodeJS.Signals): void => {
    log.info({ signal }, "stopping");
    finish(0);
  };
  process.once("SIGTERM", onSignal);
  process.once("SIGINT", onSignal);
  const code = await finished;
  // Later signals (a dev supervisor's SIGTERM after the terminal's SIGINT) must not kill the stop half-way.
  process.on("SIGTERM", () => {});
  process.on("SIGINT", () => {});
  const forced = setTimeout(() => {
    log.error({ shutdownMsMax }, "stop did not finish in time; exiting");
    process.exit(1);
  }, shutdownMsMax);
  forced.unref();

  const clean = code === 0;
  let stopCode = code;
  const step = async (what: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (error) {
      log.error({ err: error }, `stop: ${what} failed`);
      stopCode = 1;
    }
  };
  metadata.stop();
  await step("hand-over", () => controller.stop({ handOver: clean }));
  await step("closing the API", () => app.close());
  await step("closing the transport", () => transport.stop());
  if (clean) await step("writing the commit index", () => controller.flushHardState());
  await step("closing the log", () => storage.close());
  await lock.release();
  clearTimeout(forced);
  log.info({ code: stopCode }, "controller stopped");
  return stopCode;
}

/**
 * Logs why the process cannot start when `error` is the disk refusing a write (ENOSPC, EIO) and
 * returns true; false for any other error, which the caller rethrows.
 */
function refusedByDisk(error: unknown, config: ControllerConfig, log: Logger): boolean {
  const failure = asStorageWriteError(error, config.dataDir);
  if (!(failure instanceof StorageWriteError)) return false;
  log.fatal({ err: failure, errno: failure.errno, path: failure.path, dataDir: config.dataDir }, `refusing to start: ${failure.message}`);
  console.error(`yakt controller: refusing to start: ${failure.message}`);
  return true;
}

async function openStorage(config: ControllerConfig, log: Logger): Promise<Awaited<ReturnType<typeof RaftStorage.open>> | undefined> {
  try {
    const opened = await RaftStorage.open(config.dataDir);
    const stats = await statfs(config.dataDir);
    const freeBytes = stats.bavail * stats.bsize;
    if (freeBytes >= startFreeBytesMin) return opened;
    await opened.storage.close();
    const message = `Cannot start on data directory ${config.dataDir} as its disk is full (ENOSPC): ${freeBytes} bytes free, less than ${startFreeBytesMin}`;
    log.fatal({ errno: "ENOSPC", path: config.dataDir, freeBytes, startFreeBytesMin }, `refusing to start: ${message}`);
    console.error(`yakt controller: refusing to start: ${message}`);
    return undefined;
  } catch (error) {
    if (refusedByDisk(error, config, log)) return undefined;
    if (!(error instanceof StorageCorruptionError)) throw error;
    log.fatal({ err: error, file: error.file, position: error.position, dataDir: config.dataDir }, "refusing to start: the log is corrupt");
    console.error(`yakt controller: ${error.message} (in ${config.dataDir})`);
    return undefined;
  }
}
