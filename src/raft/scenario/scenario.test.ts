import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { describeMismatch } from "./mismatch.js";
import { runScenario } from "./interpreter.js";
import { parseScript, renderScript } from "./script.js";

const testdataDir = fileURLToPath(new URL("../../../src/raft/testdata/", import.meta.url));
const files = readdirSync(testdataDir)
  .filter((name) => name.endsWith(".txt"))
  .sort();

test("the scenario directory holds scripts", () => {
  assert.ok(files.length > 0, `no scenario scripts in ${testdataDir}`);
});

for (const name of files) {
  test(`scenario ${name} replays its golden trace`, () => {
    const expected = readFileSync(`${testdataDir}${name}`, "utf8");
    const actual = runScenario(expected);
    if (actual !== expected) assert.fail(`${name} differs from its golden trace: ${describeMismatch(expected, actual)}`);
  });
}

test("renderScript keeps comments and fills in outputs", () => {
  const script = parseScript("# a comment\n\ncmd 1\n----\nold output\n\n# tail\n");
  assert.equal(renderScript(script, [["new output"]]), "# a comment\n\ncmd 1\n----\nnew output\n\n# tail\n");
});

test("renderScript adds the separator to a command written without one", () => {
  const script = parseScript("first\nsecond\n");
  assert.equal(renderScript(script, [["a"], []]), "first\n----\na\n\nsecond\n----\n");
});

test("runScenario reports a script mistake with its line", () => {
  assert.throws(() => runScenario("\nno-such-command 1\n"), /line 2: no-such-command 1: unknown command/);
});
