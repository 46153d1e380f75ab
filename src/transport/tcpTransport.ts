import type { Server, Socket } from "node:net";
import type { Message, NodeId } from "../raft/types.js";
import { assert } from "../shared/assert.js";
import { limits } from "../shared/limits.js";
import { decodeMessage, encodeMessage } from "./codec.js";
import { DecodeError } from "./errors.js";
import { encodeFrame, FrameDecoder, frameHeaderBytes, writeFrameHeader } from "./framing.js";
import { decodeHandshake, encodeHandshake } from "./handshake.js";
import { SendQueue } from "./sendQueue.js";
import { tcpSocketFactory, type PeerAddress, type SocketFactory } from "./socketFactory.js";
import {
  countDrop,
  emptyCounters,
  silentLog,
  type DropReason,
  type MutableCounters,
  type Transport,
  type TransportCounters,
  type TransportHandlers,
  type TransportLog,
} from "./transport.js";

export type TransportLimits = { readonly [K in keyof typeof limits.transport]: number };

export interface TcpTransportOptions extends TransportHandlers {
  readonly selfId: NodeId;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyMap<NodeId, PeerAddress>;
  /** Must match on both ends of a connection; keeps two clusters on one network apart. */
  readonly clusterId?: string;
  readonly log?: TransportLog;
  /** Overrides of `limits.transport` (tests shrink queues and delays). */
  readonly limits?: Partial<TransportLimits>;
  /** A float in [0, 1) for reconnect jitter; injectable so tests can pin it. */
  readonly random?: () => number;
  /** Milliseconds from any fixed origin; only differences are used. */
  readonly nowMs?: () => number;
  readonly socketFactory?: SocketFactory;
}

type OutboundState = "idle" | "connecting" | "open" | "backoff";

/** The one connection this node keeps to a peer; it carries messages to the peer only. */
interface Outbound {
  readonly id: NodeId;
  address: PeerAddress;
  state: OutboundState;
  socket: Socket | undefined;
  readonly queue: SendQueue;
  /** Failed attempts since the last connection that stayed up; drives the back-off. */
  attempts: number;
  /** Whether a connection was ever attempted: every later attempt is a reconnect. */
  attempted: boolean;
  openedAtMs: number;
  lastError: Error | undefined;
  timer: NodeJS.Timeout | undefined;
  flush: NodeJS.Immediate | undefined;
}

/** A connection a peer opened to us; it carries messages from that peer only. */
interface Inbound {
  readonly socket: Socket;
  readonly decoder: FrameDecoder;
  /** Set once the handshake is accepted. */
  peerId: NodeId | undefined;
  handshakeTimer: NodeJS.Timeout | undefined;
  rejected: boolean;
}

type Lifecycle = "new" | "starting" | "running" | "stopped";

/**
 * Raft messages between controllers over TCP (DESIGN §5).
 *
 * Each node opens one connection to each peer it sends to, lazily on the first `send()`, and keeps it,
 * reconnecting with capped exponential back-off and jitter. Its peers do the same the other way, so a pair
 * of nodes shares two connections, each one-way: no tie-breaking of simultaneous connects is needed and
 * each direction keeps its own order. A connection starts with a handshake frame (see `handshake.ts`),
 * then carries `[u32 length][message]` frames (see `framing.ts`, `codec.ts`).
 *
 * Bad input — garbage, a bad handshake, an oversize or truncated frame, a message claiming another
 * sender — closes that connection only, is logged and counted, and never throws out of an event handler.
 */
export class TcpTransport implements Transport {
  private readonly options: TcpTransportOptions;
  private readonly limits: TransportLimits;
  private readonly log: TransportLog;
  private readonly random: () => number;
  private readonly nowMs: () => number;
  private readonly socketFactory: SocketFactory;
  private readonly clusterId: string;
  private readonly peers: Map<NodeId, PeerAddress>;
  private readonly outbound = new Map<NodeId, Outbound>();
  private readonly inbound = new Set<Inbound>();
  private readonly inboundByPeer = new Map<NodeId, Inbound>();
  /** Open connections (both directions) per peer; the owner hears of transitions to and from zero. */
  private readonly liveConnectionCount = new Map<NodeId, number>();
  private pendingHandshakeCount = 0;
  private readonly counts: MutableCounters = emptyCounters();
  private server: Server | undefined;
  private lifecycle: Lifecycle = "new";
  private boundAddress: PeerAddress | undefined;

