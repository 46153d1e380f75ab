import { assert } from "../shared/assert.js";
import type { Result } from "../shared/result.js";
import { err, ok } from "../shared/result.js";

/**
 * "The last metadata offset I know", as clients of the earlier implementations send it (SPEC §4.1): an
 * integer offset, epoch seconds (int, float or numeric string), `YYYY-mm-dd_HH:MM:SS` (UTC), an RFC 1123
 * date, or (as a bonus) ISO 8601 `YYYY-mm-ddTHH:MM:SS(.sss)?Z`. Everything here is pure: the calendar
 * math is done by hand so that the metadata layer never touches the `Date` global.
 */
export type OffsetOrTime = { readonly kind: "offset"; readonly offset: number } | { readonly kind: "time"; readonly epochMs: number };

export interface ParseOffsetOrTimeOptions {
  /**
   * What a bare non-negative integer means. Defaults to "offset"; some compatibility routes only ever
   * receive epoch seconds, and ask for "epochSeconds" so that `1700000000` is a time.
   */
  readonly integerIs?: "offset" | "epochSeconds";
}

/** Characters of a string input: the longest accepted form is an ISO date with nanoseconds (30 chars). */
export const offsetOrTimeLengthMax = 64;

const msPerSecond = 1000;
const msPerDay = 86_400_000;

/**
 * The latest time accepted or formatted, 9999-12-31T23:59:59.999Z: every format here has a four-digit year.
 * The earliest is the epoch itself: a time before 1970 can only be a client bug (negative epoch seconds
 * are refused for the same reason).
 */
export const epochMsMax = 253_402_300_799_999;
const epochSecondsMax = Math.floor(epochMsMax / msPerSecond);

/**
 * Reads an offset or a time in any of the accepted encodings. Strings are matched exactly: no surrounding
 * whitespace, no sign, no exponent. A digit-only string or an integral number is an offset (or epoch
 * seconds with `integerIs: "epochSeconds"`); a decimal string or a non-integral number is epoch seconds,
 * rounded down to the millisecond. Every rejection carries the same message naming the accepted forms.
 */
export function parseOffsetOrTime(input: unknown, options: ParseOffsetOrTimeOptions = {}): Result<OffsetOrTime, string> {
  const integerIs = options.integerIs ?? "offset";
  const parsed =
    typeof input === "number" ? parseNumber(input, integerIs) : typeof input === "string" ? parseString(input, integerIs) : undefined;
  if (parsed === undefined) {
    return err(
      `Cannot parse offset as an integer offset, epoch seconds, YYYY-mm-dd_HH:MM:SS or an RFC 1123 date: current value is ${describeValue(input)}`,
    );
  }
  return ok(parsed);
}

function parseNumber(value: number, integerIs: "offset" | "epochSeconds"): OffsetOrTime | undefined {
  if (!Number.isFinite(value) || value < 0) return undefined;
  if (Number.isInteger(value)) return fromInteger(value + 0, integerIs); // `+ 0` turns -0 into 0.
  // The shortest decimal that reads back as `value` is what the client meant (1700000000.001 must not
  // become ...000 through binary rounding); only values below 1e-6 print with an exponent.
  const decimal = String(value);
  return decimalPattern.test(decimal) ? fromDecimalSeconds(decimal) : fromEpochMs(Math.floor(value * msPerSecond));
}

const digitsPattern = /^\d+$/;
const decimalPattern = /^(\d+)\.(\d+)$/;

function parseString(text: string, integerIs: "offset" | "epochSeconds"): OffsetOrTime | undefined {
  if (text.length === 0 || text.length > offsetOrTimeLengthMax) return undefined;
  if (digitsPattern.test(text)) return fromInteger(Number(text), integerIs);
  if (decimalPattern.test(text)) return fromDecimalSeconds(text);
  const epochMs = parseCompactUtc(text) ?? parseIso8601(text) ?? parseRfc1123(text);
  return epochMs === undefined ? undefined : fromEpochMs(epochMs);
}

function fromInteger(value: number, integerIs: "offset" | "epochSeconds"): OffsetOrTime | undefined {
  if (!Number.isSafeInteger(value)) return undefined;
  switch (integerIs) {
    case "offset":
      return { kind: "offset", offset: value };
    case "epochSeconds":
      return value > epochSecondsMax ? undefined : fromEpochMs(value * msPerSecond);
  }
}

