import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../shared/prng.js";
import type { OffsetOrTime, ParseOffsetOrTimeOptions } from "./time.js";
import {
  civilFromDays,
  daysFromCivil,
  daysInMonth,
  epochMsMax,
  formatCompactUtc,
  formatRfc1123,
  offsetOrTimeLengthMax,
  parseOffsetOrTime,
} from "./time.js";

const rejection = "Cannot parse offset as an integer offset, epoch seconds, YYYY-mm-dd_HH:MM:SS or an RFC 1123 date: current value is ";

function parsed(input: unknown, options?: ParseOffsetOrTimeOptions): OffsetOrTime {
  const result = parseOffsetOrTime(input, options);
  assert.ok(result.ok, `expected ${String(input)} to parse, got ${result.ok ? "" : result.error}`);
  return result.value;
}

function time(epochMs: number): OffsetOrTime {
  return { kind: "time", epochMs };
}

function assertRejected(input: unknown, options?: ParseOffsetOrTimeOptions): string {
  const result = parseOffsetOrTime(input, options);
  assert.ok(!result.ok, `expected ${typeof input === "string" ? JSON.stringify(input) : String(input)} to be rejected`);
  assert.ok(result.error.startsWith(rejection), result.error);
  return result.error;
}

const sundayNov6th1994Ms = Date.UTC(1994, 10, 6, 8, 49, 37);

// ---------------------------------------------------------------------------------------------------
// Offsets and epoch seconds

test("parseOffsetOrTime() reads a non-negative integer, number or digits, as an offset", () => {
  assert.deepEqual(parsed(0), { kind: "offset", offset: 0 });
  assert.deepEqual(parsed(-0), { kind: "offset", offset: 0 });
  assert.deepEqual(parsed(42), { kind: "offset", offset: 42 });
  assert.deepEqual(parsed(Number.MAX_SAFE_INTEGER), { kind: "offset", offset: Number.MAX_SAFE_INTEGER });
  assert.deepEqual(parsed("0"), { kind: "offset", offset: 0 });
  assert.deepEqual(parsed("42"), { kind: "offset", offset: 42 });
  assert.deepEqual(parsed("0042"), { kind: "offset", offset: 42 });
  assert.deepEqual(parsed(String(Number.MAX_SAFE_INTEGER)), { kind: "offset", offset: Number.MAX_SAFE_INTEGER });
  // An integral float is an integer: JSON cannot tell 5.0 from 5.
  assert.deepEqual(parsed(5.0), { kind: "offset", offset: 5 });
});

test("parseOffsetOrTime() reads an integer as epoch seconds when asked to", () => {
  const options = { integerIs: "epochSeconds" } as const;
  assert.deepEqual(parsed(1_700_000_000, options), time(1_700_000_000_000));
  assert.deepEqual(parsed("1700000000", options), time(1_700_000_000_000));
  assert.deepEqual(parsed(0, options), time(0));
  assert.deepEqual(parsed(Math.floor(epochMsMax / 1000), options), time(epochMsMax - 999));
  assertRejected(Math.floor(epochMsMax / 1000) + 1, options);
  assertRejected(String(Number.MAX_SAFE_INTEGER), options);
  // The option changes only what integers mean.
  assert.deepEqual(parsed("1700000000.5", options), time(1_700_000_000_500));
  assert.deepEqual(parsed("1994-11-06_08:49:37", options), time(sundayNov6th1994Ms));
});

test("parseOffsetOrTime() reads a non-integral number as epoch seconds, rounded down to the millisecond", () => {
  assert.deepEqual(parsed(1_700_000_000.25), time(1_700_000_000_250));
  assert.deepEqual(parsed(1_700_000_000.5), time(1_700_000_000_500));
  // Binary rounding would make these ...000 and ...122: the decimal the client printed wins.
  assert.deepEqual(parsed(1_700_000_000.001), time(1_700_000_000_001));
  assert.deepEqual(parsed(1_700_000_000.123), time(1_700_000_000_123));
  assert.deepEqual(parsed(1_700_000_000.1239), time(1_700_000_000_123));
  assert.deepEqual(parsed(1.001), time(1001)); // 1.001 * 1000 is 1000.9999999999999
  assert.deepEqual(parsed(1.005), time(1005));
  assert.deepEqual(parsed(0.5), time(500));
  assert.deepEqual(parsed(0.0009), time(0));
  assert.deepEqual(parsed(1e-7), time(0));
  assert.deepEqual(parsed(epochMsMax / 1000), time(epochMsMax));
});

