import { assert } from "../../shared/assert.js";

/**
 * The datadriven file format of scenario scripts:
 *
 *     # comments and blank lines are kept as they are
 *     command arg key=value
 *     ----
 *     output lines, up to the next blank line
 *
 * A command written without `----` has no expected output yet; rendering adds it.
 */

export interface Directive {
  /** 1-based line of the command, for error messages. */
  readonly lineNumber: number;
  /** Comment and blank lines before the command, verbatim. */
  readonly preamble: readonly string[];
  readonly command: string;
}

export interface Script {
  readonly directives: readonly Directive[];
  /** Comment and blank lines after the last command. */
  readonly trailer: readonly string[];
}

export const separator = "----";

function isPreambleLine(line: string): boolean {
  return line.trim() === "" || line.startsWith("#");
}

export function parseScript(text: string): Script {
  const lines = text.split("\n");
  if (lines[lines.length - 1] === "") lines.pop(); // The newline ending the last line.
  const directives: Directive[] = [];
  let preamble: string[] = [];
  let i = 0;
  // Bounded: every iteration consumes at least one line.
  while (i < lines.length) {
    const line = lines[i] ?? "";
    if (isPreambleLine(line)) {
      preamble.push(line);
      i++;
      continue;
    }
    directives.push({ lineNumber: i + 1, preamble, command: line.trim() });
    preamble = [];
    i++;
    if (lines[i] !== separator) continue;
    i++;
    while (i < lines.length && (lines[i] ?? "") !== "") i++; // The old output, replaced on render.
  }
  return { directives, trailer: preamble };
}

/** The script with `outputs[k]` (lines, none empty) as the output of directive k. */
export function renderScript(script: Script, outputs: readonly (readonly string[])[]): string {
  assert(outputs.length === script.directives.length, "one output per directive");
  const lines: string[] = [];
  script.directives.forEach((directive, k) => {
    lines.push(...directive.preamble, directive.command, separator);
    for (const line of outputs[k] ?? []) {
      assert(line !== "", `output of "${directive.command}" must not contain blank lines`);
      lines.push(line);
    }
    // A blank line ends the output, so one must follow unless the file ends here.
    const next = script.directives[k + 1]?.preamble[0] ?? script.trailer[0];
    const isLast = k === script.directives.length - 1 && script.trailer.length === 0;
    if (!isLast && next !== "") lines.push("");
  });
  lines.push(...script.trailer);
  return `${lines.join("\n")}\n`;
}
