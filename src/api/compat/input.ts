import type { ErrorObject, ValidateFunction } from "ajv";
import type { Static, TSchema } from "typebox";
import type { ClientSession } from "../../metadata/commands.js";
import type { OffsetOrTime } from "../../metadata/time.js";
import { parseOffsetOrTime } from "../../metadata/time.js";
import { ApiError } from "../errors.js";
import { validatorCompiler } from "../validation.js";

/**
 * Reading a request of an earlier implementation (SPEC §4.1). A value may come from the path, the query
 * or the body, looked up in that order; the body is either the spec envelope
 * `{"type":"metadata","name","fields":{…},"timestamp"}` (values read from `fields`) or flat. Numbers may
 * arrive as decimal strings ("1", "9092"), as the Python flavours sent them. Nothing here decides what a
 * value may be: the canonical TypeBox schema of the operation does, through `canonical()`, so every bound
 * stays in one place and every refusal is a coded 400 naming the field where the client put it.
 */

export type KeyMatching = "exact" | "caseInsensitive";

export interface InputRules {
  /** go-rest matched keys case-insensitively (`brokerID` = `brokerId`); the Python flavours did not. */
  readonly keyMatching: KeyMatching;
  /** What a bare integer offset means in this flavour (see `parseOffsetOrTime`). */
  readonly integerIs: "offset" | "epochSeconds";
  /** Keys the route reads from the query or the body (path parameters are the route's own). */
  readonly keys: readonly string[];
  /**
   * Keys accepted and never read: mostly those the quorum sets itself (SPEC §3 "set by the server"), for
   * which old clients sent placeholders.
   */
  readonly ignored: readonly string[];
}

export interface RequestParts {
  readonly params: unknown;
  readonly query: unknown;
  readonly body: unknown;
  readonly session: ClientSession | undefined;
}

/** A value as the client gave it, and where: `params.brokerId`, `querystring.brokerID`, `body.fields.brokerPort`. */
export interface Located {
  readonly value: unknown;
  readonly where: string;
}

export interface CompatInput {
  readonly session: ClientSession | undefined;
  /**
   * The first of `keys` the request gives (null counts as absent). The first key is the canonical name:
   * later `whereOf(keys[0])` reports where the value came from.
   */
  find(...keys: string[]): Located | undefined;
  /** Where a key was found, or where it belongs in the body when absent. */
  whereOf(key: string): string;
  /** An integer, from a JSON number or a string of digits; anything else is passed on for the schema to refuse. */
  int(...keys: string[]): unknown;
  /** A value passed on as given, for the schema to check (a number is not turned into text). */
  text(...keys: string[]): unknown;
  /** A list of integers, each a number or a string of digits. */
  intList(...keys: string[]): unknown;
  /** An offset or a time in any encoding SPEC §4.1 lists, read with this flavour's meaning of a bare integer. */
  since(...keys: string[]): OffsetOrTime | undefined;
}

/** Keys of the spec envelope around a record's fields. */
const envelopeKeys = ["type", "name", "fields", "timestamp"] as const;
/** Characters of a rejected value quoted in an error message. */
const shownValueLengthMax = 64;
/** Up to 15 digits is always a safe integer; longer text goes on as text, which the schema refuses. */
const integerTextPattern = /^-?\d{1,15}$/;

export function readInput(parts: RequestParts, rules: InputRules): CompatInput {
  const normalize = rules.keyMatching === "caseInsensitive" ? (key: string) => key.toLowerCase() : (key: string) => key;
  const body = bodyFields(parts.body, normalize);
  const known = { read: new Set(rules.keys.map(normalize)), ignored: new Set(rules.ignored.map(normalize)) };
  const sources = [
    indexKeys(stringRecord(parts.params, "params"), "params", normalize),
    onlyKnown(indexKeys(queryRecord(parts.query), "querystring", normalize), known),
    onlyKnown(indexKeys(body.fields, body.prefix, normalize), known),
  ];
  const found = new Map<string, string>();

  const find = (...keys: string[]): Located | undefined => {
    for (const key of keys) {
      for (const source of sources) {
        const located = source.get(normalize(key));
        if (located === undefined || located.value === null) continue;
        const first = keys[0];
        if (first !== undefined) found.set(first, located.where);
        return located;
      }
    }
    return undefined;
  };
  const value = (keys: string[]): unknown => find(...keys)?.value;

  return {
    session: parts.session,
    find,
    whereOf: (key) => found.get(key) ?? `${body.prefix}.${key}`,
    int: (...keys) => integerOf(value(keys)),
    text: (...keys) => value(keys),
    intList: (...keys) => {
      const list = value(keys);
      return Array.isArray(list) ? list.map(integerOf) : list;
    },
    since: (...keys) => {
      const located = find(...keys);
      if (located === undefined || located.value === "") return undefined;
      const parsed = parseOffsetOrTime(located.value, { integerIs: rules.integerIs });
      if (!parsed.ok) throw badRequest(located.where, "must be an offset, epoch seconds, YYYY-mm-dd_HH:MM:SS or an RFC 1123 date", located.value);
      return parsed.value;
    },
  };
}

/**
 * `values` checked against the canonical schema of the operation and typed by it. Undefined values are
 * left out (absent); a refusal names the field where the client put it.
 */
