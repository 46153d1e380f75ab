// Runs every compiled unit, scenario and simulation test (dist/**/*.test.js) on Node's built-in runner.
// Usage: node scripts/run-tests.mjs [filter-substring …]   (npm test builds first)
import { spawnSync } from "node:child_process";
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

function findTests(dir) {
  const found = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) found.push(...findTests(path));
    else if (name.endsWith(".test.js")) found.push(path);
  }
  return found;
}

const filters = process.argv.slice(2);
const files = findTests("dist")
  .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
  .sort();
if (files.length === 0) {
  console.error(`No test files matched ${filters.join(" ") || "dist/**/*.test.js"}; run npm run build first.`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--enable-source-maps", "--test", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
