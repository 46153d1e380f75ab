// Entry points of the comparison benches for bench/main.ts: `writes` and `reads`.
import { runCompare } from "./compare.js";
import { compareUsage, parseCompareArgs } from "./compareArgs.js";
import type { CompareScenario } from "./compareArgs.js";

export async function compareCommand(scenario: CompareScenario, argv: readonly string[]): Promise<number> {
  const parsed = parseCompareArgs(scenario, argv);
  switch (parsed.kind) {
    case "help":
      console.log(compareUsage(scenario));
      return 0;
    case "error":
      console.error(`bench ${scenario}: ${parsed.message}\nRun "npm run bench -- ${scenario} --help" for usage.`);
      return 2;
    case "options":
      await runCompare(parsed.options, (line) => console.log(line));
      return 0;
  }
}
