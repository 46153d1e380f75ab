// Real controller processes whose every Raft link runs through its own fault proxy: node i dials node j
// through proxy P(i→j), so a partition can be symmetric, asymmetric or one-way. Adds pausing processes
// (SIGSTOP/SIGCONT) to what the e2e harness does, and heals everything on request. Brokers beside them
// reach the controllers and each other through proxies too (one per directed link).
import { readFile, stat } from "node:fs/promises";
import { BrokerProcesses } from "../e2e/brokerProcesses.js";
import type { BrokerProcessOptions } from "../e2e/brokerProcesses.js";
import { Cluster } from "../e2e/harness.js";
import type { ClusterOptions } from "../e2e/harness.js";
import { assert } from "../shared/assert.js";
import { SmallDisk } from "../e2e/smallDisk.js";
import type { FillReport } from "../e2e/smallDisk.js";
import { FaultProxy } from "./faultProxy.js";
import type { CutMode } from "./faultProxy.js";
import type { DirectedLink } from "./nemesis.js";

export type ChaosClusterOptions = Omit<ClusterOptions, "startIds" | "joinIds" | "raftPeerAddress"> & {
  /**
   * Mounts a small disk (a tmpfs) of this size on every controller's data dir before it first starts, so
   * that `fillDisk` can fill it (the disk nemesis). Unset: the data dirs are plain directories.
   */
  readonly diskSizeBytes?: number;
};

function linkKey(from: number, to: number): string {
  return `${from}>${to}`;
}

/** A broker's link: to a controller's API (heartbeats, ISR changes) or to another broker (replication). */
function brokerLinkKey(from: number, to: { readonly controller: number } | { readonly broker: number }): string {
  return "controller" in to ? `b${from}>c${to.controller}` : `b${from}>b${to.broker}`;
}

function addressOf(proxy: FaultProxy): string {
  const address = proxy.address();
  return `${address.host}:${address.port}`;
}

/** Proxies that drew a taken port before one did not, at most (each draw is a fresh ephemeral port). */
const proxyPortDrawsMax = 20;

/**
 * A started proxy to `target` whose own port is not in `taken`: ports the harness picked for processes
 * not yet started are free until those processes bind them, and an ephemeral listen may draw one
 * (the process then fails with EADDRINUSE). Proxies that drew a taken port stay open until a good one
 * is found, so that the next draw differs.
 */
async function startProxy(target: { readonly host: string; readonly port: number }, taken: ReadonlySet<number>): Promise<FaultProxy> {
  const rejected: FaultProxy[] = [];
  try {
    for (let draw = 0; draw < proxyPortDrawsMax; draw++) {
      const proxy = new FaultProxy({ target });
      const { port } = await proxy.start();
      if (!taken.has(port)) return proxy;
      rejected.push(proxy);
    }
    throw new Error(`Cannot start a proxy to ${target.host}:${target.port} on a port the cluster has not taken after ${proxyPortDrawsMax} draws`);
  } finally {
    await Promise.all(rejected.map((proxy) => proxy.close()));
  }
}

/** SIGSTOP: the process keeps its sockets and state but runs nothing until SIGCONT. */
function stopProcess(pid: number | undefined, what: string): void {
  assert(pid !== undefined, `${what} is not running`);
  process.kill(pid, "SIGSTOP");
}

/** SIGCONT, when the process is still there. */
function continueProcess(pid: number | undefined): void {
  if (pid !== undefined) process.kill(pid, "SIGCONT");
}

export type ChaosBrokerOptions = Omit<BrokerProcessOptions, "controllerUrls" | "replicaPeerAddress" | "startIds">;

/**
 * A `Cluster` (from the e2e harness) plus one `FaultProxy` per directed pair of nodes. The proxies start
 * before the nodes and outlive restarts, so a killed node comes back behind the same faults. Client HTTP
 * traffic does not go through proxies (followers forward writes straight to the leader's API): the faults
 * are on the Raft links, which is where the quorum's safety is decided.
 */
export class ChaosCluster {
  private readonly paused = new Set<number>();
  private readonly disks = new Map<number, SmallDisk>();
  /** Where each filled node's log stood when its disk was filled: what it logs after is the fault's. */
  private readonly logBytesAtFill = new Map<number, number>();
  private readonly pausedBrokers = new Set<number>();
  private readonly brokerProxies = new Map<string, FaultProxy>();
  private brokerProcesses: BrokerProcesses | undefined;

  private constructor(
    readonly cluster: Cluster,
    private readonly proxies: ReadonlyMap<string, FaultProxy>,
  ) {}

