// One bench scenario's command: parsed flags to help, a usage error or a run.
import type { ParsedArgs } from "./flags.js";

/**
 * Prints the usage (exit 0), or the flag error with a pointer to the usage (exit 2), or runs the
 * scenario printing its lines on stdout (exit 0); a failed run throws, which `runMain` turns into exit 1.
 */
export async function benchCommand<T>(scenario: string, parsed: ParsedArgs<T>, usage: string, run: (options: T, print: (line: string) => void) => Promise<unknown>): Promise<number> {
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
