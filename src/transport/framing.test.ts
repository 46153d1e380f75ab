import assert from "node:assert/strict";
import { test } from "node:test";
import { createPrng } from "../shared/prng.js";
import { DecodeError } from "./errors.js";
import { encodeFrame, FrameDecoder } from "./framing.js";

/** Pushes a chunk and drains every payload it completes. */
function pushAll(decoder: FrameDecoder, chunk: Uint8Array): Uint8Array[] {
  decoder.push(chunk);
  const payloads: Uint8Array[] = [];
  for (let payload = decoder.next(); payload !== undefined; payload = decoder.next()) payloads.push(payload);
  return payloads;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

test("FrameDecoder reassembles frames split at arbitrary chunk boundaries", () => {
  const prng = createPrng(11);
  for (let round = 0; round < 200; round++) {
    const payloads = Array.from({ length: 1 + prng.int(8) }, () => Uint8Array.from({ length: prng.int(300) }, () => prng.int(256)));
    const stream = concat(payloads.map(encodeFrame));
    const decoder = new FrameDecoder(1000);
    const received: Uint8Array[] = [];
    for (let offset = 0; offset < stream.length; ) {
      const size = prng.chance(0.3) ? 1 : 1 + prng.int(100);
      received.push(...pushAll(decoder, stream.subarray(offset, offset + size)));
      offset += size;
    }
    decoder.end();
    assert.deepStrictEqual(received, payloads);
  }
});

test("FrameDecoder rejects an oversize length from its header alone", () => {
  const decoder = new FrameDecoder(100);
  const header = new Uint8Array([0, 0, 0, 101]);
  assert.throws(() => pushAll(decoder, header), (e: unknown) => e instanceof DecodeError && e.code === "frameTooLarge");
  // Nothing of the announced payload was waited for or kept.
  assert.equal(decoder.bufferedSizeBytes, 0);
});

test("FrameDecoder accepts a frame of exactly the bound and an empty frame", () => {
  const decoder = new FrameDecoder(100);
  const frames = pushAll(decoder, concat([encodeFrame(new Uint8Array(100)), encodeFrame(new Uint8Array(0))]));
  assert.deepEqual(frames.map((f) => f.length), [100, 0]);
});

test("FrameDecoder reports a stream that ends inside a header or a payload", () => {
  for (const partial of [new Uint8Array([0, 0]), new Uint8Array([0, 0, 0, 5, 1, 2])]) {
    const decoder = new FrameDecoder(100);
    assert.deepEqual(pushAll(decoder, partial), []);
    assert.throws(() => decoder.end(), (e: unknown) => e instanceof DecodeError && e.code === "frameTruncated");
  }
});

test("FrameDecoder returns views of a chunk holding a whole frame", () => {
  const chunk = encodeFrame(new Uint8Array([1, 2, 3]));
  const [payload] = pushAll(new FrameDecoder(100), chunk);
  assert.equal(payload?.buffer, chunk.buffer);
});

test("FrameDecoder.setFrameSizeBytesMax() applies to frames already buffered but not yet read", () => {
  const decoder = new FrameDecoder(4);
  // A small handshake and a large frame arrive in one chunk, as they do on a fast connection.
  decoder.push(concat([encodeFrame(new Uint8Array(4)), encodeFrame(new Uint8Array(10))]));
  assert.equal(decoder.next()?.length, 4);
  decoder.setFrameSizeBytesMax(10);
  assert.equal(decoder.next()?.length, 10);
  assert.equal(decoder.next(), undefined);
});

test("FrameDecoder rejects a buffered frame over a bound it was not raised past", () => {
  const decoder = new FrameDecoder(4);
  decoder.push(concat([encodeFrame(new Uint8Array(4)), encodeFrame(new Uint8Array(10))]));
  assert.equal(decoder.next()?.length, 4);
  assert.throws(() => decoder.next(), (e: unknown) => e instanceof DecodeError && e.code === "frameTooLarge");
});