  constructor(options: TcpTransportOptions) {
    assert(Number.isInteger(options.selfId) && options.selfId > 0, `Invalid selfId ${options.selfId}`);
    this.options = options;
    this.limits = { ...limits.transport, ...options.limits };
    this.log = options.log ?? silentLog;
    this.random = options.random ?? Math.random;
    this.nowMs = options.nowMs ?? (() => performance.now());
    this.socketFactory = options.socketFactory ?? tcpSocketFactory;
    this.clusterId = options.clusterId ?? "";
    this.peers = new Map(options.peers);
    assert(!this.peers.has(options.selfId), `Peers must not include this node (${options.selfId})`);
    assert(this.limits.frameSizeBytesMax <= this.limits.sendQueueBytesMax, "A frame must fit in a send queue");
    assert(this.limits.reconnectDelayMsMin > 0 && this.limits.reconnectDelayMsMin <= this.limits.reconnectDelayMsMax, "Invalid reconnect delays");
    // Fails at construction rather than at the first connection if the cluster id is too long.
    encodeHandshake({ senderId: options.selfId, receiverId: options.selfId, clusterId: this.clusterId }, this.limits.clusterIdBytesMax);
  }

  async start(): Promise<void> {
    assert(this.lifecycle === "new", `Cannot start a transport that is ${this.lifecycle}`);
    this.lifecycle = "starting";
    let server: Server;
    try {
      server = await this.socketFactory.listen(this.options.listen, (socket) => this.accept(socket));
    } catch (error) {
      this.lifecycle = "stopped";
      throw error;
    }
    server.on("error", (error) => this.log.warn({ error: error.message }, "transport server error"));
    this.server = server;
    const address = server.address();
    assert(address !== null && typeof address === "object", "A TCP server has an address once listening");
    this.boundAddress = { host: address.address, port: address.port };
    if (this.lifecycle !== "starting") {
      // stop() ran while we were binding.
      await closeServer(server);
      return;
    }
    this.lifecycle = "running";
    this.log.info({ selfId: this.options.selfId, address: this.boundAddress }, "transport listening");
  }

  /** The address the server is bound to (with the real port when `listen.port` was 0). */
  address(): PeerAddress {
    assert(this.boundAddress !== undefined, "The transport has no address before start() resolves");
    return this.boundAddress;
  }

  async stop(): Promise<void> {
    if (this.lifecycle === "stopped") return;
    this.lifecycle = "stopped";
    const closing: Promise<void>[] = [];
    for (const peer of this.outbound.values()) {
      this.clearTimers(peer);
      countDrop(this.counts, "Unreachable", peer.queue.clear());
      if (peer.socket !== undefined) closing.push(destroySocket(peer.socket));
    }
    for (const connection of this.inbound) {
      if (connection.handshakeTimer !== undefined) clearTimeout(connection.handshakeTimer);
      closing.push(destroySocket(connection.socket));
    }
    if (this.server !== undefined) closing.push(closeServer(this.server));
    await Promise.all(closing);
    this.log.info({ selfId: this.options.selfId }, "transport stopped");
  }

  send(m: Message): void {
    if (this.lifecycle !== "running") return this.drop("Unsendable");
    const address = this.peers.get(m.to);
    if (address === undefined || m.to === this.options.selfId) return this.drop("UnknownPeer");
    let payload: Uint8Array;
    try {
      payload = encodeMessage(m);
    } catch (error) {
      // Only a malformed message from the caller gets here; send() promises never to throw.
      this.log.warn({ to: m.to, type: m.type, error: String(error) }, "cannot encode message");
      return this.drop("Unsendable");
    }
    if (payload.byteLength > this.limits.frameSizeBytesMax) {
      this.log.warn({ to: m.to, type: m.type, sizeBytes: payload.byteLength }, "message over the frame size bound");
      return this.drop("Unsendable");
    }
    const peer = this.outboundFor(m.to, address);
    const droppedCount = peer.queue.push(payload);
    if (droppedCount > 0) countDrop(this.counts, "QueueFull", droppedCount);
    if (peer.state === "idle") this.connect(peer);
    else if (peer.state === "open") this.scheduleFlush(peer);
  }

  /** Adds a peer or moves it: a connection to an old address is closed and reopened at the new one. */
  setPeer(id: NodeId, address: PeerAddress): void {
    assert(id !== this.options.selfId, "A node is not its own peer");
    this.peers.set(id, address);
    const peer = this.outbound.get(id);
    if (peer === undefined || (peer.address.host === address.host && peer.address.port === address.port)) return;
    peer.address = address;
    peer.attempts = 0;
    if (peer.socket !== undefined) peer.socket.destroy();
  }