/** Exact decimal arithmetic on the digits: "1700000000.0019" is 1700000000001 ms. */
function fromDecimalSeconds(text: string): OffsetOrTime | undefined {
  const match = decimalPattern.exec(text);
  assert(match !== null, `fromDecimalSeconds() needs a decimal: current value is ${text}`);
  const seconds = Number(group(match, 1));
  if (seconds > epochSecondsMax) return undefined;
  return fromEpochMs(seconds * msPerSecond + fractionMs(group(match, 2)));
}

function fromEpochMs(epochMs: number): OffsetOrTime | undefined {
  return Number.isSafeInteger(epochMs) && epochMs >= 0 && epochMs <= epochMsMax ? { kind: "time", epochMs } : undefined;
}

/** Milliseconds in the digits after a decimal point, rounded down: "5" → 500, "0019" → 1. */
function fractionMs(digits: string): number {
  return Number(digits.slice(0, 3).padEnd(3, "0"));
}

// ---------------------------------------------------------------------------------------------------
// Date formats

interface CivilTime {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly second: number;
  readonly millisecond: number;
}

const compactPattern = /^(\d{4})-(\d{2})-(\d{2})_(\d{2}):(\d{2}):(\d{2})$/;
const iso8601Pattern = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?Z$/;

/**
 * RFC 1123 (RFC 822 with a four-digit year, as HTTP and Python's `email.utils.formatdate` write it). The day
 * of the month may have one or two digits (RFC 822 allows both); names are case-insensitive, as in RFC 5322's
 * ABNF. Zones: GMT, UTC, +0000, and -0000, which `formatdate()` writes for UTC when not told `usegmt`.
 */
const rfc1123Pattern =
  /^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (?:GMT|UTC|[+-]0000)$/i;

const weekdayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"] as const;
const monthNames = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"] as const;

function parseCompactUtc(text: string): number | undefined {
  const match = compactPattern.exec(text);
  if (match === null) return undefined;
  return epochMsFromCivil({ ...civilDate(match, 1, 2, 3), ...clockTime(match, 4), millisecond: 0 });
}

function parseIso8601(text: string): number | undefined {
  const match = iso8601Pattern.exec(text);
  if (match === null) return undefined;
  const fraction = match[7];
  return epochMsFromCivil({ ...civilDate(match, 1, 2, 3), ...clockTime(match, 4), millisecond: fraction === undefined ? 0 : fractionMs(fraction) });
}

function parseRfc1123(text: string): number | undefined {
  const match = rfc1123Pattern.exec(text);
  if (match === null) return undefined;
  const month = monthNames.findIndex((name) => name.toLowerCase() === group(match, 3).toLowerCase()) + 1;
  const civil = { year: Number(group(match, 4)), month, day: Number(group(match, 2)), ...clockTime(match, 5), millisecond: 0 };
  const epochMs = epochMsFromCivil(civil);
  if (epochMs === undefined) return undefined;
  const weekday = match[1];
  // A day name that contradicts the date means the client computed one of them wrong: trust neither.
  if (weekday !== undefined && weekday.toLowerCase() !== weekdayName(Math.floor(epochMs / msPerDay)).toLowerCase()) return undefined;
  return epochMs;
}

function civilDate(match: RegExpExecArray, yearGroup: number, monthGroup: number, dayGroup: number): Pick<CivilTime, "year" | "month" | "day"> {
  return { year: Number(group(match, yearGroup)), month: Number(group(match, monthGroup)), day: Number(group(match, dayGroup)) };
}

/** Hour, minute and second from three consecutive groups starting at `firstGroup`. */
function clockTime(match: RegExpExecArray, firstGroup: number): Pick<CivilTime, "hour" | "minute" | "second"> {
  return {
    hour: Number(group(match, firstGroup)),
    minute: Number(group(match, firstGroup + 1)),
    second: Number(group(match, firstGroup + 2)),
  };
}

/** A group the pattern always captures (not an optional one). */
function group(match: RegExpExecArray, index: number): string {
  const value = match[index];
  assert(value !== undefined, `Group ${index} of ${match.input} must be captured by its pattern`);
  return value;
}

/**
 * Milliseconds since the epoch (negative before it: `fromEpochMs` bounds the result), or undefined when a
 * field is out of range (Feb 30, 24:00, leap seconds).
 */
function epochMsFromCivil(time: CivilTime): number | undefined {
  const { year, month, day, hour, minute, second, millisecond } = time;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return undefined;
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  return daysFromCivil(year, month, day) * msPerDay + ((hour * 60 + minute) * 60 + second) * msPerSecond + millisecond;
}

