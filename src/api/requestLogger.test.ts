import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { describe, test } from "node:test";
import type { FastifyBaseLogger } from "fastify";
import { pino } from "pino";
import { LazyRequestLogger } from "./requestLogger.js";
import { jsonRequest, testApp } from "./testing.js";

/** A pino logger writing JSON lines into `lines`, and a count of the children made from it. */
function capturingLogger(): { logger: FastifyBaseLogger; lines: Record<string, unknown>[]; children: () => number } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      lines.push(JSON.parse(chunk.toString("utf8")) as Record<string, unknown>);
      callback();
    },
  });
  const base = pino({ level: "info" }, stream);
  let childrenCount = 0;
  // Children inherit `child` from the base logger, so this counts their children too, each made from its own parent.
  const child = base.child;
  base.child = function (this: typeof base, ...args: Parameters<typeof base.child>) {
    childrenCount++;
    return child.apply(this, args);
  } as typeof base.child;
  return { logger: base, lines, children: () => childrenCount };
}

/** pino writes through the stream asynchronously: wait until `count` lines arrived (bounded). */
async function linesArrived(lines: readonly unknown[], count: number): Promise<void> {
  for (let i = 0; i < 100 && lines.length < count; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe("LazyRequestLogger", () => {
  test("makes the child logger on the first log call only, once, with the bindings and the child's level", async () => {
    const { logger, lines, children } = capturingLogger();
    const lazy = new LazyRequestLogger(logger, { reqId: "req-7" }, {});
    assert.equal(children(), 0);
    assert.equal(lazy.level, "info");
    lazy.debug("below the level");
    assert.equal(children(), 1);
    lazy.warn({ code: "X" }, "first");
    lazy.info("second %s", "line");
    assert.equal(children(), 1);
    await linesArrived(lines, 2);
    assert.deepEqual(
      lines.map((l) => [l["reqId"], l["msg"], l["code"]]),
      [
        ["req-7", "first", "X"],
        ["req-7", "second line", undefined],
      ],
    );
  });

  test("a child of it carries both its bindings and the new ones", async () => {
    const { logger, lines } = capturingLogger();
    new LazyRequestLogger(logger, { reqId: "req-8" }, {}).child({ part: "body" }).error("failed");
    await linesArrived(lines, 1);
    assert.deepEqual([lines[0]?.["reqId"], lines[0]?.["part"], lines[0]?.["msg"]], ["req-8", "body", "failed"]);
  });

  test("in the app: a request that logs nothing makes no child; an INTERNAL error is logged with its request id", async () => {
    const { logger, lines, children } = capturingLogger();
    const { app, controller } = testApp({ logger });
    await app.ready();
    const before = children();
    const ok = await app.inject(jsonRequest("POST", "/v1/topics", { name: "quiet" }));
    assert.equal(ok.statusCode, 201);
    assert.equal(children(), before);
    controller.proposeError = new Error("disk on fire") as never;
    const failed = await app.inject(jsonRequest("POST", "/v1/topics", { name: "loud" }));
    assert.equal(failed.statusCode, 500);
    assert.equal(failed.json().code, "INTERNAL");
    await linesArrived(lines, 1);
    const logged = lines.find((l) => l["msg"] === "request failed");
    assert.ok(logged !== undefined, "the failure is logged");
    assert.equal(typeof logged["reqId"], "string");
    await app.close();
  });
});
