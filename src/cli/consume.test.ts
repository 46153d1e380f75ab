import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { FakeCluster } from "../client/brokerTesting.js";
import { consumeCommand } from "./consume.js";
import type { ConsumeIo } from "./consume.js";

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

async function consume(argv: readonly string[], extra: Partial<ConsumeIo> & { readonly onLine?: (line: string) => void } = {}): Promise<Ran> {
  let stdout = "";
  let stderr = "";
  const code = await consumeCommand(argv, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        extra.onLine?.(text);
        return true;
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    stop: new AbortController().signal,
    ...extra,
  });
  return { code, stdout, stderr };
}

async function withCluster(body: (cluster: FakeCluster) => Promise<void>): Promise<void> {
  const cluster = await FakeCluster.start();
  try {
    cluster.createTopic("orders", 1);
    cluster.append("orders", 0, ["a", { key: "k", value: "b" }, "c", "d"]);
    await body(cluster);
  } finally {
    await cluster.close();
  }
}

describe("yakt consume", () => {
  test("--from-beginning --max-messages N prints N values, one per line, then stops", async () => {
    await withCluster(async (cluster) => {
      const ran = await consume(["--topic", "orders", "--from-beginning", "--max-messages", "3", "--controllers", cluster.controllerUrl]);
      assert.equal(ran.stdout, "a\nb\nc\n");
      assert.equal(ran.stderr, "consumed 3 messages\n");
      assert.equal(ran.code, 0);
    });
  });

  test("--json prints one object per message with partition, offset, key and value", async () => {
    await withCluster(async (cluster) => {
      const ran = await consume(["--topic", "orders", "--from-beginning", "--max-messages", "2", "--json", "--controllers", cluster.controllerUrl]);
      assert.equal(ran.code, 0, ran.stderr);
      assert.deepEqual(ran.stdout.trimEnd().split("\n").map((line) => JSON.parse(line) as unknown), [
        { partition: 0, offset: 0, key: null, value: "a" },
        { partition: 0, offset: 1, key: "k", value: "b" },
      ]);
    });
  });

  test("--group commits what it printed before it exits and leaves the group; the next run goes on from there", async () => {
    await withCluster(async (cluster) => {
      const first = await consume(["--topic", "orders", "--group", "g", "--from-beginning", "--max-messages", "2", "--controllers", cluster.controllerUrl]);
      assert.equal(first.stdout, "a\nb\n");
      assert.equal(cluster.committed("g").get(0), 2);
      assert.deepEqual(cluster.members("g"), []);
      const second = await consume(["--topic", "orders", "--group", "g", "--max-messages", "2", "--controllers", cluster.controllerUrl]);
      assert.equal(second.stdout, "c\nd\n");
      assert.equal(cluster.committed("g").get(0), 4);
    });
  });

  test("Ctrl-C (the stop signal) ends it cleanly: committed and left", async () => {
    await withCluster(async (cluster) => {
      const stop = new AbortController();
      let linesCount = 0;
      const ran = await consume(["--topic", "orders", "--group", "g", "--from-beginning", "--controllers", cluster.controllerUrl], {
        stop: stop.signal,
        onLine: () => {
          if (++linesCount === 2) stop.abort();
        },
      });
      assert.equal(ran.code, 0, ran.stderr);
      assert.equal(ran.stdout, "a\nb\n");
      assert.equal(ran.stderr, "consumed 2 messages\n");
      assert.equal(cluster.committed("g").get(0), 2);
      assert.deepEqual(cluster.members("g"), []);
    });
  });

  test("an error that stops the consumer is printed with its code, exit status 1", async () => {
    await withCluster(async (cluster) => {
      cluster.fault = (request) => (request.route === "fetch" ? { kind: "answer", status: 400, body: { code: "BAD_REQUEST", message: "Cannot fetch as offset is not an integer", field: "offset" } } : undefined);
      const ran = await consume(["--topic", "orders", "--from-beginning", "--controllers", cluster.controllerUrl]);
      assert.equal(ran.code, 1);
      assert.equal(ran.stderr, "consumed 0 messages\nyakt consume: Cannot fetch as offset is not an integer (BAD_REQUEST)\n");
    });
  });

  test("bad flags: exit status 2 with the reason and the usage", async () => {
    for (const [argv, reason] of [
      [[], "it needs --topic"],
      [["--topic", "t", "--group", "g", "--partition", "1"], "--partition and --group do not go together"],
      [["--topic", "t", "--max-messages", "0"], "--max-messages must be an integer from 1"],
    ] as const) {
      const ran = await consume(argv);
      assert.equal(ran.code, 2, argv.join(" "));
      assert(ran.stderr.startsWith(`yakt consume: Cannot consume as ${reason}`), ran.stderr);
      assert.match(ran.stderr, /Usage: yakt consume --topic T/);
    }
  });
});
