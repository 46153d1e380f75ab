// A TCP proxy on loopback that forwards to one target and injects network faults on command: cut
// (blackhole or reject), heal, latency per chunk with order kept, and dropping every connection.
import { createConnection, createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { assert, assertNever } from "../shared/assert.js";

export interface ProxyAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * How a cut link behaves.
 *
 * `blackhole` (what a real partition looks like): connections open before the cut stay open but every
 * byte either side sends is read and thrown away; new connections are accepted and then held without
 * ever reaching the target. The dialer learns nothing — no reset, no close — so only Raft's own timeouts
 * (election timeout, check-quorum, read timeouts) can notice, which is the path worth exercising. On
 * heal the held connections are closed: a stream that lost bytes mid-frame cannot carry on, and without
 * the close the dialer would keep writing into a connection it believes is fine.
 *
 * `reject`: connections open before the cut are closed and new ones are accepted and reset at once, as
 * a crashed or firewalled-with-RST peer looks. The listening socket stays bound (rather than closed, which
 * would refuse connections outright) so that no other process can take the port before the heal.
 */
export type CutMode = "blackhole" | "reject";

/** Bounds of one proxy; the defaults are `proxyLimits`. */
export interface ProxyLimits {
  /** Connections open at once through one proxy; more are reset (a controller keeps one per direction). */
  readonly connectionsCountMax: number;
  /**
   * Bytes waiting out their latency in one direction of one connection. Above it the proxy stops reading
   * from the sender (TCP back-pressure) until the backlog is half gone, rather than buffer without bound
   * or drop bytes from the middle of a stream.
   */
  readonly delayedBytesMax: number;
  /** Latency the proxy accepts: a longer one is a mistake in the caller (and would hold buffers for long). */
  readonly latencyMsMax: number;
}

export const proxyLimits: ProxyLimits = {
  connectionsCountMax: 64,
  delayedBytesMax: 4 * 1024 * 1024,
  latencyMsMax: 60_000,
};

export interface FaultProxyOptions {
  readonly target: ProxyAddress;
  /** Where to listen; port 0 (the default) picks a free port. Only loopback is expected. */
  readonly listen?: ProxyAddress;
  readonly limits?: Partial<ProxyLimits>;
}

/** What happened inside a proxy, for tests and progress lines. */
export interface ProxyCounters {
  readonly connectionsAccepted: number;
  /** Connections reset at once: in `reject` mode, or over `connectionsCountMax`. */
  readonly connectionsRejected: number;
  /** Connections accepted while cut in `blackhole` mode (never forwarded). */
  readonly connectionsHeld: number;
  readonly bytesForwarded: number;
  /** Bytes read and thrown away on blackholed connections. */
  readonly bytesDiscarded: number;
  /** The most bytes ever waiting in one direction of one connection. */
  readonly delayedBytesPeak: number;
}

export type ProxyState = { readonly kind: "open" } | { readonly kind: "cut"; readonly mode: CutMode };

/** One accepted connection and, unless it is held, its leg to the target. */
interface Link {
  readonly client: Socket;
  readonly upstream: Socket | undefined;
  /** Set when the link was cut in blackhole mode: everything read is discarded until it closes. */
  blackholed: boolean;
  readonly lines: DelayLine[];
}

/**
 * Forwards every connection made to it to `target`, one upstream connection per accepted one, bytes in
 * both directions. Faults change at run time and apply to the connections already open as well as to new
 * ones. Every buffer is bounded (`ProxyLimits`). A `FaultProxy` has a lifecycle: `start()`, then
 * `close()`, which destroys every connection.
 */
export class FaultProxy {
  private readonly limits: ProxyLimits;
  private readonly links = new Set<Link>();
  private server: Server | undefined;
  private boundAddress: ProxyAddress | undefined;
  private state: ProxyState = { kind: "open" };
  private latencyMs = 0;
  private closed = false;
  private readonly discardWaiters: (() => void)[] = [];
  private readonly counts = { connectionsAccepted: 0, connectionsRejected: 0, connectionsHeld: 0, bytesForwarded: 0, bytesDiscarded: 0, delayedBytesPeak: 0 };

  constructor(private readonly options: FaultProxyOptions) {
    this.limits = { ...proxyLimits, ...options.limits };
    assert(this.limits.delayedBytesMax >= 1 && this.limits.connectionsCountMax >= 1, "proxy limits must be positive");
  }

  async start(): Promise<ProxyAddress> {
    assert(this.server === undefined && !this.closed, "a proxy starts once");
    const listen = this.options.listen ?? { host: "127.0.0.1", port: 0 };
    const server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: listen.host, port: listen.port }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", () => {}); // after listening, a server error concerns one accept only
    this.server = server;
    const address = server.address();
    assert(address !== null && typeof address === "object", "a listening TCP server has an address");
    this.boundAddress = { host: address.address, port: address.port };
    return this.boundAddress;
  }

  address(): ProxyAddress {
    assert(this.boundAddress !== undefined, "a proxy has an address once started");
    return this.boundAddress;
  }

  get target(): ProxyAddress {
    return this.options.target;
  }

  current(): ProxyState {
    return this.state;
  }

  get latency(): number {
    return this.latencyMs;
  }

  counters(): ProxyCounters {
    return { ...this.counts };
  }

  /** Connections open through the proxy right now (held ones included). */
  get connectionsCount(): number {
    return this.links.size;
  }

  /** Cuts the link (see `CutMode`); cutting a cut link again changes only its mode for new connections. */
  cut(mode: CutMode = "blackhole"): void {
    this.state = { kind: "cut", mode };
    for (const link of [...this.links]) {
      switch (mode) {
        case "blackhole":
          this.blackhole(link);
          break;
        case "reject":
          this.destroy(link);
          break;
        default:
          assertNever(mode, "cut mode");
      }
    }
  }

  /** Forwards again. Held (blackholed) connections are closed so that their dialers reconnect. */
  heal(): void {
    this.state = { kind: "open" };
    for (const link of [...this.links]) if (link.blackholed) this.destroy(link);
  }

  /** Delays every chunk by `latencyMs` from now on (0 for none); chunks already waiting keep their time. */
  setLatency(latencyMs: number): void {
    assert(Number.isInteger(latencyMs) && latencyMs >= 0 && latencyMs <= this.limits.latencyMsMax, `latency must be an integer in [0, ${this.limits.latencyMsMax}] ms, got ${latencyMs}`);
    this.latencyMs = latencyMs;
  }

  /** Closes every connection open now; new ones are handled as the proxy's state says. */
  dropConnections(): void {
    for (const link of [...this.links]) this.destroy(link);
  }

  /** Resolves the next time the proxy throws bytes away on a blackholed connection (for tests). */
  nextDiscard(): Promise<void> {
    return new Promise((resolve) => this.discardWaiters.push(resolve));
  }

  /** Stops listening and destroys every connection. Safe to call twice. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropConnections();
    const server = this.server;
    if (server !== undefined && server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    client.on("error", () => {}); // 'close' follows; the link is torn down there
    if (this.closed || this.links.size >= this.limits.connectionsCountMax) return this.reject(client);
    client.setNoDelay(true);
    this.counts.connectionsAccepted++;
    const state = this.state;
    if (state.kind === "cut") {
      switch (state.mode) {
        case "reject":
          return this.reject(client);
        case "blackhole": {
          this.counts.connectionsHeld++;
          const link: Link = { client, upstream: undefined, blackholed: false, lines: [] };
          this.links.add(link);
          this.blackhole(link);
          client.on("close", () => this.destroy(link));
          return;
        }
        default:
          return assertNever(state.mode, "cut mode");
      }
    }
    // Nothing is read from the client until the target answers, so nothing needs buffering meanwhile.
    client.pause();
    const upstream = createConnection({ host: this.options.target.host, port: this.options.target.port, noDelay: true });
    upstream.on("error", () => {});
    const link: Link = { client, upstream, blackholed: false, lines: [] };
    this.links.add(link);
    link.lines.push(this.pipe(link, client, upstream), this.pipe(link, upstream, client));
    upstream.once("connect", () => {
      if (!link.blackholed && this.links.has(link)) client.resume();
    });
    client.on("close", () => this.destroy(link));
    upstream.on("close", () => this.destroy(link));
  }

  /** Forwards `from` → `to` through a delay line; data read after a blackhole is discarded instead. */
  private pipe(link: Link, from: Socket, to: Socket): DelayLine {
    const line = new DelayLine(from, to, this.limits.delayedBytesMax, (bytes) => {
      this.counts.bytesForwarded += bytes;
    });
    from.on("data", (chunk: Buffer) => {
      if (link.blackholed) return this.discard(chunk.byteLength);
      line.push(chunk, this.latencyMs);
      this.counts.delayedBytesPeak = Math.max(this.counts.delayedBytesPeak, line.delayedBytes);
    });
    return line;
  }

  private blackhole(link: Link): void {
    if (link.blackholed) return;
    link.blackholed = true;
    for (const line of link.lines) line.clear();
    // Keep reading (and discarding) so the dialer's writes succeed as they would into a lossy network.
    link.client.removeAllListeners("data");
    link.upstream?.removeAllListeners("data");
    link.client.on("data", (chunk: Buffer) => this.discard(chunk.byteLength));
    link.upstream?.on("data", (chunk: Buffer) => this.discard(chunk.byteLength));
    link.client.resume();
    link.upstream?.resume();
  }

  private discard(bytes: number): void {
    this.counts.bytesDiscarded += bytes;
    for (const resolve of this.discardWaiters.splice(0)) resolve();
  }

  private reject(client: Socket): void {
    this.counts.connectionsRejected++;
    client.resetAndDestroy();
  }

  private destroy(link: Link): void {
    if (!this.links.delete(link)) return;
    for (const line of link.lines) line.clear();
    link.client.destroy();
    link.upstream?.destroy();
  }
}

