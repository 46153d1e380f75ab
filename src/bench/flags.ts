// Flag parsing for the data-plane benches: `--flag value` or `--flag=value`, each flag at most once,
// values checked against named bounds, errors in the shape the failover bench uses.

export type ParsedArgs<T> =
  | { readonly kind: "help" }
  | { readonly kind: "options"; readonly options: T }
  | { readonly kind: "error"; readonly message: string };

/** Thrown by a `FlagValues` reader; `parseBenchArgs` turns it into an "error" result. */
class BadFlag extends Error {
  constructor(
    reason: string,
    readonly value: string,
  ) {
    super(reason);
  }
}

/** Typed readers of the flags given; each falls back to its default when the flag is absent. */
export class FlagValues {
  constructor(private readonly values: ReadonlyMap<string, string>) {}

  integer(flag: string, min: number, max: number, fallback: number): number {
    return this.optionalInteger(flag, min, max) ?? fallback;
  }

  /** An integer in [min, max], or undefined when the flag is absent. */
  optionalInteger(flag: string, min: number, max: number): number | undefined {
    const text = this.values.get(flag);
    if (text === undefined) return undefined;
    return readInteger(text, min, max) ?? badFlag(`${flag} must be an integer from ${min} to ${max}`, text);
  }

  /** A comma-separated list of distinct integers in [min, max], 1 to `countMax` of them. */
  integers(flag: string, bounds: { readonly min: number; readonly max: number; readonly countMax: number }, fallback: readonly number[]): readonly number[] {
    const text = this.values.get(flag);
    if (text === undefined) return fallback;
    const list = text.split(",").map((item) => readInteger(item, bounds.min, bounds.max));
    const valid = list.length <= bounds.countMax && list.every((n) => n !== undefined) && new Set(list).size === list.length;
    return valid ? (list as number[]) : badFlag(`${flag} must be 1 to ${bounds.countMax} distinct integers from ${bounds.min} to ${bounds.max}, separated by commas`, text);
  }

  choice<T extends string>(flag: string, choices: readonly T[], fallback: T): T;
  choice<T extends string>(flag: string, choices: readonly T[]): T | undefined;
  choice<T extends string>(flag: string, choices: readonly T[], fallback?: T): T | undefined {
    const text = this.values.get(flag);
    if (text === undefined) return fallback;
    const chosen = choices.find((choice) => choice === text);
    return chosen ?? badFlag(`${flag} must be one of ${choices.join(", ")}`, text);
  }

  text(flag: string): string | undefined {
    return this.values.get(flag);
  }

  /** Refuses `flag` for a reason that involves other flags (e.g. one that needs another). */
  refuse(flag: string, reason: string): never {
    return badFlag(`${flag} ${reason}`, this.values.get(flag) ?? "");
  }
}

/**
 * Parses `argv` for the `scenario` bench, which takes exactly `flags` (each with a value): help
 * (`--help`, `-h`) wins over everything, then unknown flags, missing values and repeats are refused,
 * then `build` reads the values.
 */
export function parseBenchArgs<T>(scenario: string, argv: readonly string[], flags: readonly string[], build: (values: FlagValues) => T): ParsedArgs<T> {
  if (argv.includes("--help") || argv.includes("-h")) return { kind: "help" };
  const error = (reason: string, value?: string): ParsedArgs<T> => ({ kind: "error", message: `Cannot run the ${scenario} bench as ${reason}${value === undefined ? "" : `: current value is "${value}"`}` });
  const values = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? "";
    const equals = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const flag = equals === -1 ? arg : arg.slice(0, equals);
    if (!flags.includes(flag)) return error(arg.startsWith("-") ? `${flag} is not a flag of the ${scenario} bench` : "it takes no positional arguments", arg);
    const value = equals === -1 ? argv[++i] : arg.slice(equals + 1);
    if (value === undefined || value.startsWith("--") || value === "") return error(`${flag} needs a value`);
    if (values.has(flag)) return error(`${flag} is given twice`, value);
    values.set(flag, value);
  }
  try {
    return { kind: "options", options: build(new FlagValues(values)) };
  } catch (caught) {
    if (caught instanceof BadFlag) return error(caught.message, caught.value);
    throw caught;
  }
}

function readInteger(text: string, min: number, max: number): number | undefined {
  const value = /^[0-9]+$/.test(text) ? Number(text) : Number.NaN;
  return Number.isSafeInteger(value) && value >= min && value <= max ? value : undefined;
}

function badFlag(reason: string, value: string): never {
  throw new BadFlag(reason, value);
}
