import type { NodeId } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { Reader, Writer } from "./binary.js";
import { DecodeError } from "./errors.js";

/**
 * The first frame of every connection, sent by the connecting side:
 *
 *   u32 magic "YAKT" · u8 protocolVersion · u32 senderId · u32 receiverId · u8 clusterId length · clusterId (UTF-8)
 *
 * The receiver id catches a connection that reached the wrong node (a peer moved to another address);
 * the cluster id keeps two clusters on one network apart.
 */
export const handshakeMagic = 0x59_41_4b_54; // "YAKT"
export const protocolVersion = 1;

export interface Handshake {
  readonly senderId: NodeId;
  readonly receiverId: NodeId;
  readonly clusterId: string;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export function encodeHandshake(handshake: Handshake, clusterIdBytesMax: number): Uint8Array {
  const clusterId = utf8Encoder.encode(handshake.clusterId);
  assert(clusterId.byteLength <= Math.min(clusterIdBytesMax, 0xff), `Cluster id is ${clusterId.byteLength} bytes, over ${clusterIdBytesMax}`);
  const writer = new Writer(4 + 1 + 4 + 4 + 1 + clusterId.byteLength);
  writer.u32(handshakeMagic);
  writer.u8(protocolVersion);
  writer.u32(handshake.senderId);
  writer.u32(handshake.receiverId);
  writer.u8(clusterId.byteLength);
  writer.raw(clusterId);
  return writer.finish();
}

/** Throws only `DecodeError`. Checking the ids and cluster against this node is the caller's business. */
export function decodeHandshake(bytes: Uint8Array): Handshake {
  const reader = new Reader(bytes);
  const magic = reader.u32("handshake magic");
  if (magic !== handshakeMagic) {
    throw new DecodeError("badHandshake", `Cannot accept connection: handshake magic is 0x${magic.toString(16)}, expected 0x${handshakeMagic.toString(16)}`);
  }
  const version = reader.u8("protocol version");
  if (version !== protocolVersion) {
    throw new DecodeError("unsupportedVersion", `Cannot accept connection: protocol version is ${version}, expected ${protocolVersion}`);
  }
  const senderId = reader.u32("sender id");
  const receiverId = reader.u32("receiver id");
  const clusterIdBytes = reader.raw(reader.u8("cluster id length"), "cluster id");
  reader.end("handshake");
  let clusterId: string;
  try {
    clusterId = utf8Decoder.decode(clusterIdBytes);
  } catch {
    throw new DecodeError("badHandshake", "Cannot accept connection: cluster id is not valid UTF-8");
  }
  return { senderId, receiverId, clusterId };
}
