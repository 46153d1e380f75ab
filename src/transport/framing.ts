import { assert } from "../shared/assert.js";
import { DecodeError } from "./errors.js";

/**
 * Frames on a byte stream: `[u32 big-endian payload length][payload]`. The length comes first so a
 * receiver can refuse an oversize frame from four bytes, before buffering any of it.
 */
export const frameHeaderBytes = 4;

/** Writes the length prefix of a `payloadSizeBytes` payload at `offset` of `target`. */
export function writeFrameHeader(target: Uint8Array, offset: number, payloadSizeBytes: number): void {
  assert(Number.isInteger(payloadSizeBytes) && payloadSizeBytes >= 0 && payloadSizeBytes <= 0xffff_ffff, `Cannot frame ${payloadSizeBytes} bytes`);
  new DataView(target.buffer, target.byteOffset, target.byteLength).setUint32(offset, payloadSizeBytes);
}

/** One frame as a fresh buffer (header and payload); the transport batches frames itself. */
export function encodeFrame(payload: Uint8Array): Uint8Array {
  const frame = new Uint8Array(frameHeaderBytes + payload.byteLength);
  writeFrameHeader(frame, 0, payload.byteLength);
  frame.set(payload, frameHeaderBytes);
  return frame;
}

/**
 * Reassembles frames from chunks split at arbitrary boundaries.
 *
 * Contract: `push()` buffers a chunk; `next()` returns completed payloads in order and throws `DecodeError`
 * ("frameTooLarge") as soon as it reads a length over `frameSizeBytesMax`, before waiting for any of that
 * payload; after a throw the decoder is unusable (the connection is closed). Pushing one chunk and
 * draining `next()` keeps what is buffered to one header, one payload within the bound and one chunk.
 * A returned payload is either a view into a pushed chunk or a
 * fresh copy; the decoder never writes to either afterwards, so payloads may be decoded without copying
 * as long as the caller does not reuse the chunks it pushed. `end()` throws ("frameTruncated") if the
 * stream stopped inside a frame.
 */
export class FrameDecoder {
  private frameSizeBytesMax: number;
  /** Unconsumed chunks, oldest first; the first may be partly consumed (see `headOffset`). */
  private readonly chunks: Uint8Array[] = [];
  private headOffset = 0;
  private bufferedBytes = 0;
  /** Payload length of the frame being assembled, once its header is complete. */
  private pendingPayloadBytes: number | undefined = undefined;
  private failed = false;

  constructor(frameSizeBytesMax: number) {
    this.frameSizeBytesMax = checkedBound(frameSizeBytesMax);
  }

  /** Changes the bound for frames not yet started (a connection allows larger frames after its handshake). */
  setFrameSizeBytesMax(frameSizeBytesMax: number): void {
    this.frameSizeBytesMax = checkedBound(frameSizeBytesMax);
  }

  /** Bytes pushed but not yet returned by `next()`. */
  get bufferedSizeBytes(): number {
    return this.bufferedBytes;
  }

  /** Buffers a chunk; call `next()` until it returns undefined to take the frames it completes. */
  push(chunk: Uint8Array): void {
    assert(!this.failed, "Cannot push into a FrameDecoder after it rejected its input");
    if (chunk.byteLength === 0) return;
    this.chunks.push(chunk);
    this.bufferedBytes += chunk.byteLength;
  }

  /**
   * The next complete payload, or undefined if none is complete yet. Pulling one frame at a time lets
   * the caller change the bound between frames (after a handshake) without a header of the next frame
   * having been judged by the old bound.
   */
  next(): Uint8Array | undefined {
    assert(!this.failed, "Cannot read from a FrameDecoder after it rejected its input");
    if (this.pendingPayloadBytes === undefined) {
      if (this.bufferedBytes < frameHeaderBytes) return undefined;
      const header = this.take(frameHeaderBytes);
      const length = new DataView(header.buffer, header.byteOffset, header.byteLength).getUint32(0);
      if (length > this.frameSizeBytesMax) {
        this.failed = true;
        throw new DecodeError("frameTooLarge", `Cannot accept a frame of ${length} bytes: the limit is ${this.frameSizeBytesMax}`);
      }
      this.pendingPayloadBytes = length;
    }
    if (this.bufferedBytes < this.pendingPayloadBytes) return undefined;
    const payload = this.take(this.pendingPayloadBytes);
    this.pendingPayloadBytes = undefined;
    return payload;
  }

  end(): void {
    if (this.bufferedBytes > 0 || this.pendingPayloadBytes !== undefined) {
      const expected = this.pendingPayloadBytes === undefined ? "a frame header" : `a payload of ${this.pendingPayloadBytes} bytes`;
      throw new DecodeError("frameTruncated", `Stream ended with ${this.bufferedBytes} bytes of ${expected}`);
    }
  }

  /** Removes `sizeBytes` buffered bytes: a view when they sit in one chunk, else one copy. */
  private take(sizeBytes: number): Uint8Array {
    assert(sizeBytes <= this.bufferedBytes, `Cannot take ${sizeBytes} of ${this.bufferedBytes} buffered bytes`);
    this.bufferedBytes -= sizeBytes;
    const head = this.chunks[0];
    if (head !== undefined && head.byteLength - this.headOffset >= sizeBytes) {
      const view = head.subarray(this.headOffset, this.headOffset + sizeBytes);
      this.consumeHead(sizeBytes);
      return view;
    }
    const out = new Uint8Array(sizeBytes);
    let filled = 0;
    let chunksDone = 0;
    // Walks by position and drops finished chunks once at the end: a payload assembled from many small
    // chunks costs linear time, not one array shift per chunk.
    while (filled < sizeBytes) {
      const chunk = this.chunks[chunksDone];
      assert(chunk !== undefined, "Buffered byte count disagrees with the chunks held");
      const n = Math.min(sizeBytes - filled, chunk.byteLength - this.headOffset);
      out.set(chunk.subarray(this.headOffset, this.headOffset + n), filled);
      filled += n;
      this.headOffset += n;
      if (this.headOffset === chunk.byteLength) {
        chunksDone++;
        this.headOffset = 0;
      }
    }
    this.chunks.splice(0, chunksDone);
    return out;
  }

  private consumeHead(sizeBytes: number): void {
    const head = this.chunks[0];
    assert(head !== undefined, "No chunk to consume from");
    this.headOffset += sizeBytes;
    if (this.headOffset === head.byteLength) {
      this.chunks.shift();
      this.headOffset = 0;
    }
  }
}

function checkedBound(frameSizeBytesMax: number): number {
  assert(Number.isInteger(frameSizeBytesMax) && frameSizeBytesMax >= 0 && frameSizeBytesMax <= 0xffff_ffff, `Invalid frame size bound ${frameSizeBytesMax}`);
  return frameSizeBytesMax;
}