  static async start(options: ChaosClusterOptions): Promise<ChaosCluster> {
    const proxies = new Map<string, FaultProxy>();
    const { diskSizeBytes, ...clusterOptions } = options;
    // The harness picks the nodes' ports, so start with no node, then put proxies in front of their Raft ports.
    const cluster = await Cluster.start({
      ...clusterOptions,
      startIds: [],
      raftPeerAddress: (from, to) => {
        const proxy = proxies.get(linkKey(from, to));
        assert(proxy !== undefined, `a proxy for the link ${from}→${to}`);
        const address = proxy.address();
        return `${address.host}:${address.port}`;
      },
    });
    const chaos = new ChaosCluster(cluster, proxies);
    try {
      for (const from of cluster.ids()) {
        for (const to of cluster.ids()) {
          if (from === to) continue;
          const [host, port] = cluster.raftAddress(to).split(":");
          assert(host !== undefined && port !== undefined, `a raft address is host:port: ${cluster.raftAddress(to)}`);
          proxies.set(linkKey(from, to), await startProxy({ host, port: Number(port) }, chaos.nodePorts()));
        }
      }
      if (diskSizeBytes !== undefined) {
        for (const id of cluster.ids()) chaos.disks.set(id, await SmallDisk.mount(cluster.dataDir(id), diskSizeBytes));
      }
      await Promise.all(cluster.ids().map((id) => chaos.startNode(id)));
    } catch (error) {
      await chaos.close({ keep: true });
      throw error;
    }
    return chaos;
  }

  /**
   * Starts (or restarts) a node. On a loaded machine a start can outlast the harness's wait for /healthz;
   * a process still running then is only slow (later waits for a leader and convergence cover it) and
   * this resolves "slow", while one that exited failed to start: that throws, with its log.
   */
  async startNode(id: number): Promise<"started" | "slow"> {
    try {
      await this.cluster.startNode(id);
      return "started";
    } catch (error) {
      if (!this.cluster.isRunning(id)) throw error;
      return "slow";
    }
  }

  ids(): number[] {
    return this.cluster.ids();
  }

  /**
   * Starts brokers whose every link runs through its own proxy: broker b's `--controllers` name proxies
   * P(b→controller c), and its `--replica-peers` name P(b→broker d), so a follower fetches from each
   * leader through its own link. Clients (producers, consumers) dial the brokers' registered addresses,
   * which are real. The proxies outlive restarts, like the controllers'.
   */
  async startBrokers(options: ChaosBrokerOptions): Promise<BrokerProcesses> {
    assert(this.brokerProcesses === undefined, "brokers start once");
    const brokerIds = options.brokerIds;
    const proxyAt = (key: string): string => {
      const proxy = this.brokerProxies.get(key);
      assert(proxy !== undefined, `a proxy for the broker link ${key}`);
      return addressOf(proxy);
    };
    const brokers = await BrokerProcesses.start(this.cluster, {
      ...options,
      startIds: [],
      controllerUrls: (from) => this.ids().map((controller) => `http://${proxyAt(brokerLinkKey(from, { controller }))}`),
      replicaPeerAddress: (from, to) => proxyAt(brokerLinkKey(from, { broker: to })),
    });
    this.brokerProcesses = brokers;
    for (const from of brokerIds) {
      for (const controller of this.ids()) {
        const api = new URL(this.cluster.apiUrl(controller));
        await this.addBrokerProxy(brokerLinkKey(from, { controller }), api.hostname, Number(api.port));
      }
      for (const to of brokerIds) if (to !== from) await this.addBrokerProxy(brokerLinkKey(from, { broker: to }), "127.0.0.1", brokers.port(to));
    }
    await Promise.all(brokerIds.map((id) => brokers.startBroker(id)));
    return brokers;
  }

  private async addBrokerProxy(key: string, host: string, port: number): Promise<void> {
    const taken = new Set([...this.nodePorts(), ...this.brokers.ids().map((id) => this.brokers.port(id))]);
    this.brokerProxies.set(key, await startProxy({ host, port }, taken));
  }

  /** The Raft and API ports the harness picked for the controllers (free until each process binds them). */
  private nodePorts(): Set<number> {
    return new Set(this.ids().flatMap((id) => [Number(this.cluster.raftAddress(id).split(":")[1]), Number(new URL(this.cluster.apiUrl(id)).port)]));
  }

  get brokers(): BrokerProcesses {
    assert(this.brokerProcesses !== undefined, "brokers have not been started");
    return this.brokerProcesses;
  }

