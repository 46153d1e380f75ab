import { randomUUID } from "node:crypto";
import { pino } from "pino";
import { AdminClient } from "../client/adminClient.js";
import { DataDirLockedError, lockDataDir } from "../controller/dataDirLock.js";
import { StorageCorruptionError } from "../storage/errors.js";
import { Broker } from "./broker.js";
import type { BrokerSettings } from "./broker.js";
import { PartitionLog } from "./partitionLog.js";
import { LeaderFetcher } from "./leaderFetch.js";
import { buildBrokerApp } from "./server.js";
import { brokerLogAdapter } from "./logAdapter.js";

export interface BrokerConfig {
  readonly listen: { readonly host: string; readonly port: number };
  readonly controllers: readonly string[];
  readonly settings: BrokerSettings;
}

/** A stop that has not finished by then ends the process anyway. */
const shutdownMsMax = 10_000;

/**
 * Runs one broker process until SIGTERM or SIGINT: the data directory lock, the quorum client, the
 * broker and its HTTP server. Resolves with the exit code.
 */
export async function runBroker(config: BrokerConfig): Promise<number> {
  const { settings } = config;
  const log = pino({ level: process.env["YAKT_LOG_LEVEL"] ?? "info", base: { broker: settings.brokerId, pid: process.pid } });
  const lock = await lockDataDir(settings.dataDir).catch((error: unknown) => {
    if (!(error instanceof DataDirLockedError)) throw error;
    log.fatal({ dataDir: settings.dataDir, holderPid: error.holderPid }, "refusing to start: the data directory is in use");
    console.error(`yakt broker: ${error.message}`);
    return undefined;
  });
  if (lock === undefined) return 1;
  const quorum = new AdminClient({ controllers: config.controllers, clientId: `broker-${settings.brokerId}-${randomUUID()}` });
  const leaderFetcher = new LeaderFetcher();
  const broker = new Broker(settings, {
    quorum,
    openLog: async (dir) => {
      const { log: partitionLog, warnings } = await PartitionLog.open(dir);
      for (const warning of warnings) log.warn({ dir }, warning);
      return brokerLogAdapter(partitionLog);
    },
    fetchFromLeader: (leaderUrl, request, signal) => leaderFetcher.fetch(leaderUrl, request, signal),
    nowMs: () => performance.now(),
    wallClockMs: () => Date.now(),
    newMemberId: () => randomUUID(),
    log: log.child({ component: "broker" }),
  });
  const app = buildBrokerApp({ broker, logger: log.child({ component: "api" }) });
  try {
    await app.listen({ host: config.listen.host, port: config.listen.port });
  } catch (error) {
    log.error({ err: error }, "cannot listen");
    await lock.release();
    return 1;
  }
  broker.start();
  log.info({ listen: config.listen, controllers: config.controllers, dataDir: settings.dataDir }, "broker started");

  let finish: (code: number) => void = () => {};
  const finished = new Promise<number>((resolve) => (finish = resolve));
  process.once("SIGTERM", () => finish(0));
  process.once("SIGINT", () => finish(0));
  const code = await finished;
  process.on("SIGTERM", () => {});
  process.on("SIGINT", () => {});
  const forced = setTimeout(() => {
    log.error({ shutdownMsMax }, "stop did not finish in time; exiting");
    process.exit(1);
  }, shutdownMsMax);
  forced.unref();
  let stopCode = code;
  try {
    await app.close();
    await broker.stop();
    leaderFetcher.close();
  } catch (error) {
    if (error instanceof StorageCorruptionError) log.error({ err: error }, "storage failed");
    else log.error({ err: error }, "stop failed");
    stopCode = 1;
  }
  await lock.release();
  clearTimeout(forced);
  log.info({ code: stopCode }, "broker stopped");
  return stopCode;
}