export function canonical<S extends TSchema>(input: CompatInput, schema: S, values: Readonly<Record<string, unknown>>): Static<S> {
  const request = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined));
  const validate = validatorOf(schema);
  if (validate(request)) return request as Static<S>;
  const first = validate.errors?.[0];
  throw first === undefined ? badRequest("request", "is invalid", request) : schemaError(input, first, request);
}

/** How the canonical operations take an offset or a time: an offset as a number, a time as exact decimal epoch seconds. */
export function sinceArgument(since: OffsetOrTime | undefined): number | string | undefined {
  if (since === undefined) return undefined;
  if (since.kind === "offset") return since.offset;
  const milliseconds = since.epochMs % 1000;
  return `${(since.epochMs - milliseconds) / 1000}.${String(milliseconds).padStart(3, "0")}`;
}

export function badRequest(field: string, problem: string, value: unknown): ApiError {
  return new ApiError("BAD_REQUEST", `Cannot accept the request as ${field} ${problem}: current value is ${describe(value)}`, { field });
}

// ---------------------------------------------------------------------------------------------------

interface BodyFields {
  readonly fields: Readonly<Record<string, unknown>>;
  /** Where the fields sit, for error messages. */
  readonly prefix: "body" | "body.fields";
}

/** The record fields of a body, from inside the spec envelope when it is one. */
function bodyFields(body: unknown, normalize: (key: string) => string): BodyFields {
  if (body === undefined || body === null) return { fields: {}, prefix: "body" };
  if (!isRecord(body)) throw badRequest("body", "must be a JSON object", body);
  const top = indexKeys(body, "body", normalize);
  const fields = top.get(normalize("fields"));
  if (fields === undefined || !isRecord(fields.value)) return { fields: body, prefix: "body" };
  const allowed = new Set<string>(envelopeKeys.map(normalize));
  for (const [key, located] of top) {
    if (!allowed.has(key)) throw badRequest(located.where, `is not a key of the record envelope (${envelopeKeys.join(", ")})`, located.value);
  }
  const type = top.get(normalize("type"));
  if (type !== undefined && type.value !== "metadata") throw badRequest(type.where, `must be "metadata"`, type.value);
  const name = top.get(normalize("name"));
  if (name !== undefined && typeof name.value !== "string") throw badRequest(name.where, "must be a record name", name.value);
  return { fields: fields.value, prefix: "body.fields" };
}

/** Keys by their matching form; two keys that match alike would make the request ambiguous. */
function indexKeys(record: Readonly<Record<string, unknown>>, prefix: string, normalize: (key: string) => string): Map<string, Located> {
  const index = new Map<string, Located>();
  for (const [key, value] of Object.entries(record)) {
    const where = `${prefix}.${key}`;
    const other = index.get(normalize(key));
    if (other !== undefined) throw badRequest(where, `names the same field as ${other.where}`, value);
    index.set(normalize(key), { value, where });
  }
  return index;
}

/**
 * The keys the route reads; ignored ones are dropped, so no adapter can read a placeholder. Unknown keys
 * are refused, never silently dropped: a misspelt key would otherwise change nothing.
 */
function onlyKnown(index: Map<string, Located>, known: { read: ReadonlySet<string>; ignored: ReadonlySet<string> }): Map<string, Located> {
  for (const [key, located] of index) {
    if (known.ignored.has(key)) index.delete(key);
    else if (!known.read.has(key)) throw badRequest(located.where, "is not a field this route takes", located.value);
  }
  return index;
}

function queryRecord(query: unknown): Readonly<Record<string, unknown>> {
  const record = stringRecord(query, "querystring");
  for (const [key, value] of Object.entries(record)) {
    if (Array.isArray(value)) throw badRequest(`querystring.${key}`, "is given more than once", value);
  }
  return record;
}

function stringRecord(value: unknown, part: string): Readonly<Record<string, unknown>> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw badRequest(part, "must be a set of named values", value);
  return value;
}

function isRecord(value: unknown): value is Readonly<Record<string, unknown>> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integerOf(value: unknown): unknown {
  return typeof value === "string" && integerTextPattern.test(value) ? Number(value) : value;
}

const validators = new WeakMap<TSchema, ValidateFunction>();

function validatorOf(schema: TSchema): ValidateFunction {
  let validate = validators.get(schema);
  if (validate === undefined) {
    // The canonical routes' own body validator: JSON types exactly, no coercion (the adapters convert first).
    validate = validatorCompiler({ schema, method: "POST", url: "/compat", httpPart: "body" }) as ValidateFunction;
    validators.set(schema, validate);
  }
  return validate;
}

function schemaError(input: CompatInput, error: ErrorObject, request: Readonly<Record<string, unknown>>): ApiError {
  const [key = String(error.params["missingProperty"] ?? ""), ...rest] = error.instancePath.split("/").slice(1);
  const field = [input.whereOf(key), ...rest].join(".");
  if (error.keyword === "required") return new ApiError("BAD_REQUEST", `Cannot accept the request as ${field} is required`, { field });
  return badRequest(field, error.message ?? "is invalid", valueAt(request, [key, ...rest]));
}

function valueAt(value: unknown, path: readonly string[]): unknown {
  let current = value;
  for (const step of path) current = isRecord(current) || Array.isArray(current) ? (current as Record<string, unknown>)[step] : undefined;
  return current;
}

function describe(value: unknown): string {
  const text = value === undefined ? "absent" : JSON.stringify(value);
  return text.length > shownValueLengthMax ? `${text.slice(0, shownValueLengthMax)}…` : text;
}
