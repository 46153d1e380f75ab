/** One flag a command takes. */
export type FlagSpec =
  | { readonly name: string; readonly kind: "boolean" }
  | { readonly name: string; readonly kind: "string" }
  | { readonly name: string; readonly kind: "integer"; readonly min: number; readonly max: number };

export interface ParsedFlags {
  readonly positionals: readonly string[];
  readonly strings: ReadonlyMap<string, string>;
  readonly integers: ReadonlyMap<string, number>;
  readonly booleans: ReadonlySet<string>;
}

export type FlagsResult =
  | { readonly kind: "help" }
  /** `reason` completes "Cannot <do what the command does> as …". */
  | { readonly kind: "error"; readonly reason: string }
  | { readonly kind: "flags"; readonly flags: ParsedFlags };

/** Arguments of one command: a typo in a script should not turn into thousands of arguments read. */
const argsCountMax = 256;

/**
 * Parses a command's arguments (without the command's words): `--flag value` or `--flag=value`,
 * booleans without a value, `-h`/`--help` anywhere, `--` before positionals that start with `-`, and
 * exactly the `positionalNames` given. Pure.
 */
export function parseFlags(argv: readonly string[], specs: readonly FlagSpec[], positionalNames: readonly string[]): FlagsResult {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  if (argv.length > argsCountMax) return { kind: "error", reason: `it takes at most ${argsCountMax} arguments: current value is ${argv.length}` };
  const positionals: string[] = [];
  const strings = new Map<string, string>();
  const integers = new Map<string, number>();
  const booleans = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    if (arg === "--") {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      positionals.push(arg);
      continue;
    }
    const equals = arg.indexOf("=");
    const name = equals === -1 ? arg : arg.slice(0, equals);
    const spec = specs.find((s) => s.name === name);
    if (spec === undefined) return { kind: "error", reason: `${name} is not one of its flags` };
    if (strings.has(name) || integers.has(name) || booleans.has(name)) return { kind: "error", reason: `${name} is given twice` };
    if (spec.kind === "boolean") {
      if (equals !== -1) return { kind: "error", reason: `${name} takes no value: current value is ${JSON.stringify(arg.slice(equals + 1))}` };
      booleans.add(name);
      continue;
    }
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined || (equals === -1 && value.startsWith("--"))) return { kind: "error", reason: `${name} needs a value` };
    if (spec.kind === "string") {
      strings.set(name, value);
      continue;
    }
    const integer = /^-?[0-9]{1,16}$/.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(integer) || integer < spec.min || integer > spec.max) {
      return { kind: "error", reason: `${name} must be an integer from ${spec.min} to ${spec.max}: current value is ${JSON.stringify(value)}` };
    }
    integers.set(name, integer);
  }
  if (positionals.length !== positionalNames.length) return { kind: "error", reason: positionalsReason(positionalNames, positionals) };
  return { kind: "flags", flags: { positionals, strings, integers, booleans } };
}

function positionalsReason(names: readonly string[], given: readonly string[]): string {
  if (given.length < names.length) return `it needs ${names.join(" ")}`;
  const extra = JSON.stringify(given.slice(names.length).join(" "));
  return names.length === 0 ? `it takes no arguments besides flags: current value is ${extra}` : `it takes only ${names.join(" ")}: extra arguments are ${extra}`;
}
