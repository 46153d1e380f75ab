// `yakt consume`: a topic's messages, one per line, on stdout (SPEC §6).
import { Consumer } from "../client/consumer.js";
import type { ConsumerOptions, ConsumerRecord } from "../client/consumer.js";
import { checkTopicName, controllersFlag, controllersFlagHelp, failureLine, parseControllerUrls, stopSignal, usageText, writeLine } from "./dataPlaneCommand.js";
import type { DataPlaneIo, FlagHelp } from "./dataPlaneCommand.js";
import { parseFlags } from "./flags.js";
import type { FlagSpec, ParsedFlags } from "./flags.js";

export interface ConsumeIo extends DataPlaneIo {
  /** Builds the consumer from the flags' options; a `Consumer` when absent. */
  readonly newConsumer?: (options: ConsumerOptions) => Consumer;
}

const partitionMax = 1_000_000;
const messagesCountMax = Number.MAX_SAFE_INTEGER;
/** The group id length brokers take (src/broker/protocol.ts). */
const groupLengthMax = 255;

const flags: readonly FlagSpec[] = [
  { name: "--topic", kind: "string" },
  { name: "--from-beginning", kind: "boolean" },
  { name: "--group", kind: "string" },
  { name: "--partition", kind: "integer", min: 0, max: partitionMax },
  { name: "--max-messages", kind: "integer", min: 1, max: messagesCountMax },
  { name: "--json", kind: "boolean" },
  controllersFlag,
];

const flagsHelp: FlagHelp = [
  ["--topic T", "the topic to read (created with 3 partitions when missing)"],
  ["--from-beginning", "start at the oldest message of partitions the group has no offset for (default: the newest)"],
  ["--group G", "read as a member of consumer group G: only its share of the partitions, from where G left off"],
  ["--partition N", "read partition N only (not with --group)"],
  ["--max-messages N", "stop after N messages"],
  ["--json", "print one JSON object per message: partition, offset, key, value"],
  controllersFlagHelp,
];

export const consumeUsage = usageText(
  "yakt consume --topic T [--from-beginning] [--group G] [--partition N] [--max-messages N] [--json] [--controllers URL,…]",
  `Prints the messages of topic T, each value on its own line, until --max-messages or Ctrl-C; then, in a
group, commits the offsets of what it printed and leaves the group. Prints "consumed N messages" on stderr.`,
  flagsHelp,
  "0 ok, 1 the cluster refused or could not be reached (the error and its code on stderr), 2 bad flags.",
);

/** Runs `yakt consume …`; resolves with the exit status. */
export async function consumeCommand(argv: readonly string[], io: ConsumeIo): Promise<number> {
  const parsed = parseFlags(argv, flags, []);
  if (parsed.kind === "help") {
    io.stdout.write(`${consumeUsage}\n`);
    return 0;
  }
  const options = parsed.kind === "error" ? parsed.reason : consumerOptionsOf(parsed.flags);
  if (typeof options === "string") {
    io.stderr.write(`yakt consume: Cannot consume as ${options}\n\n${consumeUsage}\n`);
    return 2;
  }
  const json = parsed.kind === "flags" && parsed.flags.booleans.has("--json");
  const consumer = (io.newConsumer ?? ((o) => new Consumer(o)))(options);
  const stopping = stopSignal(io.stop);
  // A reader that went away (`yakt consume … | head`) ends the command like Ctrl-C.
  const outputGone = new AbortController();
  const onOutputError = (): void => outputGone.abort();
  io.stdout.on?.("error", onOutputError);
  const stop = AbortSignal.any([stopping.signal, outputGone.signal]);
  let printedCount = 0;
  let failure: unknown;
  try {
    for await (const record of consumer.records(stop)) {
      await writeLine(io.stdout, json ? jsonLine(record) : record.value);
      printedCount++;
    }
    await consumer.commit();
  } catch (error) {
    failure = error;
  } finally {
    await consumer.close();
    stopping.dispose();
    io.stdout.off?.("error", onOutputError);
  }
  io.stderr.write(`consumed ${printedCount} message${printedCount === 1 ? "" : "s"}\n`);
  if (failure === undefined) return 0;
  io.stderr.write(`${failureLine("consume", failure)}\n`);
  return 1;
}

function consumerOptionsOf(parsed: ParsedFlags): ConsumerOptions | string {
  const topic = parsed.strings.get("--topic");
  const topicProblem = checkTopicName(topic);
  if (topicProblem !== undefined || topic === undefined) return topicProblem ?? "it needs --topic";
  const controllers = parseControllerUrls(parsed.strings.get("--controllers"));
  if (typeof controllers === "string") return controllers;
  const group = parsed.strings.get("--group");
  if (group !== undefined && (group.length === 0 || group.length > groupLengthMax)) return `--group must be 1 to ${groupLengthMax} characters: current value is ${JSON.stringify(group)}`;
  const partition = parsed.integers.get("--partition");
  if (group !== undefined && partition !== undefined) return "--partition and --group do not go together: a group's coordinator assigns the partitions";
  const maxMessages = parsed.integers.get("--max-messages");
  return {
    controllers,
    topic,
    fromBeginning: parsed.booleans.has("--from-beginning"),
    ...(group === undefined ? {} : { group }),
    ...(partition === undefined ? {} : { partitions: [partition] }),
    ...(maxMessages === undefined ? {} : { maxMessages }),
  };
}

function jsonLine(record: ConsumerRecord): string {
  return JSON.stringify({ partition: record.partition, offset: record.offset, key: record.key, value: record.value });
}
