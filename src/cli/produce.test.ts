import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeCluster } from "../client/brokerTesting.js";
import { produceCommand, readLines } from "./produce.js";
import type { ProduceIo } from "./produce.js";

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function* chunksOf(...chunks: (string | Buffer)[]): AsyncGenerator<string | Buffer> {
  for (const chunk of chunks) yield chunk;
}

async function produce(argv: readonly string[], stdin: AsyncIterable<Buffer | string>, extra: Partial<ProduceIo> = {}): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const code = await produceCommand(argv, {
    stdin,
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    stop: new AbortController().signal,
    ...extra,
  });
  return { code, stdout, stderr };
}

async function withCluster(body: (cluster: FakeCluster) => Promise<void>): Promise<void> {
  const cluster = await FakeCluster.start();
  try {
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

async function lines(...chunks: (string | Buffer)[]): Promise<string[]> {
  const read: string[] = [];
  for await (const line of readLines(chunksOf(...chunks), 16)) read.push(line);
  return read;
}

describe("yakt produce", () => {
  test("sends each line of stdin as one message, waits for every acknowledgement and says how many", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("orders", 1);
      const ran = await produce(["--topic", "orders", "--controllers", cluster.controllerUrl], chunksOf("first\nsec", "ond\r\n\nlast"));
      assert.equal(ran.stderr, "produced 4 messages\n");
      assert.equal(ran.stdout, "");
      assert.equal(ran.code, 0);
      assert.deepEqual(cluster.records("orders", 0).map((r) => r.value), ["first", "second", "", "last"]);
    });
  });

  test("--key sends every message with that key to one partition; --acks is passed on", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("orders", 3);
      const ran = await produce(["--topic=orders", "--key", "customer-7", "--acks", "1", "--controllers", cluster.controllerUrl], chunksOf("a\nb\nc\n"));
      assert.equal(ran.code, 0, ran.stderr);
      const partitions = [0, 1, 2].filter((p) => cluster.records("orders", p).length > 0);
      assert.equal(partitions.length, 1);
      assert.deepEqual(cluster.records("orders", partitions[0] as number).map((r) => [r.key, r.value]), [
        ["customer-7", "a"],
        ["customer-7", "b"],
        ["customer-7", "c"],
      ]);
      assert(cluster.requestsOf("produce").every((r) => r.body["acks"] === 1));
    });
  });

  test("--partition sends every message to that partition; a missing topic is created first", async () => {
    await withCluster(async (cluster) => {
      const ran = await produce(["--topic", "fresh", "--partition", "2", "--linger-ms", "0", "--controllers", cluster.controllerUrl], chunksOf("x\ny\n"));
      assert.equal(ran.code, 0, ran.stderr);
      assert.deepEqual(cluster.createTopicRequests, [{ name: "fresh", partitions: 3, replicationFactor: 3 }]);
      assert.deepEqual(cluster.records("fresh", 2).map((r) => r.value), ["x", "y"]);
    });
  });

  test("a message the broker refuses ends the command with the error and exit status 1", async () => {
    await withCluster(async (cluster) => {
      cluster.createTopic("orders", 1);
      cluster.fault = (request) => (request.route === "produce" ? { kind: "answer", status: 400, body: { code: "BAD_REQUEST", message: "Cannot append as the batch is malformed" } } : undefined);
      const ran = await produce(["--topic", "orders", "--controllers", cluster.controllerUrl], chunksOf("a\n"));
      assert.equal(ran.code, 1);
      assert.equal(ran.stderr, "produced 0 messages\nyakt produce: Cannot append as the batch is malformed (BAD_REQUEST)\n");
    });
  });

  test("bad flags: exit status 2 with the reason and the usage", async () => {
    for (const [argv, reason] of [
      [[], "it needs --topic"],
      [["--topic", "bad name"], "--topic must be 1 to 249 letters"],
      [["--topic", "t", "--acks", "2"], "--acks must be all, -1, 1 or 0"],
      [["--topic", "t", "--controllers", "http://h:1/path"], "--controllers must list base URLs"],
      [["--topic", "t", "--linger-ms", "-1"], "--linger-ms must be an integer from 0 to 60000"],
    ] as const) {
      const ran = await produce(argv, chunksOf());
      assert.equal(ran.code, 2, argv.join(" "));
      assert(ran.stderr.startsWith(`yakt produce: Cannot produce as ${reason}`), ran.stderr);
      assert.match(ran.stderr, /Usage: yakt produce --topic T/);
    }
    const help = await produce(["--help"], chunksOf());
    assert.equal(help.code, 0);
    assert.match(help.stdout, /^Usage: yakt produce/);
  });
});

describe("readLines", () => {
  test("splits on \\n and \\r\\n, keeps empty lines and a last line without a newline", async () => {
    assert.deepEqual(await lines("a\r\nb\n\nc"), ["a", "b", "", "c"]);
    assert.deepEqual(await lines("a\n"), ["a"]);
    assert.deepEqual(await lines(""), []);
  });

  test("decodes UTF-8 split across chunks", async () => {
    const bytes = Buffer.from("héllo\nwörld\n", "utf8");
    assert.deepEqual(await lines(bytes.subarray(0, 2), bytes.subarray(2, 9), bytes.subarray(9)), ["héllo", "wörld"]);
  });

  test("a line longer than the bound fails with RECORD_TOO_LARGE", async () => {
    await assert.rejects(lines("ok\n", "x".repeat(17)), /Cannot produce line 2 as it is longer than 16 bytes/);
  });

  test("stops when told, even while waiting for input", async () => {
    const stop = new AbortController();
    async function* endless(): AsyncGenerator<string> {
      yield "a\n";
      stop.abort();
      await new Promise<void>(() => {});
    }
    const read: string[] = [];
    for await (const line of readLines(endless(), 16, stop.signal)) read.push(line);
    assert.deepEqual(read, ["a"]);
  });
});
