#!/usr/bin/env node
// Benches of whole clusters of real processes: `npm run bench -- <scenario> [options]`.
import { runMain } from "../cli/runMain.js";
import { benchCommand } from "./command.js";
import { runCompare } from "./compare.js";
import { compareUsage, parseCompareArgs } from "./compareArgs.js";
import { consumeUsage, parseConsumeArgs, runConsume } from "./consume.js";
import { failoverUsage, parseFailoverArgs, runFailover } from "./failover.js";
import { parseProduceArgs, produceUsage, runProduce } from "./produce.js";
import type { ProduceOptions } from "./produce.js";
import { runProduceVersus } from "./produceVersus.js";
import { parseScaleArgs, runScale, scaleUsage } from "./scale.js";

const usage = `Usage: npm run bench -- <scenario> [options]

Scenarios:
  failover   kill -9 the leader of 3 controllers, again and again; time until a write succeeds (failover --help)
  produce    messages/s, MB/s and p50/p99 latency of producers against 3 brokers, beside NATS JetStream (produce --help)
  consume    messages/s and MB/s of a consumer reading a topic from its beginning (consume --help)
  writes     metadata writes/s and latency at concurrency 1 to 128, beside etcd or ZooKeeper (writes --help)
  reads      linearizable and stale reads/s and latency, beside etcd or ZooKeeper (reads --help)
  scale      a million partitions: snapshot load time, controller memory, full MetadataFetch times (scale --help)

Exit status: 0 ok, 1 the bench failed, 2 bad scenario or flags.`;

async function main(argv: readonly string[]): Promise<number> {
  const [scenario, ...rest] = argv;
  switch (scenario) {
    case "failover":
      return benchCommand(scenario, parseFailoverArgs(rest), failoverUsage, runFailover);
    case "produce":
      return benchCommand(scenario, parseProduceArgs(rest), produceUsage, async (options: ProduceOptions, print) => (options.reference === undefined ? runProduce(options, print) : runProduceVersus(options, print)));
    case "consume":
      return benchCommand(scenario, parseConsumeArgs(rest), consumeUsage, runConsume);
    case "writes":
    case "reads":
      return benchCommand(scenario, parseCompareArgs(scenario, rest), compareUsage(scenario), runCompare);
    case "scale":
      return benchCommand(scenario, parseScaleArgs(rest), scaleUsage, runScale);
    case "help":
    case "--help":
    case "-h":
      console.log(usage);
      return 0;
    case undefined:
      console.error(usage);
      return 2;
    default:
      console.error(`bench: unknown scenario "${scenario}"\n\n${usage}`);
      return 2;
  }
}

runMain(main);