// ---------------------------------------------------------------------------------------------------
// Formatting

/** `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 1123, as in HTTP's Date header); milliseconds are dropped. */
export function formatRfc1123(epochMs: number): string {
  const { days, hour, minute, second } = splitEpochMs(epochMs);
  const { year, month, day } = civilFromDays(days);
  const monthName = monthNames[month - 1];
  assert(monthName !== undefined, `civilFromDays() returned month ${month}`);
  return `${weekdayName(days)}, ${pad(day, 2)} ${monthName} ${pad(year, 4)} ${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)} GMT`;
}

/** `1994-11-06_08:49:37` (UTC); milliseconds are dropped. */
export function formatCompactUtc(epochMs: number): string {
  const { days, hour, minute, second } = splitEpochMs(epochMs);
  const { year, month, day } = civilFromDays(days);
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}_${pad(hour, 2)}:${pad(minute, 2)}:${pad(second, 2)}`;
}

function splitEpochMs(epochMs: number): { days: number; hour: number; minute: number; second: number } {
  assert(
    Number.isSafeInteger(epochMs) && epochMs >= 0 && epochMs <= epochMsMax,
    `Cannot format a time outside [0, ${epochMsMax}] ms: current value is ${epochMs}`,
  );
  const days = Math.floor(epochMs / msPerDay);
  const secondOfDay = Math.floor((epochMs - days * msPerDay) / msPerSecond);
  return { days, hour: Math.floor(secondOfDay / 3600), minute: Math.floor(secondOfDay / 60) % 60, second: secondOfDay % 60 };
}

function pad(value: number, width: number): string {
  return String(value).padStart(width, "0");
}

// ---------------------------------------------------------------------------------------------------
// Calendar math on the proleptic Gregorian calendar, after Howard Hinnant, "chrono-Compatible Low-Level
// Date Algorithms" (http://howardhinnant.github.io/date_algorithms.html): days_from_civil,
// civil_from_days and weekday_from_days. Years are split into 400-year eras of 146 097 days, and each
// year is counted from March 1st so that the leap day falls at its end. Division is floored throughout,
// so the functions hold for dates before 1970 and before year 0 too.

/** Days from 1970-01-01 to the given date (negative before it). `month` is 1–12, `day` 1–31. */
export function daysFromCivil(year: number, month: number, day: number): number {
  assert(Number.isSafeInteger(year) && Number.isSafeInteger(month) && Number.isSafeInteger(day), "daysFromCivil() takes integers");
  assert(month >= 1 && month <= 12 && day >= 1 && day <= 31, `daysFromCivil() takes a month in 1–12 and a day in 1–31: current values are ${month} and ${day}`);
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400; // [0, 399]
  const dayOfYear = Math.floor((153 * (month > 2 ? month - 3 : month + 9) + 2) / 5) + day - 1; // [0, 365], from March 1st
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear; // [0, 146096]
  return era * 146_097 + dayOfEra - 719_468; // 719 468 days from 0000-03-01 to 1970-01-01
}

/** The date `days` days after 1970-01-01 (before it when negative); the inverse of `daysFromCivil`. */
export function civilFromDays(days: number): { year: number; month: number; day: number } {
  assert(Number.isSafeInteger(days), `civilFromDays() takes an integer: current value is ${days}`);
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097; // [0, 146096]
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  ); // [0, 399]
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100)); // [0, 365]
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153); // [0, 11]
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  return { year, month, day };
}

export function isLeapYear(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return isLeapYear(year) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The English abbreviation of the weekday `days` days after 1970-01-01, a Thursday. */
function weekdayName(days: number): string {
  const name = weekdayNames[(((days + 4) % 7) + 7) % 7];
  assert(name !== undefined, "A weekday index is always in [0, 6]");
  return name;
}

/** The rejected value as the error message shows it: strings quoted and cut at the length bound. */
function describeValue(value: unknown): string {
  switch (typeof value) {
    case "string":
      return JSON.stringify(value.length > offsetOrTimeLengthMax ? `${value.slice(0, offsetOrTimeLengthMax)}…` : value);
    case "number":
    case "bigint":
    case "boolean":
    case "symbol":
    case "undefined":
      return `"${String(value)}"`;
    case "object":
      return value === null ? `"null"` : Array.isArray(value) ? `"an array"` : `"an object"`;
    case "function":
      return `"a function"`;
  }
}