  /** Every proxy on a link of broker `id`: its own to the controllers and the other brokers, and theirs to it. */
  brokerLinks(id: number): FaultProxy[] {
    const others = this.brokers.ids().filter((other) => other !== id);
    const keys = [...this.ids().map((controller) => brokerLinkKey(id, { controller })), ...others.flatMap((other) => [brokerLinkKey(id, { broker: other }), brokerLinkKey(other, { broker: id })])];
    return keys.map((key) => {
      const proxy = this.brokerProxies.get(key);
      assert(proxy !== undefined, `a proxy for the broker link ${key}`);
      return proxy;
    });
  }

  /** SIGSTOP of broker `id`, as `pause` for a controller. */
  pauseBroker(id: number): void {
    stopProcess(this.brokers.pid(id), `broker ${id}`);
    this.pausedBrokers.add(id);
  }

  resumeBroker(id: number): void {
    this.pausedBrokers.delete(id);
    continueProcess(this.brokers.pid(id));
  }

  get dir(): string {
    return this.cluster.dir;
  }

  proxy(from: number, to: number): FaultProxy {
    const proxy = this.proxies.get(linkKey(from, to));
    assert(proxy !== undefined, `no proxy for the link ${from}→${to}`);
    return proxy;
  }

  cut(links: readonly DirectedLink[], mode: CutMode): void {
    for (const link of links) this.proxy(link.from, link.to).cut(mode);
  }

  setLatency(links: readonly DirectedLink[], latencyMs: number): void {
    for (const link of links) this.proxy(link.from, link.to).setLatency(latencyMs);
  }

  /** SIGSTOP: the process keeps its sockets and state but runs nothing until `resume`. */
  pause(id: number): void {
    stopProcess(this.cluster.pid(id), `node ${id}`);
    this.paused.add(id);
  }

  resume(id: number): void {
    this.paused.delete(id);
    continueProcess(this.cluster.pid(id));
  }

  isPaused(id: number): boolean {
    return this.paused.has(id);
  }

  /** Every link forwards again with no latency, every paused node runs again. Killed nodes are the caller's. */
  healNetworkAndPauses(): void {
    for (const proxy of this.proxies.values()) {
      proxy.heal();
      proxy.setLatency(0);
    }
    for (const id of [...this.paused]) this.resume(id);
    for (const proxy of this.brokerProxies.values()) {
      proxy.heal();
      proxy.setLatency(0);
    }
    for (const id of [...this.pausedBrokers]) this.resumeBroker(id);
  }

  /**
   * Fills node `id`'s disk to the last byte. The node stops at its next write (that exit is expected
   * from now until it is next started), and a start fails until `freeDisk`.
   */
  async fillDisk(id: number): Promise<FillReport> {
    if (this.cluster.isRunning(id)) this.cluster.expectExit(id);
    this.logBytesAtFill.set(id, (await stat(this.cluster.logFile(id))).size);
    return this.disk(id).fill();
  }

  /** Whether node `id` has logged, since its disk was filled, that a write failed with ENOSPC (the controller's fatal line). */
  async loggedDiskFull(id: number): Promise<boolean> {
    const since = this.logBytesAtFill.get(id) ?? 0;
    const log = await readFile(this.cluster.logFile(id));
    return log.subarray(since).includes('"errno":"ENOSPC"');
  }

  async freeDisk(id: number): Promise<void> {
    await this.disk(id).free();
  }

  hasDisks(): boolean {
    return this.disks.size > 0;
  }

  /**
   * Closes the brokers, resumes paused nodes (a stopped process would ignore SIGTERM), kills every node,
   * unmounts the small disks (keeping what the nodes wrote when `keep`), closes the proxies and the cluster.
   */
  async close(options: { readonly keep?: boolean } = {}): Promise<void> {
    await this.brokerProcesses?.close();
    for (const id of [...this.paused]) {
      try {
        this.resume(id);
      } catch {
        // The process may be gone already; close() kills whatever is left anyway.
      }
    }
    await this.cluster.killAll();
    const unmounted = await Promise.allSettled([...this.disks.values()].map((disk) => disk.unmount({ keepContents: options.keep === true })));
    this.disks.clear();
    await this.cluster.close(options);
    await Promise.all([...this.proxies.values(), ...this.brokerProxies.values()].map((proxy) => proxy.close()));
    const failed = unmounted.flatMap((u) => (u.status === "rejected" ? [u.reason instanceof Error ? u.reason.message : String(u.reason)] : []));
    if (failed.length > 0) throw new Error(`Cannot unmount every small disk: ${failed.join("; ")}`);
  }

  private disk(id: number): SmallDisk {
    const disk = this.disks.get(id);
    assert(disk !== undefined, `node ${id} has no small disk (the cluster was started without diskSizeBytes)`);
    return disk;
  }
}
