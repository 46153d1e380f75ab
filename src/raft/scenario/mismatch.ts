/** Compares an expected golden file with the trace the interpreter produced, for failure messages. */
export function describeMismatch(expected: string, actual: string): string {
  const want = expected.split("\n");
  const got = actual.split("\n");
  let line = 0;
  // Bounded by the longer file.
  while (line < Math.max(want.length, got.length) && want[line] === got[line]) line++;
  const from = Math.max(0, line - 3);
  const context = (lines: readonly string[]): string =>
    lines
      .slice(from, line + 4)
      .map((l, k) => `${String(from + k + 1).padStart(5)} | ${l}`)
      .join("\n");
  return [
    `first difference at line ${line + 1}`,
    "expected:",
    context(want),
    "actual:",
    context(got),
    "(run `npm run scenarios -- --rewrite` to accept the new trace, after checking it is correct Raft behaviour)",
  ].join("\n");
}
