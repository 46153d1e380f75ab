import assert from "node:assert/strict";
import { test } from "node:test";
import { javaArgs, parseServerMode, zooCfg } from "./zookeeper.js";
import type { ZooKeeperServer } from "./zookeeper.js";

const servers: ZooKeeperServer[] = [1, 2, 3].map((id) => ({ id, clientPort: 2000 + id, quorumPort: 3000 + id, electionPort: 4000 + id, dir: `/tmp/z/zookeeper-${id}` }));

test("zooCfg() gives a server its own data dir and client port and lists the whole ensemble", () => {
  const lines = zooCfg(servers, 2).trimEnd().split("\n");
  assert.deepEqual(lines, [
    "tickTime=2000",
    "initLimit=10",
    "syncLimit=5",
    "dataDir=/tmp/z/zookeeper-2/data",
    "clientPort=2002",
    "clientPortAddress=127.0.0.1",
    "maxClientCnxns=0",
    "admin.enableServer=false",
    "4lw.commands.whitelist=srvr",
    "server.1=127.0.0.1:3001:4001",
    "server.2=127.0.0.1:3002:4002",
    "server.3=127.0.0.1:3003:4003",
  ]);
});

test("zooCfg() leaves forceSync at its default (on)", () => {
  assert(!zooCfg(servers, 1).includes("forceSync"));
});

test("zooCfg() refuses a server id that is not in the ensemble", () => {
  assert.throws(() => zooCfg(servers, 4), /no server 4/);
});

test("javaArgs() runs QuorumPeerMain from the package's jars with a bounded heap", () => {
  const args = javaArgs("/tmp/z/zoo.cfg", "/tmp/z");
  assert.match(args[0] ?? "", /^-Xmx\d+m$/);
  assert.deepEqual(args.slice(-2), ["org.apache.zookeeper.server.quorum.QuorumPeerMain", "/tmp/z/zoo.cfg"]);
  assert.match(args[args.indexOf("-cp") + 1] ?? "", /\/usr\/share\/java\/zookeeper\.jar/);
});

test("parseServerMode() reads the Mode line of a srvr answer", () => {
  const answer = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nMode: follower\nNode count: 5\n";
  assert.equal(parseServerMode(answer), "follower");
  assert.equal(parseServerMode("This ZooKeeper instance is not currently serving requests\n"), undefined);
});
