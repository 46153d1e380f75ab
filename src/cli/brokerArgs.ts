import { defaultBrokerSettings } from "../broker/broker.js";
import type { BrokerConfig } from "../broker/run.js";
import { devControllerUrls } from "./admin.js";
import { parseFlags } from "./flags.js";
import type { FlagSpec } from "./flags.js";

export type ParsedBrokerArgs =
  | { readonly kind: "help" }
  | { readonly kind: "config"; readonly config: BrokerConfig }
  | { readonly kind: "error"; readonly message: string };

const idMax = 2_147_483_647;
const dayMs = 86_400_000;

export const brokerUsage = `Usage: yakt broker --id N --data DIR --listen HOST:PORT [--controllers URL,…] [options]

Runs one broker of the data plane: registers with the controller quorum, heartbeats, holds partition
logs under DIR/<topic>/<partition>/, leads or follows them as the quorum says, and serves producers and
consumers over HTTP (docs/DATA_PLANE.md). SIGTERM or Ctrl-C stops it cleanly.

  --id N                     broker id, 0 to ${idMax}
  --data DIR                 data directory (partition logs)
  --listen HOST:PORT         where the HTTP API listens
  --advertise HOST:PORT      what the broker registers for clients and other brokers (default: --listen)
  --controllers URL,…        controllers to ask (default ${devControllerUrls.join(",")})
  --rack NAME                rack, for rack-aware placement
  --replica-peers ID=HOST:PORT,…
                             fetch from leader ID at HOST:PORT rather than at its registered address
                             (a fault proxy per pair of brokers in chaos runs); other leaders as registered
  --min-insync-replicas N    acks=all is refused with fewer in-sync replicas (default ${defaultBrokerSettings.minInsyncReplicas})
  --replica-lag-ms N         a follower this far behind leaves the ISR (default ${defaultBrokerSettings.replicaLagMs})
  --offsets-partitions N     partitions of __consumer_offsets if this broker creates it (default ${defaultBrokerSettings.offsetsTopicPartitions})
  --group-session-ms N       a group member silent this long leaves its group (default ${defaultBrokerSettings.groupSessionMs})
  -h, --help                 print this help`;

const specs: readonly FlagSpec[] = [
  { name: "--id", kind: "integer", min: 0, max: idMax },
  { name: "--data", kind: "string" },
  { name: "--listen", kind: "string" },
  { name: "--advertise", kind: "string" },
  { name: "--controllers", kind: "string" },
  { name: "--rack", kind: "string" },
  { name: "--replica-peers", kind: "string" },
  { name: "--min-insync-replicas", kind: "integer", min: 1, max: 16 },
  { name: "--replica-lag-ms", kind: "integer", min: 100, max: dayMs },
  { name: "--offsets-partitions", kind: "integer", min: 1, max: 1_000 },
  { name: "--group-session-ms", kind: "integer", min: 100, max: dayMs },
];

/** Parses `yakt broker` arguments (without the command name). Pure. */
export function parseBrokerArgs(argv: readonly string[]): ParsedBrokerArgs {
  const parsed = parseFlags(argv, specs, []);
  if (parsed.kind === "help") return parsed;
  if (parsed.kind === "error") return brokerError(parsed.reason);
  const { strings, integers } = parsed.flags;
  const id = integers.get("--id");
  if (id === undefined) return brokerError("--id is required");
  const dataDir = strings.get("--data");
  if (dataDir === undefined || dataDir === "") return brokerError("--data is required");
  const listenText = strings.get("--listen");
  if (listenText === undefined) return brokerError("--listen is required");
  const listen = parseHostPort(listenText);
  if (listen === undefined) return brokerError("--listen must be HOST:PORT", listenText);
  const advertiseText = strings.get("--advertise");
  const advertise = advertiseText === undefined ? listen : parseHostPort(advertiseText);
  if (advertise === undefined) return brokerError("--advertise must be HOST:PORT", advertiseText);
  const controllersText = strings.get("--controllers") ?? devControllerUrls.join(",");
  const controllers = controllersText.split(",").map((url) => url.trim()).filter((url) => url !== "");
  if (controllers.length === 0 || controllers.some((url) => !URL.canParse(url.includes("://") ? url : `http://${url}`))) {
    return brokerError("--controllers must list controller URLs", controllersText);
  }
  const rack = strings.get("--rack");
  const peersText = strings.get("--replica-peers");
  const replicaPeerUrls = peersText === undefined ? undefined : parseReplicaPeers(peersText);
  if (replicaPeerUrls === null) return brokerError("--replica-peers must list ID=HOST:PORT, comma-separated, each id once", peersText);
  return {
    kind: "config",
    config: {
      listen,
      controllers: controllers.map((url) => (url.includes("://") ? url : `http://${url}`)),
      settings: {
        brokerId: id,
        dataDir,
        advertisedHost: advertise.host,
        advertisedPort: advertise.port,
        ...(rack === undefined ? {} : { rackId: rack }),
        minInsyncReplicas: integers.get("--min-insync-replicas") ?? defaultBrokerSettings.minInsyncReplicas,
        replicaLagMs: integers.get("--replica-lag-ms") ?? defaultBrokerSettings.replicaLagMs,
        offsetsTopicPartitions: integers.get("--offsets-partitions") ?? defaultBrokerSettings.offsetsTopicPartitions,
        groupSessionMs: integers.get("--group-session-ms") ?? defaultBrokerSettings.groupSessionMs,
        replicaFetchBytesMax: defaultBrokerSettings.replicaFetchBytesMax,
        replicaFetchWaitMs: defaultBrokerSettings.replicaFetchWaitMs,
        ...(replicaPeerUrls === undefined ? {} : { replicaPeerUrls }),
      },
    },
  };
}

/** `2=127.0.0.1:9302,3=127.0.0.1:9303` as base URLs by broker id; null when malformed or an id repeats. */
function parseReplicaPeers(text: string): Map<number, string> | null {
  const urls = new Map<number, string>();
  for (const entry of text.split(",").map((e) => e.trim())) {
    const match = /^(\d{1,10})=(.+)$/.exec(entry);
    const id = Number(match?.[1]);
    const address = match?.[2] === undefined ? undefined : parseHostPort(match[2]);
    if (address === undefined || !Number.isSafeInteger(id) || id > idMax || urls.has(id)) return null;
    urls.set(id, `http://${address.host.includes(":") ? `[${address.host}]` : address.host}:${address.port}`);
  }
  return urls;
}

/** `127.0.0.1:9201`, `localhost:9201` or `[::1]:9201`. */
function parseHostPort(text: string): { host: string; port: number } | undefined {
  if (!URL.canParse(`http://${text}`)) return undefined;
  const url = new URL(`http://${text}`);
  const port = Number(url.port);
  if (url.port === "" || !Number.isInteger(port) || port < 1 || url.pathname !== "/" || url.username !== "") return undefined;
  const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port };
}

function brokerError(reason: string, value?: string): ParsedBrokerArgs {
  return { kind: "error", message: `Cannot start broker as ${reason}${value === undefined ? "" : `: current value is ${JSON.stringify(value)}`}` };
}
