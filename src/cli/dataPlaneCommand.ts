// What `yakt produce` and `yakt consume` share: their IO, the --controllers flag, topic names, Ctrl-C,
// output with back-pressure, and the failure line.
import { ClientError } from "../client/clientError.js";
import { AdminError } from "../client/adminError.js";
import { limits } from "../shared/limits.js";
import { devControllerUrls } from "./admin.js";
import type { TextSink } from "./admin.js";
import type { FlagSpec } from "./flags.js";
import { formatTable } from "./table.js";

/** A sink that may also be a stream: then output waits for 'drain' and a broken pipe stops the command. */
export interface OutputSink extends TextSink {
  once?(event: "drain", listener: () => void): unknown;
  on?(event: "error", listener: (error: Error) => void): unknown;
  off?(event: "error", listener: (error: Error) => void): unknown;
}

export interface DataPlaneIo {
  /** Lines to produce; `process.stdin`, or chunks in tests. */
  readonly stdin?: AsyncIterable<Buffer | string>;
  readonly stdout: OutputSink;
  readonly stderr: TextSink;
  /** Ends the command early, as Ctrl-C does; SIGINT or SIGTERM when absent. */
  readonly stop?: AbortSignal;
}

/** Flag and meaning, one row each in a command's usage. */
export type FlagHelp = readonly (readonly [string, string])[];

export const controllersFlag: FlagSpec = { name: "--controllers", kind: "string" };
export const controllersFlagHelp: readonly [string, string] = ["--controllers URL,…", `controllers to ask, any of them (default ${devControllerUrls.join(",")}, the dev cluster)`];

/** A cluster has at most this many members, so no list of controllers needs more. */
const controllersCountMax = limits.raft.membersCountMax;
/** The brokers' own rule for topic names (src/broker/protocol.ts). */
const topicNamePattern = /^[A-Za-z0-9._-]{1,249}$/;

/** Base URLs from `URL,…` (the dev cluster's when absent); `host:port` means `http://host:port`. A string is the reason they are bad. */
export function parseControllerUrls(text: string | undefined): readonly string[] | string {
  if (text === undefined) return devControllerUrls;
  const parts = text.split(",").map((part) => part.trim()).filter((part) => part.length > 0);
  if (parts.length === 0 || parts.length > controllersCountMax) return `--controllers must list 1 to ${controllersCountMax} URLs: current value is ${JSON.stringify(text)}`;
  const urls: string[] = [];
  for (const part of parts) {
    const withScheme = part.includes("://") ? part : `http://${part}`;
    const url = URL.canParse(withScheme) ? new URL(withScheme) : undefined;
    if (url === undefined || (url.protocol !== "http:" && url.protocol !== "https:") || url.pathname !== "/" || url.search !== "" || url.username !== "") {
      return `--controllers must list base URLs like http://127.0.0.1:9001: current value is ${JSON.stringify(part)}`;
    }
    urls.push(url.origin);
  }
  return urls;
}

/** Undefined when the name is one brokers take, else the reason it is not. */
export function checkTopicName(topic: string | undefined): string | undefined {
  if (topic === undefined) return "it needs --topic";
  if (!topicNamePattern.test(topic)) return `--topic must be 1 to 249 letters, digits, '.', '_' or '-': current value is ${JSON.stringify(topic)}`;
  return undefined;
}

/** The caller's stop signal, else one that Ctrl-C or SIGTERM fires for as long as it is not disposed. */
export function stopSignal(given: AbortSignal | undefined): { readonly signal: AbortSignal; readonly dispose: () => void } {
  if (given !== undefined) return { signal: given, dispose: () => {} };
  const controller = new AbortController();
  const onSignal = (): void => controller.abort();
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
    },
  };
}

/** Writes one line, waiting for 'drain' when the sink is a stream whose buffer is full. */
export async function writeLine(sink: OutputSink, text: string): Promise<void> {
  const accepted = sink.write(`${text}\n`);
  if (accepted !== false || sink.once === undefined) return;
  await new Promise<void>((resolve) => sink.once?.("drain", resolve));
}

/** The failure line of a client error: its message, code and attempts; anything else is a bug and is thrown. */
export function failureLine(command: string, error: unknown): string {
  if (!(error instanceof ClientError || error instanceof AdminError)) throw error;
  const attempts = error.attempts.exhausted ? `, after ${error.attempts.count} attempts` : "";
  return `yakt ${command}: ${error.message} (${error.code}${attempts})`;
}

export function usageText(synopsis: string, description: string, flagsHelp: FlagHelp, exitStatus: string): string {
  const table = formatTable([...flagsHelp, ["-h, --help", "print this help"]].map(([flag, meaning]) => ["", flag, meaning]));
  return `Usage: ${synopsis}\n\n${description}\n\n${table}\n\nExit status: ${exitStatus}`;
}