test("parseOffsetOrTime() reads a decimal string as epoch seconds with exact digits", () => {
  assert.deepEqual(parsed("1700000000.5"), time(1_700_000_000_500));
  assert.deepEqual(parsed("1700000000.25"), time(1_700_000_000_250));
  assert.deepEqual(parsed("1700000000.0019"), time(1_700_000_000_001));
  assert.deepEqual(parsed("1700000000.123456789"), time(1_700_000_000_123));
  // A decimal point makes it a time even when the fraction is zero (Python's str(time.time()) style).
  assert.deepEqual(parsed("42.0"), time(42_000));
  assert.deepEqual(parsed("0.0"), time(0));
  assert.deepEqual(parsed("253402300799.999"), time(epochMsMax));
  assertRejected("253402300800.0");
});

test("parseOffsetOrTime() reads epoch seconds exactly like the Date-based reading on generated values", () => {
  const prng = createPrng(11);
  for (let i = 0; i < 2000; i++) {
    const seconds = prng.int(4_000_000_000);
    const milliseconds = prng.int(1000);
    const text = `${seconds}.${String(milliseconds).padStart(3, "0")}${prng.int(10)}`;
    assert.deepEqual(parsed(text), time(seconds * 1000 + milliseconds), text);
    assert.deepEqual(parsed(seconds, { integerIs: "epochSeconds" }), time(new Date(seconds * 1000).getTime()));
  }
});

// ---------------------------------------------------------------------------------------------------
// Dates

test("parseOffsetOrTime() reads YYYY-mm-dd_HH:MM:SS as UTC", () => {
  assert.deepEqual(parsed("1994-11-06_08:49:37"), time(sundayNov6th1994Ms));
  assert.deepEqual(parsed("1970-01-01_00:00:00"), time(0));
  assert.deepEqual(parsed("1970-01-01_00:00:01"), time(1000));
  assert.deepEqual(parsed("2024-02-29_23:59:59"), time(Date.UTC(2024, 1, 29, 23, 59, 59)));
  assert.deepEqual(parsed("2000-02-29_12:00:00"), time(Date.UTC(2000, 1, 29, 12)));
  assert.deepEqual(parsed("9999-12-31_23:59:59"), time(epochMsMax - 999));
});

test("parseOffsetOrTime() reads RFC 1123 dates with GMT, UTC and ±0000 zones", () => {
  for (const text of [
    "Sun, 06 Nov 1994 08:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:37 UTC",
    "Sun, 06 Nov 1994 08:49:37 +0000",
    "Sun, 06 Nov 1994 08:49:37 -0000",
    "06 Nov 1994 08:49:37 GMT",
    "6 Nov 1994 08:49:37 GMT",
    "Sun, 6 Nov 1994 08:49:37 GMT",
    "sun, 06 nov 1994 08:49:37 gmt",
    "SUN, 06 NOV 1994 08:49:37 GMT",
  ]) {
    assert.deepEqual(parsed(text), time(sundayNov6th1994Ms), text);
  }
  assert.deepEqual(parsed("Thu, 01 Jan 1970 00:00:00 GMT"), time(0));
  assert.deepEqual(parsed("Thu, 29 Feb 2024 00:00:00 GMT"), time(Date.UTC(2024, 1, 29)));
  assert.deepEqual(parsed("Fri, 31 Dec 9999 23:59:59 GMT"), time(epochMsMax - 999));
});

test("parseOffsetOrTime() reads ISO 8601 UTC dates with an optional fraction", () => {
  assert.deepEqual(parsed("1994-11-06T08:49:37Z"), time(sundayNov6th1994Ms));
  assert.deepEqual(parsed("1994-11-06T08:49:37.5Z"), time(sundayNov6th1994Ms + 500));
  assert.deepEqual(parsed("1994-11-06T08:49:37.123Z"), time(sundayNov6th1994Ms + 123));
  assert.deepEqual(parsed("1994-11-06T08:49:37.123999999Z"), time(sundayNov6th1994Ms + 123));
  assert.deepEqual(parsed("9999-12-31T23:59:59.999Z"), time(epochMsMax));
});

test("parseOffsetOrTime() checks every field's range, including the days of each month", () => {
  for (const text of [
    "1994-00-06_08:49:37",
    "1994-13-06_08:49:37",
    "1994-11-00_08:49:37",
    "1994-11-31_08:49:37",
    "1994-04-31_00:00:00",
    "2023-02-29_00:00:00",
    "2100-02-29_00:00:00", // a century year that is not a leap year
    "1994-11-06_24:00:00",
    "1994-11-06_08:60:37",
    "1994-11-06_08:49:60", // leap seconds are not representable in epoch time
    "1994-11-06T24:00:00Z",
    "2023-02-29T00:00:00Z",
    "Sun, 00 Nov 1994 08:49:37 GMT",
    "Sun, 31 Nov 1994 08:49:37 GMT",
    "Wed, 29 Feb 2023 00:00:00 GMT",
    "Sun, 06 Nov 1994 24:49:37 GMT",
    "Sun, 06 Nov 1994 08:49:60 GMT",
  ]) {
    assertRejected(text);
  }
});

