import assert from "node:assert/strict";
import { test } from "node:test";
import { encodeEntryFrame, frameBytesMin, frameSizeBytes, readEntryFrame } from "./entryFrame.js";
import { testEntry } from "./storageTesting.js";

test("an entry frame reads back as the entry it encodes", () => {
  for (const entry of [testEntry(1, 1, 0), testEntry(5, 3, 100), { ...testEntry(2 ** 40, 2 ** 33, 3), type: "membership" as const }]) {
    const bytes = Buffer.alloc(frameSizeBytes(entry));
    assert.equal(encodeEntryFrame(entry, bytes, 0), bytes.length);
    const frame = readEntryFrame(bytes, 0, 1024);
    assert.equal(frame.kind, "entry");
    assert.deepEqual(frame.kind === "entry" && frame.entry, entry);
  }
});

test("a frame with any byte changed or cut short does not read as an entry", () => {
  const entry = testEntry(7, 2, 20);
  const bytes = Buffer.alloc(frameSizeBytes(entry));
  encodeEntryFrame(entry, bytes, 0);
  for (let i = 0; i < bytes.length; i++) {
    const changed = Buffer.from(bytes);
    changed[i] = (changed[i] ?? 0) ^ 0x40;
    assert.equal(readEntryFrame(changed, 0, 1024).kind, "bad", `byte ${i} flipped`);
  }
  for (let length = 0; length < bytes.length; length++) {
    assert.equal(readEntryFrame(bytes.subarray(0, length), 0, 1024).kind, "bad", `cut to ${length}`);
  }
});

test("a frame whose length exceeds the entry bound is refused before its CRC is read", () => {
  const entry = testEntry(1, 1, 64);
  const bytes = Buffer.alloc(frameSizeBytes(entry));
  encodeEntryFrame(entry, bytes, 0);
  const frame = readEntryFrame(bytes, 0, 63);
  assert.deepEqual(frame, { kind: "bad", reason: `bad length ${frameBytesMin - 8 + 64}` });
});
