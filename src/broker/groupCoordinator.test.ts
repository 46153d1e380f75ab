import assert from "node:assert/strict";
import { test } from "node:test";
import { GroupCoordinator } from "./groupCoordinator.js";

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function coordinator(): GroupCoordinator {
  let next = 0;
  return new GroupCoordinator({ nowMs: () => 0, sessionTimeoutMs: 3_000, newMemberId: () => `member-${++next}` });
}

// A commit is checked against the generation, then appended with acks=all, which can take seconds under
// faults. A member given the partition in between must not read the offsets from before that append:
// it would start behind a commit about to land, and its own next commit would take the offset back.
test("a group's committed offsets wait for the commits of the group being appended; other groups' do not", async () => {
  const c = coordinator();
  let land: (() => void) | undefined;
  let refuse: ((error: Error) => void) | undefined;
  const appended = c.appending("g", new Promise<void>((resolve) => (land = resolve)));
  const failed = c.appending("g", new Promise<void>((_, reject) => (refuse = reject)));
  let settled = false;
  const waiting = c.commitsSettled("g").then(() => (settled = true));
  await c.commitsSettled("other");
  await flush();
  assert.equal(settled, false, "two commits of g are being appended");
  land?.();
  await appended;
  await flush();
  assert.equal(settled, false, "one commit of g is still being appended");
  refuse?.(new Error("REQUEST_TIMED_OUT"));
  await assert.rejects(failed, /REQUEST_TIMED_OUT/);
  await waiting;
  assert.equal(settled, true, "a commit that failed has settled too");
  await c.commitsSettled("g");
});
