import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { AdminClient } from "../client/adminClient.js";
import { recordingSleep, refusedUrl, startTestCluster } from "../client/testing.js";
import type { TestCluster } from "../client/testing.js";
import { adminCommand, devControllerUrls } from "./admin.js";
import type { AdminIo } from "./admin.js";

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs one admin command with its output captured and a client that never really waits. */
async function yakt(argv: readonly string[], extra: Partial<AdminIo> = {}): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const io: AdminIo = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    newClient: ({ controllers, signal }) => new AdminClient({ controllers, sleep: recordingSleep().sleep, random: () => 0.5, ...(signal === undefined ? {} : { signal }) }),
    ...extra,
  };
  const code = await adminCommand(argv, io);
  return { code, stdout, stderr };
}

/** A 3-node cluster (leader 2) with brokers 1–3 registered and UNFENCED, so that topics get partitions. */
async function withBrokers(body: (cluster: TestCluster, controllers: string) => Promise<void>): Promise<void> {
  const cluster = await startTestCluster(3, { leaderId: 2 });
  try {
    const admin = new AdminClient({ controllers: cluster.nodes.map((n) => n.url) });
    for (const brokerId of [1, 2, 3]) {
      const registered = await admin.registerBroker({ brokerId, brokerHost: "127.0.0.1", brokerPort: 9200 + brokerId, ...(brokerId === 3 ? { rackId: "r3" } : {}) });
      const first = await admin.brokerMetadataFetch({ brokerId, brokerEpoch: registered.broker.epoch, offset: 0 });
      await admin.brokerMetadataFetch({ brokerId, brokerEpoch: first.brokerEpoch, offset: first.currentOffset });
    }
    await body(cluster, cluster.nodes.map((n) => n.url).join(","));
  } finally {
    await cluster.close();
  }
}

const uuid = (n: number) => `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;

describe("yakt admin commands", () => {
  test("topics create prints the topic and a row per partition; topics list and describe show it", async () => {
    await withBrokers(async (_cluster, controllers) => {
      const created = await yakt(["topics", "create", "orders", "--partitions", "3", "--replication-factor=2", "--controllers", controllers]);
      assert.equal(created.stderr, "");
      assert.equal(created.code, 0);
      assert.equal(
        created.stdout,
        `Created topic orders (${uuid(4)}) with 3 partitions at offset 7

PARTITION  LEADER  REPLICAS  ISR  EPOCH
0          2       2,1       2,1  0
1          3       3,2       3,2  0
2          1       1,3       1,3  0
`,
      );
      await yakt(["topics", "create", "audit", "--controllers", controllers]);
      const listed = await yakt(["topics", "list", "--controllers", controllers]);
      assert.equal(
        listed.stdout,
        `NAME    PARTITIONS  RF  UUID
audit   0           -   ${uuid(5)}
orders  3           2   ${uuid(4)}
`,
      );
      const described = await yakt(["topics", "describe", "orders", "--controllers", controllers]);
      assert.equal(
        described.stdout,
        `topic               orders
uuid                ${uuid(4)}
partitions          3
replication factor  2

