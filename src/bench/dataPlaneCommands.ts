// The `produce` and `consume` commands of `npm run bench`: flags to options, help, exit status.
import { consumeUsage, parseConsumeArgs, runConsume } from "./consume.js";
import type { ParsedArgs } from "./flags.js";
import { parseProduceArgs, produceUsage, runProduce } from "./produce.js";

export function produceCommand(argv: readonly string[]): Promise<number> {
  return command("produce", parseProduceArgs(argv), produceUsage, (options, print) => runProduce(options, print));
}

export function consumeCommand(argv: readonly string[]): Promise<number> {
  return command("consume", parseConsumeArgs(argv), consumeUsage, (options, print) => runConsume(options, print));
}

/** 0 after help or a finished run, 2 after bad flags; a failed run throws (exit 1 through runMain). */
async function command<T>(scenario: string, parsed: ParsedArgs<T>, usage: string, run: (options: T, print: (line: string) => void) => Promise<unknown>): Promise<number> {
  switch (parsed.kind) {
    case "help":
      console.log(usage);
      return 0;
    case "error":
      console.error(`bench ${scenario}: ${parsed.message}\nRun "npm run bench -- ${scenario} --help" for usage.`);
      return 2;
    case "options":
      await run(parsed.options, (line) => console.log(line));
      return 0;
  }
}