test("parseOffsetOrTime() refuses an RFC 1123 date whose day name contradicts it", () => {
  assertRejected("Mon, 06 Nov 1994 08:49:37 GMT");
  assertRejected("Sat, 01 Jan 1970 00:00:00 GMT");
  assertRejected("Sun, 29 Feb 2024 00:00:00 GMT");
});

test("parseOffsetOrTime() refuses times before the epoch and after year 9999", () => {
  assertRejected("1969-12-31_23:59:59");
  assertRejected("Wed, 31 Dec 1969 23:59:59 GMT");
  assertRejected("0000-01-01T00:00:00Z");
  assertRejected(253_402_300_800.5);
  assertRejected("253402300800.000");
  assertRejected("10000-01-01_00:00:00");
});

test("daysFromCivil() and civilFromDays() agree with Date.UTC on generated dates and invert each other", () => {
  const prng = createPrng(1123);
  for (let i = 0; i < 5000; i++) {
    const year = prng.intBetween(-2000, 12_000);
    const month = prng.intBetween(1, 12);
    const day = prng.intBetween(1, daysInMonth(year, month));
    const expected = new Date(0);
    expected.setUTCFullYear(year, month - 1, day); // Date.UTC maps years 0–99 to 1900–1999
    const days = daysFromCivil(year, month, day);
    assert.equal(days * 86_400_000, expected.getTime(), `${year}-${month}-${day}`);
    assert.deepEqual(civilFromDays(days), { year, month, day });
  }
});

test("civilFromDays() walks every day across leap years one day at a time", () => {
  let previous = civilFromDays(daysFromCivil(1899, 12, 31));
  for (let days = daysFromCivil(1900, 1, 1); days <= daysFromCivil(2401, 1, 1); days++) {
    const current = civilFromDays(days);
    const expected =
      previous.day < daysInMonth(previous.year, previous.month)
        ? { ...previous, day: previous.day + 1 }
        : previous.month < 12
          ? { year: previous.year, month: previous.month + 1, day: 1 }
          : { year: previous.year + 1, month: 1, day: 1 };
    assert.deepEqual(current, expected);
    previous = current;
  }
});

test("daysFromCivil() knows the landmarks", () => {
  assert.equal(daysFromCivil(1970, 1, 1), 0);
  assert.equal(daysFromCivil(1969, 12, 31), -1);
  assert.equal(daysFromCivil(2000, 3, 1) - daysFromCivil(2000, 2, 28), 2);
  assert.equal(daysFromCivil(1900, 3, 1) - daysFromCivil(1900, 2, 28), 1);
  assert.equal(daysFromCivil(9999, 12, 31), Math.floor(epochMsMax / 86_400_000));
  assert.deepEqual(civilFromDays(0), { year: 1970, month: 1, day: 1 });
  assert.deepEqual(civilFromDays(-719_468), { year: 0, month: 3, day: 1 });
});

test("parseOffsetOrTime() reads generated dates in every format as Date.UTC and Date.parse do", () => {
  const prng = createPrng(20_240_229);
  for (let i = 0; i < 3000; i++) {
    const epochMs = prng.int(2) === 0 ? prng.int(4_102_444_800) * 1000 + prng.int(1000) : Math.floor(prng.float() * epochMsMax);
    const date = new Date(epochMs);
    const secondsMs = epochMs - (epochMs % 1000);
    const compact = date.toISOString().slice(0, 19).replace("T", "_");
    assert.deepEqual(parsed(compact), time(secondsMs), compact);
    assert.deepEqual(parsed(date.toUTCString()), time(Date.parse(date.toUTCString())), date.toUTCString());
    assert.deepEqual(parsed(date.toISOString()), time(Date.parse(date.toISOString())), date.toISOString());
    const fields = compact.split(/[-_:]/).map(Number);
    assert.equal(
      Date.UTC(fields[0] ?? 0, (fields[1] ?? 1) - 1, fields[2] ?? 0, fields[3] ?? 0, fields[4] ?? 0, fields[5] ?? 0),
      secondsMs,
    );
  }
});

// ---------------------------------------------------------------------------------------------------
// Formatting