PARTITION  LEADER  REPLICAS  ISR  EPOCH
0          2       2,1       2,1  0
1          3       3,2       3,2  0
2          1       1,3       1,3  0
`,
      );
    });
  });

  test("--json prints the API's answer as it came", async () => {
    await withBrokers(async (cluster, controllers) => {
      const created = JSON.parse((await yakt(["topics", "create", "orders", "--partitions", "1", "--json", "--controllers", controllers])).stdout);
      assert.equal(created.topic.name, "orders");
      assert.equal(created.replayed, false);
      const listed = JSON.parse((await yakt(["topics", "list", "--json", "--controllers", controllers])).stdout);
      assert.deepEqual(listed, { topics: [created.topic] });
      const brokers = JSON.parse((await yakt(["brokers", "list", "--json", "--controllers", controllers])).stdout);
      assert.deepEqual(brokers.brokers.map((b: { brokerId: number }) => b.brokerId), [1, 2, 3]);
      const status = JSON.parse((await yakt(["cluster", "status", "--json", "--controllers", controllers])).stdout);
      assert.deepEqual([status.nodeId, status.leaderUrl], [2, cluster.nodes[1]?.url]);
    });
  });

  test("topics create of a taken name fails with the API's message and code on stderr and exit status 1", async () => {
    await withBrokers(async (_cluster, controllers) => {
      await yakt(["topics", "create", "orders", "--controllers", controllers]);
      const again = await yakt(["topics", "create", "orders", "--controllers", controllers]);
      assert.deepEqual(again, { code: 1, stdout: "", stderr: "yakt topics create: Cannot create topic orders as the name is taken (TOPIC_EXISTS)\n" });
      const missing = await yakt(["topics", "describe", "nope", "--controllers", controllers]);
      assert.deepEqual(missing, { code: 1, stdout: "", stderr: "yakt topics describe: Cannot find topic nope as it does not exist (UNKNOWN_TOPIC)\n" });
    });
  });

  test("topics delete says what it deleted", async () => {
    await withBrokers(async (_cluster, controllers) => {
      await yakt(["topics", "create", "orders", "--partitions", "2", "--controllers", controllers]);
      const deleted = await yakt(["topics", "delete", "orders", "--controllers", controllers]);
      assert.deepEqual(deleted, { code: 0, stdout: `Deleted topic orders (${uuid(4)}) with 2 partitions at offset 8\n`, stderr: "" });
      assert.equal((await yakt(["topics", "list", "--controllers", controllers])).stdout, "no topics\n");
    });
  });

  test("brokers list shows ID, HOST:PORT, RACK, STATUS and EPOCH, filtered by --status", async () => {
    await withBrokers(async (_cluster, controllers) => {
      await new AdminClient({ controllers: controllers.split(",") }).unregisterBroker(2);
      const all = await yakt(["brokers", "list", "--controllers", controllers]);
      assert.equal(
        all.stdout,
        `ID  HOST:PORT       RACK  STATUS    EPOCH
1   127.0.0.1:9201  -     UNFENCED  2
2   127.0.0.1:9202  -     CLOSED    3
3   127.0.0.1:9203  r3    UNFENCED  2
`,
      );
      const active = await yakt(["brokers", "list", "--status", "active", "--controllers", controllers]);
      assert.deepEqual(active.stdout.split("\n").slice(1, -1).map((line) => line.split(/\s+/)[0]), ["1", "3"]);
      const bad = await yakt(["brokers", "list", "--status", "sleepy", "--controllers", controllers]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^yakt brokers list: Cannot list brokers as --status must be active, INIT, UNFENCED, FENCED or CLOSED, comma-separated for several: current value is "sleepy"\n\nUsage: yakt brokers list/);
    });
  });

  test("cluster status asked of a follower shows the leader's view: leader, term, commit, then a row per member", async () => {
    await withBrokers(async (cluster) => {
      const [one, two, three] = cluster.nodes.map((n) => n.url);
      const status = await yakt(["cluster", "status", "--controllers", `${one}`]);
      assert.equal(status.code, 0);
      assert.equal(
        status.stdout,
        `leader  2 (${two})
term    3
commit  10 (applied 6, last 12, snapshot 0)

ID  ROLE      MATCH  LAG  LAST CONTACT  API
1   follower  -      -    -             ${one}
2   leader    12     0    -             ${two}
3   follower  7      5    400 ms        ${three}
`,
      );
    });
  });

  test("cluster add-member adds a voter (or with --observer an observer) and prints the membership; remove-member removes it", async () => {
    await withBrokers(async (cluster, controllers) => {
      const added = await yakt(["cluster", "add-member", "--id", "4", "--raft", "127.0.0.1:9104", "--api=127.0.0.1:9004", "--controllers", controllers]);
      assert.equal(added.stderr, "");
      assert.equal(added.code, 0);
      assert.equal(
        added.stdout,
        `Added controller 4 as a voter (raft 127.0.0.1:9104, api 127.0.0.1:9004)