/**
 * One direction of one connection: chunks wait until `latencyMs` after they arrived (never before an
 * earlier chunk, so order holds even when the latency drops), then are written to `to`. Reading from
 * `from` pauses while more than `delayedBytesMax` wait or while `to` needs to drain.
 */
class DelayLine {
  private readonly queue: { readonly dueMs: number; readonly chunk: Buffer }[] = [];
  private queuedBytes = 0;
  private lastDueMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private draining = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly delayedBytesMax: number,
    private readonly onForwarded: (bytes: number) => void,
  ) {
    to.on("drain", () => {
      this.draining = false;
      this.release();
    });
  }

  get delayedBytes(): number {
    return this.queuedBytes;
  }

  push(chunk: Buffer, latencyMs: number): void {
    if (latencyMs === 0 && this.queue.length === 0 && !this.draining) return this.write(chunk);
    const dueMs = Math.max(performance.now() + latencyMs, this.lastDueMs);
    this.lastDueMs = dueMs;
    this.queue.push({ dueMs, chunk });
    this.queuedBytes += chunk.byteLength;
    if (this.queuedBytes > this.delayedBytesMax) this.from.pause();
    this.schedule();
  }

  clear(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private schedule(): void {
    const head = this.queue[0];
    if (head === undefined || this.timer !== undefined || this.draining) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.release();
    }, Math.max(0, head.dueMs - performance.now()));
  }

  /** Writes every chunk that is due, stopping when `to` needs to drain. */
  private release(): void {
    const nowMs = performance.now();
    for (let head = this.queue[0]; head !== undefined && head.dueMs <= nowMs && !this.draining; head = this.queue[0]) {
      this.queue.shift();
      this.queuedBytes -= head.chunk.byteLength;
      this.write(head.chunk);
    }
    if (this.queuedBytes <= this.delayedBytesMax / 2 && this.from.isPaused() && !this.draining) this.from.resume();
    this.schedule();
  }

  private write(chunk: Buffer): void {
    if (this.to.destroyed) return;
    this.onForwarded(chunk.byteLength);
    if (!this.to.write(chunk)) {
      this.draining = true;
      this.from.pause();
    }
  }
}
