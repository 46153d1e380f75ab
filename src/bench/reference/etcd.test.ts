import assert from "node:assert/strict";
import { test } from "node:test";
import { base64, etcdArgs } from "./etcd.js";
import type { EtcdMember } from "./etcd.js";

const members: EtcdMember[] = [
  { name: "etcd-1", clientPort: 2001, peerPort: 3001, dataDir: "/tmp/d/etcd-1" },
  { name: "etcd-2", clientPort: 2002, peerPort: 3002, dataDir: "/tmp/d/etcd-2" },
  { name: "etcd-3", clientPort: 2003, peerPort: 3003, dataDir: "/tmp/d/etcd-3" },
];

function flagValue(args: readonly string[], flag: string): string | undefined {
  const at = args.indexOf(flag);
  return at === -1 ? undefined : args[at + 1];
}

test("etcdArgs() gives a member its own loopback URLs and the whole initial cluster", () => {
  const args = etcdArgs(members, 1, "token-1");
  assert.equal(flagValue(args, "--name"), "etcd-2");
  assert.equal(flagValue(args, "--data-dir"), "/tmp/d/etcd-2");
  assert.equal(flagValue(args, "--listen-client-urls"), "http://127.0.0.1:2002");
  assert.equal(flagValue(args, "--advertise-client-urls"), "http://127.0.0.1:2002");
  assert.equal(flagValue(args, "--listen-peer-urls"), "http://127.0.0.1:3002");
  assert.equal(flagValue(args, "--initial-advertise-peer-urls"), "http://127.0.0.1:3002");
  assert.equal(flagValue(args, "--initial-cluster"), "etcd-1=http://127.0.0.1:3001,etcd-2=http://127.0.0.1:3002,etcd-3=http://127.0.0.1:3003");
  assert.equal(flagValue(args, "--initial-cluster-state"), "new");
  assert.equal(flagValue(args, "--initial-cluster-token"), "token-1");
});

test("etcdArgs() keeps etcd's defaults for durability: no flag that turns fsync off", () => {
  const args = etcdArgs(members, 0, "t");
  assert(!args.some((arg) => /unsafe-no-fsync|snapshot-count/.test(arg)), args.join(" "));
});

test("etcdArgs() refuses a member that is not in the list", () => {
  assert.throws(() => etcdArgs(members, 3, "t"), /no member 3/);
});

test("base64() encodes keys as etcd's JSON gateway expects", () => {
  assert.equal(base64("bench/r1"), "YmVuY2gvcjE=");
});
