import { assert } from "../shared/assert.js";
import { DecodeError } from "./errors.js";

/**
 * Big-endian primitives shared by the message codec and the handshake. Numbers that may grow past
 * 2^32 (indexes, terms, byte counts) travel as u64 split into two u32 halves; they are safe integers
 * in JavaScript, so a decoded value above 2^53 - 1 is rejected rather than rounded.
 */

const twoPow32 = 0x1_0000_0000;
/** The high half of Number.MAX_SAFE_INTEGER (2^53 - 1). */
const safeHighMax = 0x1f_ffff;

/** Writes into a buffer whose exact size the caller computed; `finish()` checks that size was right. */
export class Writer {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(sizeBytes: number) {
    this.bytes = new Uint8Array(sizeBytes);
    this.view = new DataView(this.bytes.buffer);
  }

  u8(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, `Cannot encode ${value} as u8`);
    this.view.setUint8(this.offset, value);
    this.offset += 1;
  }

  u16(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff, `Cannot encode ${value} as u16`);
    this.view.setUint16(this.offset, value);
    this.offset += 2;
  }

  u32(value: number): void {
    assert(Number.isInteger(value) && value >= 0 && value < twoPow32, `Cannot encode ${value} as u32`);
    this.view.setUint32(this.offset, value);
    this.offset += 4;
  }

  u64(value: number): void {
    assert(Number.isSafeInteger(value) && value >= 0, `Cannot encode ${value} as u64: it must be a non-negative safe integer`);
    this.view.setUint32(this.offset, Math.floor(value / twoPow32));
    this.view.setUint32(this.offset + 4, value % twoPow32);
    this.offset += 8;
  }

  bool(value: boolean): void {
    this.u8(value ? 1 : 0);
  }

  raw(value: Uint8Array): void {
    this.bytes.set(value, this.offset);
    this.offset += value.byteLength;
  }

  /** Length-prefixed (u32) raw bytes. */
  blob(value: Uint8Array): void {
    this.u32(value.byteLength);
    this.raw(value);
  }

  finish(): Uint8Array {
    assert(this.offset === this.bytes.byteLength, `Encoded ${this.offset} bytes into a buffer sized ${this.bytes.byteLength}`);
    return this.bytes;
  }
}

/** Reads with a bounds check on every field; any shortfall is a `DecodeError`, never a RangeError. */
export class Reader {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private offset = 0;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  remainingBytes(): number {
    return this.bytes.byteLength - this.offset;
  }

  private need(sizeBytes: number, what: string): void {
    if (this.remainingBytes() < sizeBytes) {
      throw new DecodeError(
        "truncated",
        `Cannot read ${what} at byte ${this.offset}: ${sizeBytes} bytes needed, ${this.remainingBytes()} left`,
      );
    }
  }

  u8(what: string): number {
    this.need(1, what);
    const value = this.view.getUint8(this.offset);
    this.offset += 1;
    return value;
  }

  u16(what: string): number {
    this.need(2, what);
    const value = this.view.getUint16(this.offset);
    this.offset += 2;
    return value;
  }

  u32(what: string): number {
    this.need(4, what);
    const value = this.view.getUint32(this.offset);
    this.offset += 4;
    return value;
  }

  u64(what: string): number {
    this.need(8, what);
    const high = this.view.getUint32(this.offset);
    const low = this.view.getUint32(this.offset + 4);
    if (high > safeHighMax) {
      throw new DecodeError("outOfRange", `Cannot read ${what} at byte ${this.offset}: it exceeds 2^53 - 1`);
    }
    this.offset += 8;
    return high * twoPow32 + low;
  }

  bool(what: string): boolean {
    const at = this.offset;
    const value = this.u8(what);
    if (value > 1) throw new DecodeError("invalidBoolean", `Cannot read ${what} at byte ${at}: boolean byte is ${value}`);
    return value === 1;
  }

  /**
   * A view of the next `sizeBytes` bytes, not a copy: the caller owns the input and must not
   * overwrite it while the decoded value is alive.
   */
  raw(sizeBytes: number, what: string): Uint8Array {
    this.need(sizeBytes, what);
    const value = this.bytes.subarray(this.offset, this.offset + sizeBytes);
    this.offset += sizeBytes;
    return value;
  }

  /** Length-prefixed (u32) raw bytes, zero-copy as `raw`. */
  blob(what: string): Uint8Array {
    const sizeBytes = this.u32(`${what} length`);
    return this.raw(sizeBytes, what);
  }

  /** Rejects trailing bytes: a message that decodes with bytes to spare was not written by our encoder. */
  end(what: string): void {
    if (this.remainingBytes() !== 0) {
      throw new DecodeError("trailingBytes", `Cannot decode ${what}: ${this.remainingBytes()} bytes after its end`);
    }
  }
}