  /** Forgets a peer (it left the cluster): its connections close and its queue is dropped. */
  removePeer(id: NodeId): void {
    this.peers.delete(id);
    const peer = this.outbound.get(id);
    if (peer !== undefined) {
      this.outbound.delete(id);
      this.clearTimers(peer);
      countDrop(this.counts, "Unreachable", peer.queue.clear());
      peer.socket?.destroy();
    }
    this.inboundByPeer.get(id)?.socket.destroy();
  }

  counters(): TransportCounters {
    return { ...this.counts };
  }

  // ── outbound ────────────────────────────────────────────────────────────────────────────────────

  private outboundFor(id: NodeId, address: PeerAddress): Outbound {
    let peer = this.outbound.get(id);
    if (peer === undefined) {
      peer = {
        id,
        address,
        state: "idle",
        socket: undefined,
        queue: new SendQueue(this.limits.sendQueueCountMax, this.limits.sendQueueBytesMax),
        attempts: 0,
        attempted: false,
        openedAtMs: 0,
        lastError: undefined,
        timer: undefined,
        flush: undefined,
      };
      this.outbound.set(id, peer);
    }
    return peer;
  }

  private connect(peer: Outbound): void {
    assert(peer.socket === undefined, `Peer ${peer.id} already has a socket`);
    if (peer.attempted) this.counts.reconnects++;
    peer.attempted = true;
    peer.state = "connecting";
    peer.lastError = undefined;
    const socket = this.socketFactory.connect(peer.address, () => this.onOutboundOpen(peer, socket));
    peer.socket = socket;
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      socket.destroy(new Error(`connect timed out after ${this.limits.connectTimeoutMs} ms`));
    }, this.limits.connectTimeoutMs);
    socket.on("error", (error) => {
      peer.lastError = error;
    });
    // The receiver never writes on this connection; anything it sends is a protocol violation.
    socket.on("data", () => socket.destroy(new Error("peer wrote on a one-way connection")));
    socket.on("drain", () => this.scheduleFlush(peer));
    socket.on("close", () => this.onOutboundClose(peer, socket));
  }

  private onOutboundOpen(peer: Outbound, socket: Socket): void {
    if (peer.socket !== socket || this.lifecycle !== "running") return;
    if (peer.timer !== undefined) clearTimeout(peer.timer);
    peer.timer = undefined;
    peer.state = "open";
    peer.openedAtMs = this.nowMs();
    this.log.info({ peer: peer.id, address: peer.address }, "connected to peer");
    const handshake = encodeHandshake(
      { senderId: this.options.selfId, receiverId: peer.id, clusterId: this.clusterId },
      this.limits.clusterIdBytesMax,
    );
    socket.write(encodeFrame(handshake));
    this.connectionUp(peer.id);
    this.flush(peer);
  }

  private onOutboundClose(peer: Outbound, socket: Socket): void {
    if (peer.socket !== socket) return;
    peer.socket = undefined;
    const wasOpen = peer.state === "open";
    this.clearTimers(peer);
    // Queued messages would be stale by the time a new connection is up; Raft resends what still matters.
    countDrop(this.counts, "Unreachable", peer.queue.clear());
    if (wasOpen) {
      // A connection that stayed up a while was healthy: start the back-off afresh. One that closes at
      // once (a refused handshake) keeps growing it, so a misconfigured peer is not hammered.
      const livedMs = this.nowMs() - peer.openedAtMs;
      peer.attempts = livedMs >= this.limits.reconnectDelayMsMax ? 1 : peer.attempts + 1;
      this.log.warn({ peer: peer.id, error: peer.lastError?.message }, "connection to peer closed");
      this.connectionDown(peer.id);
    } else {
      peer.attempts++;
      // Only the first failure of a streak is logged: a peer that is down would otherwise log every second.
      if (peer.attempts === 1) this.log.info({ peer: peer.id, error: peer.lastError?.message }, "cannot connect to peer");
    }
    if (this.lifecycle !== "running" || this.outbound.get(peer.id) !== peer) {
      peer.state = "idle";
      return;
    }
    peer.state = "backoff";
    const delayMs = reconnectDelayMs(peer.attempts, this.random(), this.limits.reconnectDelayMsMin, this.limits.reconnectDelayMsMax);
    peer.timer = setTimeout(() => {
      peer.timer = undefined;
      if (this.lifecycle === "running" && this.outbound.get(peer.id) === peer) this.connect(peer);
    }, delayMs);
  }

  /** Coalesces every message queued during this turn of the event loop into one write. */
  private scheduleFlush(peer: Outbound): void {
    if (peer.flush !== undefined || peer.state !== "open") return;
    peer.flush = setImmediate(() => {
      peer.flush = undefined;
      this.flush(peer);
    });
  }

  private flush(peer: Outbound): void {
    const socket = peer.socket;
    if (socket === undefined || peer.state !== "open" || this.lifecycle !== "running") return;
    // While the kernel buffer is full, messages wait in the bounded queue (where the oldest may be
    // dropped) rather than pile up unbounded in the socket; 'drain' schedules the next flush.
    if (socket.writableNeedDrain) return;
    const batch = peer.queue.takeBatch(this.limits.writeBatchBytesMax);
    if (batch.length === 0) return;
    let sizeBytes = 0;
    for (const payload of batch) sizeBytes += frameHeaderBytes + payload.byteLength;
    const buffer = new Uint8Array(sizeBytes);
    let offset = 0;
    for (const payload of batch) {
      writeFrameHeader(buffer, offset, payload.byteLength);
      buffer.set(payload, offset + frameHeaderBytes);
      offset += frameHeaderBytes + payload.byteLength;
    }
    assert(offset === sizeBytes, "Batch size mismatch");
    socket.write(buffer);
    this.counts.messagesSent += batch.length;
    if (peer.queue.count > 0) this.scheduleFlush(peer);
  }

  private clearTimers(peer: Outbound): void {
    if (peer.timer !== undefined) clearTimeout(peer.timer);
    if (peer.flush !== undefined) clearImmediate(peer.flush);
    peer.timer = undefined;
    peer.flush = undefined;
  }

  // ── inbound ─────────────────────────────────────────────────────────────────────────────────────

  private accept(socket: Socket): void {
    socket.on("error", () => {}); // 'close' follows and reports; an unhandled 'error' would crash the process.
    if (this.lifecycle !== "running") {
      socket.destroy();
      return;
    }
    if (this.pendingHandshakeCount >= this.limits.inboundPendingCountMax) {
      this.counts.connectionsRejected++;
      this.log.warn({ remote: remoteOf(socket) }, "too many connections awaiting a handshake; refusing one");
      socket.destroy();
      return;
    }
    this.pendingHandshakeCount++;
    const connection: Inbound = {
      socket,
      // Until the handshake is in, only a handshake-sized frame is buffered from an unknown sender.
      decoder: new FrameDecoder(this.limits.handshakeBytesMax),
      peerId: undefined,
      handshakeTimer: undefined,
      rejected: false,
    };
    connection.handshakeTimer = setTimeout(() => {
      connection.handshakeTimer = undefined;
      this.reject(connection, new DecodeError("badHandshake", `No handshake within ${this.limits.handshakeTimeoutMs} ms`));
    }, this.limits.handshakeTimeoutMs);
    this.inbound.add(connection);
    socket.on("data", (chunk: Buffer) => this.onInboundData(connection, chunk));
    socket.on("end", () => this.onInboundEnd(connection));
    socket.on("close", () => this.onInboundClose(connection));
  }

  private onInboundData(connection: Inbound, chunk: Buffer): void {
    // A plain Uint8Array view (no copy): decoded entry data then is a Uint8Array, not a Buffer.
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    try {
      connection.decoder.push(bytes);
    } catch (error) {
      return this.rejectOrRethrow(connection, error);
    }
    while (!connection.rejected && this.lifecycle === "running") {
      let message: Message;
      try {
        const payload = connection.decoder.next();
        if (payload === undefined) return;
        if (connection.peerId === undefined) {
          this.acceptHandshake(connection, payload);
          continue;
        }
        message = decodeMessage(payload);
        if (message.from !== connection.peerId || message.to !== this.options.selfId) {
          throw new DecodeError(
            "badHandshake",
            `Message from ${message.from} to ${message.to} on the connection of peer ${connection.peerId} to ${this.options.selfId}`,
          );
        }
      } catch (error) {
        return this.rejectOrRethrow(connection, error);
      }
      this.counts.messagesReceived++;
      // Outside the try: an exception from the owner is its bug and must not pass for bad input.
      this.options.onMessage(message);
    }
  }

  private acceptHandshake(connection: Inbound, payload: Uint8Array): void {
    const handshake = decodeHandshake(payload);
    const { senderId, receiverId, clusterId } = handshake;
    if (clusterId !== this.clusterId) {
      throw new DecodeError("badHandshake", `Cannot accept peer ${senderId}: cluster id is "${clusterId}", expected "${this.clusterId}"`);
    }
    if (receiverId !== this.options.selfId) {
      throw new DecodeError("badHandshake", `Cannot accept peer ${senderId}: it meant to reach node ${receiverId}, this is ${this.options.selfId}`);
    }
    if (senderId === this.options.selfId || !this.peers.has(senderId)) {
      throw new DecodeError("badHandshake", `Cannot accept node ${senderId}: it is not a peer of node ${this.options.selfId}`);
    }
    if (connection.handshakeTimer !== undefined) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    this.pendingHandshakeCount--;
    connection.peerId = senderId;
    connection.decoder.setFrameSizeBytesMax(this.limits.frameSizeBytesMax);
    this.connectionUp(senderId);
    // A peer keeps one connection to us; an older one still open is dead on its side (it restarted).
    const previous = this.inboundByPeer.get(senderId);
    this.inboundByPeer.set(senderId, connection);
    previous?.socket.destroy();
    this.log.info({ peer: senderId, remote: remoteOf(connection.socket) }, "accepted connection from peer");
  }

  private onInboundEnd(connection: Inbound): void {
    try {
      connection.decoder.end();
    } catch (error) {
      this.rejectOrRethrow(connection, error);
    }
  }

  private onInboundClose(connection: Inbound): void {
    this.inbound.delete(connection);
    if (connection.handshakeTimer !== undefined) clearTimeout(connection.handshakeTimer);
    connection.handshakeTimer = undefined;
    const peerId = connection.peerId;
    if (peerId === undefined) {
      this.pendingHandshakeCount--;
      return;
    }
    if (this.inboundByPeer.get(peerId) === connection) this.inboundByPeer.delete(peerId);
    if (!connection.rejected) this.log.info({ peer: peerId }, "connection from peer closed");
    this.connectionDown(peerId);
  }

  private rejectOrRethrow(connection: Inbound, error: unknown): void {
    if (!(error instanceof DecodeError)) throw error;
    this.reject(connection, error);
  }

  private reject(connection: Inbound, error: DecodeError): void {
    if (connection.rejected) return;
    connection.rejected = true;
    this.counts.connectionsRejected++;
    this.log.warn(
      { peer: connection.peerId, remote: remoteOf(connection.socket), code: error.code, error: error.message },
      "closing connection on bad input",
    );
    connection.socket.destroy();
  }

  // ── both directions ─────────────────────────────────────────────────────────────────────────────

  private connectionUp(id: NodeId): void {
    const count = this.liveConnectionCount.get(id) ?? 0;
    this.liveConnectionCount.set(id, count + 1);
    if (count === 0 && this.lifecycle === "running") this.options.onPeerConnected?.(id);
  }

  private connectionDown(id: NodeId): void {
    const count = this.liveConnectionCount.get(id) ?? 0;
    assert(count > 0, `Peer ${id} lost a connection it did not have`);
    if (count > 1) {
      this.liveConnectionCount.set(id, count - 1);
      return;
    }
    this.liveConnectionCount.delete(id);
    if (this.lifecycle === "running") this.options.onPeerDisconnected?.(id);
  }

  private drop(reason: DropReason): void {
    countDrop(this.counts, reason);
  }
}

/**
 * The wait before reconnect attempt number `attempt` (≥ 1): doubling from `delayMsMin`, capped at
 * `delayMsMax`, scaled by a jitter factor in [0.5, 1.5) so peers that lost a node together do not
 * reconnect in lock step; always within [delayMsMin, delayMsMax].
 */
export function reconnectDelayMs(attempt: number, random: number, delayMsMin: number, delayMsMax: number): number {
  assert(Number.isInteger(attempt) && attempt >= 1, `Invalid attempt ${attempt}`);
  const baseMs = Math.min(delayMsMax, delayMsMin * 2 ** Math.min(attempt - 1, 30));
  return Math.min(delayMsMax, Math.max(delayMsMin, baseMs * (0.5 + random)));
}

function remoteOf(socket: Socket): string {
  return `${socket.remoteAddress ?? "?"}:${socket.remotePort ?? "?"}`;
}

function destroySocket(socket: Socket): Promise<void> {
  return new Promise((resolve) => {
    if (socket.closed) return resolve();
    socket.once("close", () => resolve());
    socket.destroy();
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
  });
}
