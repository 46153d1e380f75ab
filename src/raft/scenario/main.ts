/**
 * Checks or regenerates the golden scenario traces in src/raft/testdata/.
 *
 *   npm run scenarios                       check every script; exit 1 naming the files that differ
 *   npm run scenarios -- --rewrite          write every script's current trace in place
 *   npm run scenarios -- [--rewrite] NAME   only the files whose name contains NAME
 */
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describeMismatch } from "./mismatch.js";
import { runScenario } from "./interpreter.js";

const testdataDir = fileURLToPath(new URL("../../../src/raft/testdata/", import.meta.url));

function main(argv: readonly string[]): number {
  const rewrite = argv.includes("--rewrite");
  const filters = argv.filter((a) => a !== "--rewrite");
  const files = readdirSync(testdataDir)
    .filter((name) => name.endsWith(".txt") && (filters.length === 0 || filters.some((f) => name.includes(f))))
    .sort();
  if (files.length === 0) {
    console.error(`No scenario files in ${testdataDir} match ${filters.join(" ") || "*.txt"}`);
    return 1;
  }
  const mismatched: string[] = [];
  for (const name of files) {
    const path = `${testdataDir}${name}`;
    const expected = readFileSync(path, "utf8");
    const actual = runScenario(expected);
    if (actual === expected) continue;
    if (rewrite) {
      writeFileSync(path, actual);
      console.log(`rewrote ${name}`);
    } else {
      mismatched.push(name);
      console.error(`${name}: ${describeMismatch(expected, actual)}\n`);
    }
  }
  if (mismatched.length > 0) {
    console.error(`${mismatched.length} of ${files.length} scenario files differ: ${mismatched.join(", ")}`);
    return 1;
  }
  console.log(`${files.length} scenario files ${rewrite ? "up to date" : "match"}`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
