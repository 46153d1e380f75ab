// A 3-member etcd cluster on 127.0.0.1 (Debian's etcd-server 3.4), started for a comparison bench with
// its default settings: every write is fsynced (WAL) before it is acknowledged, as in YAKt.
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { freePorts } from "../../e2e/harness.js";
import { httpRequest, isRecord } from "../../e2e/http.js";
import { waitFor } from "../../e2e/waitFor.js";
import { assert } from "../../shared/assert.js";
import { ProcessGroup } from "./processes.js";

const host = "127.0.0.1";
export const etcdCommand = "etcd";
const membersCount = 3;
/** etcd answers /health once its members have elected a leader; a loaded machine may take a while. */
const readyTimeoutMs = 30_000;
const statusRequestTimeoutMs = 2_000;

export interface EtcdMember {
  readonly name: string;
  readonly clientPort: number;
  readonly peerPort: number;
  readonly dataDir: string;
}

/** The command line of member `index` of `members`: a new cluster, on loopback only, logging to stderr. */
export function etcdArgs(members: readonly EtcdMember[], index: number, clusterToken: string): string[] {
  const member = members[index];
  assert(member !== undefined, `no member ${index} among ${members.length}`);
  const peerUrl = (m: EtcdMember): string => `http://${host}:${m.peerPort}`;
  const clientUrl = `http://${host}:${member.clientPort}`;
  return [
    ...["--name", member.name, "--data-dir", member.dataDir],
    ...["--listen-client-urls", clientUrl, "--advertise-client-urls", clientUrl],
    ...["--listen-peer-urls", peerUrl(member), "--initial-advertise-peer-urls", peerUrl(member)],
    ...["--initial-cluster", members.map((m) => `${m.name}=${peerUrl(m)}`).join(","), "--initial-cluster-state", "new", "--initial-cluster-token", clusterToken],
    ...["--logger", "zap", "--log-outputs", "stderr"],
  ];
}

/** etcd's own view of one member: its id and the leader's, as decimal strings (uint64). */
interface EtcdStatus {
  readonly memberId: string;
  readonly leaderId: string;
}

export class EtcdCluster {
  private constructor(
    private readonly members: readonly EtcdMember[],
    readonly processes: ProcessGroup,
  ) {}

  /** Starts the members with data under `dir` and waits until they agree on a leader. */
  static async start(dir: string): Promise<EtcdCluster> {
    const ports = await freePorts(2 * membersCount);
    const members = Array.from({ length: membersCount }, (_, i): EtcdMember => {
      const clientPort = ports[2 * i];
      const peerPort = ports[2 * i + 1];
      assert(clientPort !== undefined && peerPort !== undefined, "two ports per member");
      return { name: `etcd-${i + 1}`, clientPort, peerPort, dataDir: join(dir, `etcd-${i + 1}`) };
    });
    const processes = new ProcessGroup(dir);
    const cluster = new EtcdCluster(members, processes);
    await processes.startOrStop(async () => {
      for (const member of members) await mkdir(member.dataDir, { recursive: true });
      for (let i = 0; i < members.length; i++) await processes.spawn(members[i]?.name ?? "", etcdCommand, etcdArgs(members, i, `bench-${process.pid}`));
      await cluster.waitForLeader();
    });
    return cluster;
  }

  get membersCount(): number {
    return this.members.length;
  }

  clientUrl(index: number): string {
    const member = this.members[index];
    assert(member !== undefined, `no member ${index}`);
    return `http://${host}:${member.clientPort}`;
  }

  /** The index of the member every member names as leader. */
  async waitForLeader(): Promise<number> {
    let seen = "";
    return waitFor(
      () => `the etcd members to agree on a leader; last seen: ${seen}`,
      async () => {
        this.processes.assertRunning();
        const statuses = await Promise.all(this.members.map((_, i) => this.status(i)));
        seen = JSON.stringify(statuses);
        const leaderId = statuses[0]?.leaderId;
        if (leaderId === undefined || leaderId === "0" || !statuses.every((s) => s.leaderId === leaderId)) return undefined;
        const index = statuses.findIndex((s) => s.memberId === leaderId);
        return index === -1 ? undefined : index;
      },
      { timeoutMs: readyTimeoutMs, intervalMs: 100 },
    );
  }

  async stop(): Promise<void> {
    await this.processes.stop();
  }

  private async status(index: number): Promise<EtcdStatus> {
    const result = await httpRequest(`${this.clientUrl(index)}/v3/maintenance/status`, { method: "POST", body: {}, timeoutMs: statusRequestTimeoutMs });
    if (result.kind === "failure") throw new Error(result.message);
    const body = result.body;
    const header = isRecord(body) ? body["header"] : undefined;
    if (result.status !== 200 || !isRecord(body) || !isRecord(header) || typeof header["member_id"] !== "string") {
      throw new Error(`etcd member ${index + 1} answered its status with ${result.status} ${JSON.stringify(body)}`);
    }
    return { memberId: header["member_id"], leaderId: typeof body["leader"] === "string" ? body["leader"] : "0" };
  }
}

/** etcd's JSON gateway carries keys and values as base64. */
export function base64(text: string): string {
  return Buffer.from(text, "utf8").toString("base64");
}
