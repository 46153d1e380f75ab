// `yakt produce`: lines from stdin, one message each, to a topic (SPEC §6).
import { StringDecoder } from "node:string_decoder";
import type { Acks } from "../broker/protocol.js";
import { ClientError } from "../client/clientError.js";
import { Producer, producerDefaults } from "../client/producer.js";
import type { ProducerOptions } from "../client/producer.js";
import { checkTopicName, controllersFlag, controllersFlagHelp, failureLine, parseControllerUrls, stopSignal, usageText } from "./dataPlaneCommand.js";
import type { DataPlaneIo, FlagHelp } from "./dataPlaneCommand.js";
import { parseFlags } from "./flags.js";
import type { FlagSpec, ParsedFlags } from "./flags.js";

export interface ProduceIo extends DataPlaneIo {
  /** Builds the producer from the flags' options; a `Producer` when absent. */
  readonly newProducer?: (options: ProducerOptions) => Producer;
}

/** A line longer than a batch may be could never be sent (RECORD_TOO_LARGE); reading stops there. */
const lineBytesMax = producerDefaults.batchBytesMax;
const lingerMsMax = 60_000;
const partitionMax = 1_000_000;

const flags: readonly FlagSpec[] = [
  { name: "--topic", kind: "string" },
  { name: "--key", kind: "string" },
  { name: "--partition", kind: "integer", min: 0, max: partitionMax },
  { name: "--acks", kind: "string" },
  { name: "--linger-ms", kind: "integer", min: 0, max: lingerMsMax },
  controllersFlag,
];

const flagsHelp: FlagHelp = [
  ["--topic T", "the topic to send to (created with 3 partitions when missing)"],
  ["--key K", "the key of every message: they all go to one partition, in order (default none: round-robin)"],
  ["--partition N", "send every message to partition N"],
  ["--acks all|1|0", "all: every in-sync replica has it (default); 1: the leader has it on disk; 0: the leader took it"],
  ["--linger-ms N", `wait up to N ms to fill a batch, 0 to ${lingerMsMax} (default ${producerDefaults.lingerMs})`],
  controllersFlagHelp,
];

export const produceUsage = usageText(
  "yakt produce --topic T [--key K] [--partition N] [--acks all|1|0] [--linger-ms N] [--controllers URL,…]",
  `Reads lines from stdin and sends each as one message to topic T. At end of input (or Ctrl-C) it waits
until every message read is acknowledged, then prints "produced N messages" on stderr.`,
  flagsHelp,
  "0 every message acknowledged, 1 a message failed (the error and its code on stderr), 2 bad flags.",
);

interface ProduceSettings {
  readonly topic: string;
  readonly key: string | undefined;
  readonly partition: number | undefined;
  readonly producer: ProducerOptions;
}

/** Runs `yakt produce …`; resolves with the exit status. */
export async function produceCommand(argv: readonly string[], io: ProduceIo): Promise<number> {
  const parsed = parseFlags(argv, flags, []);
  if (parsed.kind === "help") {
    io.stdout.write(`${produceUsage}\n`);
    return 0;
  }
  const settings = parsed.kind === "error" ? parsed.reason : settingsOf(parsed.flags);
  if (typeof settings === "string") {
    io.stderr.write(`yakt produce: Cannot produce as ${settings}\n\n${produceUsage}\n`);
    return 2;
  }
  const producer = (io.newProducer ?? ((options) => new Producer(options)))(settings.producer);
  const stopping = stopSignal(io.stop);
  try {
    const { acknowledgedCount, failure } = await sendLines(producer, settings, io.stdin ?? process.stdin, stopping.signal);
    io.stderr.write(`produced ${acknowledgedCount} message${acknowledgedCount === 1 ? "" : "s"}\n`);
    if (failure === undefined) return 0;
    io.stderr.write(`${failureLine("produce", failure)}\n`);
    return 1;
  } finally {
    stopping.dispose();
  }
}

