import assert from "node:assert/strict";
import { test } from "node:test";
import { formatTable } from "./table.js";

test("formatTable() pads each column to its widest cell, two spaces apart, without trailing spaces", () => {
  const text = formatTable([
    ["NAME", "PARTITIONS", "RF"],
    ["orders", "3", "3"],
    ["a", "12", ""],
  ]);
  assert.equal(text, ["NAME    PARTITIONS  RF", "orders  3           3", "a       12"].join("\n"));
});

test("formatTable() leaves the last column unpadded and handles rows of different lengths", () => {
  assert.equal(formatTable([["ID", "API"], ["1", "http://127.0.0.1:9001"], ["22"]]), ["ID  API", "1   http://127.0.0.1:9001", "22"].join("\n"));
  assert.equal(formatTable([]), "");
});