voters     1,2,3,4
observers  -
`,
      );
      const observer = await yakt(["cluster", "add-member", "--id", "5", "--raft", "127.0.0.1:9105", "--api", "127.0.0.1:9005", "--observer", "--json", "--controllers", controllers]);
      assert.deepEqual(JSON.parse(observer.stdout).membership, { voters: [1, 2, 3, 4], learners: [5] });
      const removed = await yakt(["cluster", "remove-member", "--id", "4", "--controllers", controllers]);
      assert.equal(removed.code, 0);
      assert.equal(
        removed.stdout,
        `Removed controller 4; stop its process now

voters     1,2,3
observers  5
`,
      );
      const again = await yakt(["cluster", "remove-member", "--id", "4", "--controllers", controllers]);
      assert.equal(again.code, 1);
      assert.equal(again.stderr, "yakt cluster remove-member: Cannot remove controller 4 as it is neither a member nor registered (UNKNOWN_CONTROLLER)\n");
      assert.deepEqual(cluster.nodes[1]?.controller.membershipChanges.map((c) => `${c.kind} ${c.nodeId}`), ["addLearner 4", "addVoter 4", "addLearner 5", "removeNode 4"]);
    });
  });

  test("log tail prints the last offsets' records, or a page from --from; --json the API's page", async () => {
    await withBrokers(async (_cluster, controllers) => {
      await yakt(["topics", "create", "orders", "--controllers", controllers]);
      const tail = await yakt(["log", "tail", "--limit", "2", "--controllers", controllers]);
      const lines = tail.stdout.trimEnd().split("\n");
      assert.match(lines[0] ?? "", /^ {2}OFFSET {2}TIME {22}RECORD {26}FIELDS$/);
      assert.deepEqual(lines.slice(1).map((line) => line.trim().split(/\s+/).slice(0, 3).join(" ").replace(/ \S+Z /, " T ")), ["6 T BrokerRegistrationChangeRecord", "7 T TopicRecord"]);
      assert.equal(lines[2], `       7  2023-11-14T22:13:20.000Z  TopicRecord${" ".repeat(21)}{"topicUUID":"${uuid(4)}","name":"orders"}`);
      const page = JSON.parse((await yakt(["log", "tail", "--from", "1", "--limit", "1", "--json", "--controllers", controllers])).stdout);
      assert.deepEqual([page.records.length, page.records[0].name, page.nextOffset, page.currentOffset], [1, "RegisterBrokerRecord", 2, 7]);
      const beyond = await yakt(["log", "tail", "--from", "50", "--controllers", controllers]);
      assert.equal(beyond.stdout, "no records from offset 50 (the log is at 7)\n");
    });
  });

  test("log tail --follow prints records as they commit until stopped", async () => {
    await withBrokers(async (_cluster, controllers) => {
      const stop = new AbortController();
      const writer = new AdminClient({ controllers: controllers.split(",") });
      const sleeps: number[] = [];
      const sleep = async (ms: number): Promise<void> => {
        sleeps.push(ms);
        if (sleeps.length === 1) await writer.createTopic({ name: "late" });
        else stop.abort();
      };
      const followed = await yakt(["log", "tail", "--follow", "--limit", "1", "--json", "--controllers", controllers], { stop: stop.signal, sleep });
      assert.equal(followed.code, 0);
      const records = followed.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
      assert.deepEqual(records.map((r) => [r.offset, r.name]), [
        [6, "BrokerRegistrationChangeRecord"],
        [7, "TopicRecord"],
      ]);
      assert.equal(records[1].fields.name, "late");
      assert.deepEqual(sleeps, [1_000, 1_000], "waits only when a page is not full");
    });
  });

  test("snapshot create and list work on the leader by default, or on --node", async () => {
    await withBrokers(async (cluster, controllers) => {
      const [one, two] = cluster.nodes.map((n) => n.url);
      const taken = await yakt(["snapshot", "create", "--controllers", controllers]);
      const { bytes } = JSON.parse((await yakt(["snapshot", "list", "--json", "--controllers", controllers])).stdout).snapshots[0];
      assert.deepEqual(taken, { code: 0, stdout: `Took snapshot 6-3 on ${two}: index 6, term 3, ${bytes} bytes\n`, stderr: "" });
      const listed = await yakt(["snapshot", "list", "--controllers", controllers]);
      assert.equal(listed.stdout, `snapshots on ${two}\n\nID   INDEX  TERM  BYTES\n6-3  6      3     ${bytes}\n`);
      assert.equal((await yakt(["snapshot", "list", "--node", `${one}`, "--controllers", controllers])).stdout, `no snapshots on ${one}\n`);
    });
  });

  test("bad flags exit 2 with the reason and the command's usage on stderr", async () => {
    const cases: [string[], string][] = [
      [["topics", "create", "orders", "--partitions", "x"], 'yakt topics create: Cannot create topic as --partitions must be an integer from 0 to 100000: current value is "x"'],
      [["topics", "create"], "yakt topics create: Cannot create topic as it needs NAME"],
      [["topics", "list", "--verbose"], "yakt topics list: Cannot list topics as --verbose is not one of its flags"],
      [["cluster", "status", "--controllers", "ftp://h:1"], 'yakt cluster status: Cannot show cluster status as --controllers must list base URLs like http://127.0.0.1:9001: current value is "ftp://h:1"'],
      [["snapshot", "list", "--node", "http://a:1,http://b:2"], 'yakt snapshot list: Cannot list snapshots as --node must list one URL: current value is "http://a:1,http://b:2"'],
      [["log", "tail", "--from", "0"], 'yakt log tail: Cannot read the metadata log as --from must be an integer from 1 to 9007199254740991: current value is "0"'],
      [["cluster", "add-member", "--id", "4", "--api", "h:1"], "yakt cluster add-member: Cannot add a controller as --raft is required"],
      [["cluster", "add-member", "--id", "4", "--raft", "h", "--api", "h:1"], 'yakt cluster add-member: Cannot add a controller as --raft must be HOST:PORT: current value is "h"'],
      [["cluster", "add-member", "--id", "0", "--raft", "h:2", "--api", "h:1"], 'yakt cluster add-member: Cannot add a controller as --id must be an integer from 1 to 4294967295: current value is "0"'],
      [["cluster", "remove-member"], "yakt cluster remove-member: Cannot remove a controller as --id is required"],
    ];
    for (const [argv, message] of cases) {
      const ran = await yakt(argv);
      assert.equal(ran.code, 2, argv.join(" "));
      assert.equal(ran.stdout, "");
      assert.equal(ran.stderr.split("\n")[0], message);
      assert.match(ran.stderr, new RegExp(`\n\nUsage: yakt ${argv[0]} ${argv[1]}`));
    }
  });

  test("--help prints a command's usage, a group alone its commands; an unknown command exits 2", async () => {
    const help = await yakt(["topics", "create", "--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: yakt topics create NAME \[--partitions N\] \[--replication-factor R\] \[--controllers URL,…\] \[--json\]\n/);
    assert.match(help.stdout, /--controllers URL,… +controllers to ask/);
    const group = await yakt(["topics"]);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /^ {2}yakt topics describe NAME$/m);
    const unknown = await yakt(["topics", "rename"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /^yakt topics: unknown command "rename"\n/);
  });

  test("--controllers defaults to the dev cluster and accepts host:port", async () => {
    assert.deepEqual(devControllerUrls, ["http://127.0.0.1:9001", "http://127.0.0.1:9002", "http://127.0.0.1:9003"]);
    const url = await refusedUrl();
    const seen: (readonly string[])[] = [];
    const newClient: AdminIo["newClient"] = ({ controllers }) => {
      seen.push(controllers);
      return new AdminClient({ controllers: [url], attemptsMax: 1 });
    };
    await yakt(["topics", "list"], { newClient });
    await yakt(["topics", "list", "--controllers", `${new URL(url).host}, http://[::1]:9002/`], { newClient });
    assert.deepEqual(seen, [devControllerUrls, [url, "http://[::1]:9002"]]);
  });

  test("unreachable controllers exit 1 naming the controller, the code and the attempts made", async () => {
    const url = await refusedUrl();
    const ran = await yakt(["topics", "list", "--controllers", url]);
    assert.equal(ran.code, 1);
    assert.equal(ran.stderr, `yakt topics list: Cannot reach controller ${url} as it refused the connection (UNREACHABLE, after 10 attempts)\n`);
  });
});
