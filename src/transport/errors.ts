/**
 * The one error type of everything that reads bytes from a peer. Bad input is an operating condition,
 * not a programmer error: the transport closes that one connection and carries on, so every decoder
 * throws only this, with a stable code, and never reads outside its input.
 */
export type DecodeErrorCode =
  /** The input ends before a field it announces. */
  | "truncated"
  /** Bytes remain after the last field of a message. */
  | "trailingBytes"
  /** The version byte names a codec or protocol version this build does not speak. */
  | "unsupportedVersion"
  /** The type tag (message or entry type) is not one of the known ones. */
  | "unknownType"
  /** A number is outside its range (above 2^53 - 1, a zero id, offsets past the total, …). */
  | "outOfRange"
  /** A boolean byte is neither 0 nor 1. */
  | "invalidBoolean"
  /** Entries of an AppendEntries do not follow `prevLogIndex` one by one. */
  | "invalidEntries"
  /** A membership repeats a member or holds more than the cluster bound. */
  | "invalidMembership"
  /** A frame announces a payload over the size bound; rejected before any of it is buffered. */
  | "frameTooLarge"
  /** The stream ended inside a frame. */
  | "frameTruncated"
  /** The first frame of a connection is not a valid handshake for this node and cluster. */
  | "badHandshake";

export class DecodeError extends Error {
  override readonly name = "DecodeError";
  readonly code: DecodeErrorCode;

  constructor(code: DecodeErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
