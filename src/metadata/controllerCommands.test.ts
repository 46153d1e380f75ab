import assert from "node:assert/strict";
import { test } from "node:test";
import { limits } from "../shared/limits.js";
import { changesSince } from "./history.js";
import { listControllers } from "./queries.js";
import { decodeSnapshot, encodeSnapshot } from "./snapshot.js";
import { controllerOf, createDriver, mustApply, mustReject, registerController, run, startMs } from "./testing.js";

test("RegisterController stores the controller's addresses and says so in a RegisterControllerRecord", () => {
  const driver = createDriver();
  const applied = mustApply(driver, registerController(4));
  const expected = { controllerId: 4, raftHost: "127.0.0.1", raftPort: 9104, apiHost: "127.0.0.1", apiPort: 9004 };
  assert.deepEqual(controllerOf(applied), expected);
  assert.deepEqual(applied.records, [{ type: "metadata", name: "RegisterControllerRecord", fields: expected, timestamp: startMs, offset: 1 }]);
  assert.deepEqual(listControllers(driver.state), [expected]);
});

test("registering a controller id again replaces its addresses", () => {
  const driver = createDriver();
  mustApply(driver, registerController(4));
  mustApply(driver, registerController(4, { raftHost: "10.0.0.4", apiPort: 8004 }));
  assert.deepEqual(listControllers(driver.state), [{ controllerId: 4, raftHost: "10.0.0.4", raftPort: 9104, apiHost: "127.0.0.1", apiPort: 8004 }]);
});

test("UnregisterController drops the registration and answers with it; an unknown id is UNKNOWN_CONTROLLER", () => {
  const driver = createDriver();
  mustApply(driver, registerController(5));
  mustApply(driver, registerController(4));
  const applied = mustApply(driver, { type: "UnregisterController", controllerId: 4 });
  assert.equal(controllerOf(applied).raftPort, 9104);
  assert.deepEqual(applied.records, [{ type: "metadata", name: "UnregisterControllerRecord", fields: { controllerId: 4 }, timestamp: startMs + 2000, offset: 3 }]);
  assert.deepEqual(listControllers(driver.state).map((c) => c.controllerId), [5]);
  const refused = mustReject(driver, { type: "UnregisterController", controllerId: 4 }, "UNKNOWN_CONTROLLER");
  assert.equal(refused.field, "controllerId");
  assert.equal(refused.message, "Cannot unregister controller 4 as it is not registered");
});

test("RegisterController refuses ids outside [1, 2^32 - 1], empty or long hosts and bad ports, naming the field", () => {
  const cases: [Parameters<typeof registerController>[1] & { controllerId?: number }, string][] = [
    [{ controllerId: 0 }, "controllerId"],
    [{ controllerId: 2 ** 32 }, "controllerId"],
    [{ controllerId: -1 }, "controllerId"],
    [{ raftHost: "" }, "raftHost"],
    [{ apiHost: "h".repeat(limits.metadata.stringLengthMax + 1) }, "apiHost"],
    [{ raftPort: 0 }, "raftPort"],
    [{ apiPort: 65_536 }, "apiPort"],
  ];
  for (const [overrides, field] of cases) {
    const driver = createDriver();
    const rejection = mustReject(driver, registerController(overrides.controllerId ?? 4, overrides), "INVALID_COMMAND");
    assert.equal(rejection.field, field, JSON.stringify(overrides));
    assert.deepEqual(listControllers(driver.state), [], "a refused registration changes nothing");
  }
  assert.equal(run(createDriver(), registerController(2 ** 32 - 1, { raftPort: 9101, apiPort: 9001 })).ok, true, "the largest u32 is an id");
});

test("the registry holds at most controllersCountMax controllers; re-registering one of them still works", () => {
  const driver = createDriver({ stepMs: 0 });
  for (let id = 1; id <= limits.metadata.controllersCountMax; id++) mustApply(driver, registerController(id, { raftPort: 10_000 + id }));
  const refused = mustReject(driver, registerController(limits.metadata.controllersCountMax + 1), "LIMIT_EXCEEDED");
  assert.equal(refused.field, "controllerId");
  mustApply(driver, registerController(1, { raftPort: 20_000 }));
  mustApply(driver, { type: "UnregisterController", controllerId: 2 });
  mustApply(driver, registerController(limits.metadata.controllersCountMax + 1));
});

test("controller records reach brokers' deltas but not producers' and consumers'", () => {
  const driver = createDriver();
  mustApply(driver, registerController(4));
  mustApply(driver, { type: "UnregisterController", controllerId: 4 });
  const forBrokers = changesSince(driver.state, 0, driver.nowMs, { view: "broker" });
  assert.deepEqual(forBrokers.kind === "delta" && forBrokers.records.map((r) => r.name), ["RegisterControllerRecord", "UnregisterControllerRecord"]);
  const forClients = changesSince(driver.state, 0, driver.nowMs, { view: "client" });
  assert.deepEqual(forClients.kind === "delta" && forClients.records, []);
});

test("registered controllers survive a snapshot round trip, in id order and byte for byte", () => {
  const driver = createDriver();
  mustApply(driver, registerController(7));
  mustApply(driver, registerController(4, { raftHost: "::1", apiHost: "::1" }));
  const bytes = encodeSnapshot(driver.state);
  const restored = decodeSnapshot(bytes, driver.state.offset);
  assert.deepEqual(listControllers(restored), listControllers(driver.state));
  assert.deepEqual([...restored.controllers.keys()].sort(), [4, 7]);
  assert.deepEqual(encodeSnapshot(restored), bytes);
});

test("a version 1 snapshot, from before controllers were registered, decodes with none", () => {
  const driver = createDriver();
  mustApply(driver, registerController(4));
  const image = JSON.parse(new TextDecoder().decode(encodeSnapshot(driver.state))) as Record<string, unknown>;
  const { controllers: _controllers, ...older } = { ...image, version: 1 } as Record<string, unknown>;
  const restored = decodeSnapshot(new TextEncoder().encode(JSON.stringify(older)), driver.state.offset);
  assert.equal(restored.controllers.size, 0);
  assert.equal(restored.offset, driver.state.offset);
});