test("formatRfc1123() and formatCompactUtc() write the documented forms", () => {
  assert.equal(formatRfc1123(sundayNov6th1994Ms), "Sun, 06 Nov 1994 08:49:37 GMT");
  assert.equal(formatCompactUtc(sundayNov6th1994Ms), "1994-11-06_08:49:37");
  assert.equal(formatRfc1123(0), "Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(formatCompactUtc(0), "1970-01-01_00:00:00");
  assert.equal(formatRfc1123(999), "Thu, 01 Jan 1970 00:00:00 GMT");
  assert.equal(formatRfc1123(Date.UTC(2024, 1, 29, 1, 2, 3)), "Thu, 29 Feb 2024 01:02:03 GMT");
  assert.equal(formatRfc1123(epochMsMax), "Fri, 31 Dec 9999 23:59:59 GMT");
  assert.equal(formatCompactUtc(epochMsMax), "9999-12-31_23:59:59");
});

test("the formatters agree with Date on generated times and parse back to the same second", () => {
  const prng = createPrng(7);
  for (let i = 0; i < 3000; i++) {
    const epochMs = Math.floor(prng.float() * epochMsMax);
    const secondsMs = epochMs - (epochMs % 1000);
    const rfc1123 = formatRfc1123(epochMs);
    const compact = formatCompactUtc(epochMs);
    assert.equal(rfc1123, new Date(epochMs).toUTCString());
    assert.equal(compact, new Date(epochMs).toISOString().slice(0, 19).replace("T", "_"));
    assert.deepEqual(parsed(rfc1123), time(secondsMs));
    assert.deepEqual(parsed(compact), time(secondsMs));
  }
});

test("the formatters refuse times outside what they can write, as a programmer error", () => {
  assert.throws(() => formatRfc1123(-1), /Cannot format a time/);
  assert.throws(() => formatCompactUtc(epochMsMax + 1), /Cannot format a time/);
  assert.throws(() => formatCompactUtc(1.5), /Cannot format a time/);
  assert.throws(() => formatRfc1123(Number.NaN), /Cannot format a time/);
});

// ---------------------------------------------------------------------------------------------------
// Rejections

test("parseOffsetOrTime() refuses negative, non-finite and unsafe numbers", () => {
  for (const value of [-1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** 53, 1e21]) {
    assertRejected(value);
  }
  assert.equal(assertRejected(-1), `${rejection}"-1"`);
  assert.equal(assertRejected(Number.NaN), `${rejection}"NaN"`);
});

test("parseOffsetOrTime() refuses strings in no accepted form", () => {
  for (const text of [
    "",
    " ",
    " 42",
    "42 ",
    "-1",
    "+1",
    "-1.5",
    "1e3",
    "0x10",
    "1_000",
    "1,5",
    ".5",
    "5.",
    "NaN",
    "Infinity",
    "9007199254740992",
    "99999999999999999999",
    "offset",
    "1994-11-06 08:49:37",
    "1994-11-06_08:49",
    "94-11-06_08:49:37",
    "1994-1-6_08:49:37",
    "1994-11-06T08:49:37",
    "1994-11-06T08:49:37+01:00",
    "1994-11-06T08:49:37.Z",
    "Sun, 06 Nov 1994 08:49:37",
    "Sun, 06 Nov 1994 08:49:37 CET",
    "Sun, 06 Nov 1994 08:49:37 +0100",
    "Sun 06 Nov 1994 08:49:37 GMT",
    "Sunday, 06-Nov-94 08:49:37 GMT",
    "Sun Nov  6 08:49:37 1994",
    "Sun, 06 November 1994 08:49:37 GMT",
    "Sun, 06 Nov 94 08:49:37 GMT",
    "Sun, 006 Nov 1994 08:49:37 GMT",
  ]) {
    assertRejected(text);
  }
});

test("parseOffsetOrTime() refuses values of other types", () => {
  assert.equal(assertRejected(undefined), `${rejection}"undefined"`);
  assert.equal(assertRejected(null), `${rejection}"null"`);
  assert.equal(assertRejected(true), `${rejection}"true"`);
  assert.equal(assertRejected(42n), `${rejection}"42"`);
  assert.equal(assertRejected([42]), `${rejection}"an array"`);
  assert.equal(assertRejected({ offset: 42 }), `${rejection}"an object"`);
  assert.equal(assertRejected(() => 42), `${rejection}"a function"`);
  assert.equal(assertRejected(Symbol("x")), `${rejection}"Symbol(x)"`);
});

test("parseOffsetOrTime() refuses strings over the length bound and quotes only a prefix of them", () => {
  const padded = "0".repeat(offsetOrTimeLengthMax - 2) + "42";
  assert.deepEqual(parsed(padded), { kind: "offset", offset: 42 });
  const tooLong = "0" + padded;
  assert.equal(assertRejected(tooLong), `${rejection}"${tooLong.slice(0, offsetOrTimeLengthMax)}…"`);
  assert.equal(assertRejected("x".repeat(100_000)).length, rejection.length + offsetOrTimeLengthMax + 3);
});

test("parseOffsetOrTime() quotes a rejected string as it was sent", () => {
  assert.equal(assertRejected("yesterday"), `${rejection}"yesterday"`);
  assert.equal(assertRejected('say "hi"'), `${rejection}"say \\"hi\\""`);
});