function settingsOf(parsed: ParsedFlags): ProduceSettings | string {
  const topic = parsed.strings.get("--topic");
  const topicProblem = checkTopicName(topic);
  if (topicProblem !== undefined || topic === undefined) return topicProblem ?? "it needs --topic";
  const controllers = parseControllerUrls(parsed.strings.get("--controllers"));
  if (typeof controllers === "string") return controllers;
  const acks = parseAcks(parsed.strings.get("--acks") ?? "all");
  if (acks === undefined) return `--acks must be all, -1, 1 or 0: current value is ${JSON.stringify(parsed.strings.get("--acks"))}`;
  const lingerMs = parsed.integers.get("--linger-ms");
  return {
    topic,
    key: parsed.strings.get("--key"),
    partition: parsed.integers.get("--partition"),
    producer: { controllers, acks, ...(lingerMs === undefined ? {} : { lingerMs }) },
  };
}

function parseAcks(text: string): Acks | undefined {
  switch (text.toLowerCase()) {
    case "all":
    case "-1":
      return "all";
    case "1":
      return 1;
    case "0":
      return 0;
    default:
      return undefined;
  }
}

/**
 * Sends every line until end of input, the first failure or `stop`, then flushes and closes the
 * producer. Acknowledgements are counted as they come, so that no promise per line is kept.
 */
async function sendLines(producer: Producer, settings: ProduceSettings, input: AsyncIterable<Buffer | string>, stop: AbortSignal): Promise<{ acknowledgedCount: number; failure: unknown }> {
  let acknowledgedCount = 0;
  let failure: unknown;
  const onFailure = (error: unknown): void => {
    failure ??= error;
  };
  try {
    for await (const line of readLines(input, lineBytesMax, stop)) {
      if (failure !== undefined) break;
      const delivery = await producer.enqueue({
        topic: settings.topic,
        value: line,
        ...(settings.key === undefined ? {} : { key: settings.key }),
        ...(settings.partition === undefined ? {} : { partition: settings.partition }),
      });
      delivery.acknowledged.then(() => acknowledgedCount++, onFailure);
    }
  } catch (error) {
    onFailure(error);
  }
  await producer.close();
  return { acknowledgedCount, failure };
}

/**
 * The lines of `input` (UTF-8), without their "\n" or "\r\n"; a last line without one counts too.
 * Ends early when `stop` fires, even while waiting for input. A line longer than `lineBytesMax` fails
 * with RECORD_TOO_LARGE.
 */
export async function* readLines(input: AsyncIterable<Buffer | string>, lineBytesMax: number, stop?: AbortSignal): AsyncGenerator<string, void, undefined> {
  const decoder = new StringDecoder("utf8");
  const chunks = input[Symbol.asyncIterator]();
  const stopped = new Promise<"stopped">((resolve) => {
    if (stop?.aborted === true) resolve("stopped");
    stop?.addEventListener("abort", () => resolve("stopped"), { once: true });
  });
  let pending = "";
  let lineNumber = 0;
  try {
    for (;;) {
      const next = await Promise.race([chunks.next(), stopped]);
      if (next === "stopped") return;
      pending += next.done === true ? decoder.end() : typeof next.value === "string" ? next.value : decoder.write(next.value);
      let start = 0;
      for (let newline = pending.indexOf("\n"); newline !== -1; newline = pending.indexOf("\n", start)) {
        lineNumber++;
        yield withoutCarriageReturn(pending.slice(start, newline));
        start = newline + 1;
      }
      pending = pending.slice(start);
      if (Buffer.byteLength(pending) > lineBytesMax) {
        throw new ClientError("RECORD_TOO_LARGE", 0, `Cannot produce line ${lineNumber + 1} as it is longer than ${lineBytesMax} bytes`, { lineNumber: lineNumber + 1 });
      }
      if (next.done === true) {
        if (pending.length > 0) yield withoutCarriageReturn(pending);
        return;
      }
    }
  } finally {
    // Ends a stream still open (stdin after Ctrl-C) without waiting for it.
    void chunks.return?.();
  }
}

function withoutCarriageReturn(line: string): string {
  return line.endsWith("\r") ? line.slice(0, -1) : line;
}
