import assert from "node:assert/strict";
import { test } from "node:test";
import { defaultLivenessSettings } from "../controller/brokerLiveness.js";
import { compatProfileNames, defaultElectionSettings, defaultSnapshotSettings } from "../controller/config.js";
import type { ControllerConfig } from "../controller/config.js";
import { limits } from "../shared/limits.js";
import { controllerUsage, parseControllerArgs } from "./controllerArgs.js";

const canonical = ["--id", "2", "--raft", "127.0.0.1:9102", "--api", "127.0.0.1:9002", "--peers", "1@127.0.0.1:9101:9001,3@127.0.0.1:9103:9003"];
const pyraft = ["-i", "2", "-a", "127.0.0.1:9102", "-e", "1/127.0.0.1:9101,3/127.0.0.1:9103"];

function config(argv: readonly string[]): ControllerConfig {
  const parsed = parseControllerArgs(argv);
  assert.equal(parsed.kind, "config", parsed.kind === "error" ? parsed.message : parsed.kind);
  assert(parsed.kind === "config");
  return parsed.config;
}

function error(argv: readonly string[]): string {
  const parsed = parseControllerArgs(argv);
  assert.equal(parsed.kind, "error", `expected an error for ${JSON.stringify(argv)}`);
  assert(parsed.kind === "error");
  assert.match(parsed.message, /^Cannot start controller as /);
  return parsed.message;
}

const expectedMembers = [
  { id: 1, raft: { host: "127.0.0.1", port: 9101 }, api: { host: "127.0.0.1", port: 9001 } },
  { id: 2, raft: { host: "127.0.0.1", port: 9102 }, api: { host: "127.0.0.1", port: 9002 } },
  { id: 3, raft: { host: "127.0.0.1", port: 9103 }, api: { host: "127.0.0.1", port: 9003 } },
];

test("the canonical form without this node in --peers adds it, sorts members by id and fills the defaults", () => {
  assert.deepEqual(config(canonical), {
    id: 2,
    dataDir: "data/controller-2",
    raft: { host: "127.0.0.1", port: 9102 },
    api: { host: "127.0.0.1", port: 9002 },
    members: expectedMembers,
    join: false,
    clusterId: "yakt",
    election: defaultElectionSettings,
    snapshot: defaultSnapshotSettings,
    liveness: defaultLivenessSettings,
    deltaAgeMs: limits.metadata.deltaAgeMsDefault,
    compatProfile: "flask-a",
  });
});

test("the canonical form accepts this node listed in --peers with the same addresses", () => {
  const peers = "3@127.0.0.1:9103:9003,2@127.0.0.1:9102:9002,1@127.0.0.1:9101:9001";
  assert.deepEqual(config([...canonical.slice(0, 6), "--peers", peers]).members, expectedMembers);
});

test("the pyraft form derives every API port as the Raft port + 1000", () => {
  const parsed = config(pyraft);
  assert.deepEqual(
    parsed.members,
    expectedMembers.map((m) => ({ ...m, api: { host: "127.0.0.1", port: m.raft.port + 1000 } })),
  );
  assert.deepEqual(parsed.api, { host: "127.0.0.1", port: 10_102 });
  assert.equal(parsed.dataDir, "data/controller-2");
});

test("the pyraft form derives API addresses on each member's own host", () => {
  const parsed = config(["-i", "1", "-a", "10.0.0.1:5000", "-e", "2/10.0.0.2:5000,3/[::1]:6000"]);
  assert.deepEqual(
    parsed.members.map((m) => m.api),
    [
      { host: "10.0.0.1", port: 6000 },
      { host: "10.0.0.2", port: 6000 },
      { host: "::1", port: 7000 },
    ],
  );
});

test("the pyraft form accepts this node listed in -e, and --api overrides only its own API address", () => {
  const parsed = config(["-i", "2", "-a", "127.0.0.1:9102", "-e", "1/127.0.0.1:9101,2/127.0.0.1:9102,3/127.0.0.1:9103", "--api", "127.0.0.1:8000"]);
  assert.deepEqual(parsed.api, { host: "127.0.0.1", port: 8000 });
  assert.deepEqual(
    parsed.members.map((m) => m.api.port),
    [10_101, 8000, 10_103],
  );
});

test("the pyraft form with --api needs no derivable API port for this node", () => {
  const parsed = config(["-i", "1", "-a", "127.0.0.1:65000", "-e", "2/127.0.0.1:9102", "--api", "127.0.0.1:9001"]);
  assert.deepEqual(parsed.api, { host: "127.0.0.1", port: 9001 });
});

test("every option is read in both the --flag value and --flag=value forms", () => {
  const parsed = config([
    ...canonical,
    "--data=/var/yakt/c2",
    "--cluster-id",
    "prod.eu-1_a",
    "--tick-ms=20",
    "--election-ticks",
    "40",
    "--heartbeat-ticks=4",
    "--snapshot-entries",
    "500",
    "--snapshot-bytes=1048576",
  ]);
  assert.equal(parsed.dataDir, "/var/yakt/c2");
  assert.equal(parsed.clusterId, "prod.eu-1_a");
  assert.deepEqual(parsed.election, { tickIntervalMs: 20, electionTimeoutTicks: 40, heartbeatIntervalTicks: 4 });
  assert.deepEqual(parsed.snapshot, { snapshotEntriesCount: 500, snapshotBytes: 1_048_576 });
  assert.deepEqual(config(["--id=2", "--raft=127.0.0.1:9102", "--api=127.0.0.1:9002", `--peers=${canonical[7]}`]), config(canonical));
});

test("the pyraft form takes the common options too", () => {
  const parsed = config([...pyraft, "--data", "d", "--cluster-id", "c", "--tick-ms", "5"]);
  assert.equal(parsed.dataDir, "d");
  assert.equal(parsed.clusterId, "c");
  assert.equal(parsed.election.tickIntervalMs, 5);
});

test("IPv6 hosts are given in brackets and kept without them", () => {
  const parsed = config(["--id", "1", "--raft", "[::1]:9101", "--api", "[::1]:9001", "--peers", "2@[::1]:9102:9002"]);
  assert.deepEqual(parsed.raft, { host: "::1", port: 9101 });
  assert.deepEqual(parsed.members[1], { id: 2, raft: { host: "::1", port: 9102 }, api: { host: "::1", port: 9002 } });
});

test("a single-node cluster lists only itself", () => {
  const parsed = config(["--id", "1", "--raft", "localhost:9101", "--api", "localhost:9001", "--peers", "1@localhost:9101:9001"]);
  assert.equal(parsed.members.length, 1);
});

test("-h and --help ask for help, wherever they stand", () => {
  assert.deepEqual(parseControllerArgs(["--help"]), { kind: "help" });
  assert.deepEqual(parseControllerArgs([...canonical, "-h"]), { kind: "help" });
  assert.deepEqual(parseControllerArgs(["--id", "x", "--help"]), { kind: "help" });
});

test("the usage documents every flag", () => {
  const flags = ["--id", "--raft", "--api", "--peers", "--data", "-i ", "-a ", "-e ", "--cluster-id", "--tick-ms", "--election-ticks"];
  for (const flag of [...flags, "--heartbeat-ticks", "--snapshot-entries", "--snapshot-bytes", "--join", "-h, --help", "+ 1000"]) {
    assert.ok(controllerUsage.includes(flag), flag);
  }
});

test("--join starts a node that joins a running cluster; it takes no value, in both forms", () => {
  const joining = config([...canonical, "--join"]);
  assert.equal(joining.join, true);
  assert.deepEqual(joining.members, expectedMembers, "--peers still names the members it must reach");
  assert.equal(config(["--join", ...pyraft]).join, true);
  assert.match(error([...canonical, "--join=yes"]), /--join takes no value: current value is "--join=yes"/);
  assert.match(error([...canonical, "--join", "--join"]), /--join is given twice/);
  assert.match(error(["--id", "--join", ...canonical.slice(2)]), /--id needs a value/);
});

test("unknown flags, missing values, repeated flags and positional arguments are refused", () => {
  assert.match(error([...canonical, "--verbose"]), /--verbose is not a flag of yakt controller: current value is "--verbose"/);
  assert.match(error([...canonical, "--colour=red"]), /--colour is not a flag/);
  assert.match(error([...canonical, "-x", "1"]), /-x is not a flag/);
  assert.match(error([...canonical, "extra"]), /takes no positional arguments: current value is "extra"/);
  assert.match(error([...canonical, "--data"]), /--data needs a value$/);
  assert.match(error(["--id", "--raft", "127.0.0.1:9102"]), /--id needs a value/);
  assert.match(error(["-i", "-a", "127.0.0.1:9102"]), /-i needs a value/);
  assert.match(error([...canonical, "--id", "3"]), /--id is given twice: current values are "2" and "3"/);
});

test("each required flag of each form is required", () => {
  for (const flag of ["--id", "--raft", "--api", "--peers"]) {
    const at = canonical.indexOf(flag);
    assert.match(error([...canonical.slice(0, at), ...canonical.slice(at + 2)]), new RegExp(`${flag} is required$`));
  }
  for (const flag of ["-i", "-a", "-e"]) {
    const at = pyraft.indexOf(flag);
    assert.match(error([...pyraft.slice(0, at), ...pyraft.slice(at + 2)]), new RegExp(`${flag} is required$`));
  }
  assert.match(error([]), /--id is required/);
});

test("the two forms cannot be mixed", () => {
  assert.match(error([...canonical, "-e", "1/127.0.0.1:9101"]), /--id, --raft, --peers cannot be mixed with the pyraft form's -e$/);
  assert.match(error([...pyraft, "--peers", "1@127.0.0.1:9101:9001"]), /--peers cannot be mixed with the pyraft form's -i, -a, -e/);
});

test("ids must be positive integers that fit in a u32", () => {
  for (const bad of ["x", "0", "-1", "1.5", "", " 1", "0x10"]) {
    assert.equal(error(["--id", bad, ...canonical.slice(2)]), `Cannot start controller as --id must be a positive integer: current value is ${JSON.stringify(bad)}`);
  }
  assert.match(error(["--id", "4294967296", ...canonical.slice(2)]), /--id must be at most 4294967295/);
  assert.match(error(["-i", "x", ...pyraft.slice(2)]), /-i must be a positive integer/);
  assert.match(error([...canonical.slice(0, 7), "0@127.0.0.1:9101:9001"]), /the id of each --peers member must be a positive integer: current value is "0@127.0.0.1:9101:9001"/);
  assert.match(error([...pyraft.slice(0, 5), "a/127.0.0.1:9101"]), /the id of each -e member must be a positive integer/);
});

test("ids must be unique", () => {
  assert.match(error([...canonical.slice(0, 7), "1@127.0.0.1:9101:9001,1@127.0.0.1:9103:9003"]), /--peers lists controller 1 twice/);
  assert.match(error([...pyraft.slice(0, 5), "1/127.0.0.1:9101,1/127.0.0.1:9103"]), /-e lists controller 1 twice/);
});

test("ports must be integers from 1 to 65535", () => {
  for (const bad of ["0", "65536", "x", "", "-1", "9101.5", "123456"]) {
    assert.match(error([...canonical.slice(0, 2), "--raft", `127.0.0.1:${bad}`, ...canonical.slice(4)]), /--raft must have a port from 1 to 65535/);
  }
  assert.match(error([...canonical.slice(0, 4), "--api", "[::1]:0", ...canonical.slice(6)]), /--api must have a port from 1 to 65535: current value is "\[::1\]:0"/);
  assert.match(error([...canonical.slice(0, 7), "1@127.0.0.1:9101:70000"]), /each --peers member must have a port from 1 to 65535/);
  assert.match(error([...canonical.slice(0, 7), "1@127.0.0.1:0:9001"]), /each --peers member must have a port/);
  assert.match(error([...pyraft.slice(0, 5), "1/127.0.0.1:99999"]), /each -e member must have a port/);
});

test("addresses must be HOST:PORT with a host, IPv6 in brackets", () => {
  const raft = (value: string) => error([...canonical.slice(0, 2), "--raft", value, ...canonical.slice(4)]);
  assert.match(raft("127.0.0.1"), /--raft must be HOST:PORT: current value is "127.0.0.1"/);
  assert.match(raft(":9101"), /--raft must name a host/);
  assert.match(raft("::1:9101"), /--raft must put an IPv6 address in brackets, as in \[::1\]:9101/);
  assert.match(raft("[::1]9101"), /--raft must be \[IPV6\]:PORT/);
  assert.match(raft("[::1:9101"), /--raft must be \[IPV6\]:PORT/);
  assert.match(raft("[not-v6]:9101"), /--raft must hold an IPv6 address in brackets/);
  assert.match(raft("bad host:9101"), /--raft must name a host by at most 253 letters/);
  assert.match(raft(`${"a".repeat(254)}:9101`), /--raft must name a host by at most 253/);
  assert.match(error([...pyraft.slice(0, 2), "-a", "nohost", ...pyraft.slice(4)]), /-a must be HOST:PORT/);
});

test("list items must have the right shape", () => {
  const peers = (value: string) => error([...canonical.slice(0, 6), "--peers", value]);
  assert.match(peers("1@127.0.0.1:9101"), /each --peers member must be ID@HOST:RAFT_PORT:API_PORT: current value is "1@127.0.0.1:9101"/);
  assert.match(peers("127.0.0.1:9101:9001"), /each --peers member must be ID@HOST:RAFT_PORT:API_PORT/);
  assert.match(peers("1@::1:9101:9001"), /each --peers member must put an IPv6 address in brackets/);
  assert.match(peers("1@127.0.0.1:9101:9001,"), /--peers must be a comma-separated list with no empty item/);
  assert.match(peers(""), /--peers must be a comma-separated list with no empty item/);
  assert.match(error([...pyraft.slice(0, 5), "1@127.0.0.1:9101"]), /each -e member must be ID\/HOST:PORT/);
});

test("this node listed among the members must have the addresses of --raft and --api (or -a)", () => {
  assert.match(
    error([...canonical.slice(0, 6), "--peers", "2@127.0.0.1:9102:9005"]),
    /--peers lists this controller \(2\) at other addresses than its own: current values are "127.0.0.1:9102 127.0.0.1:9005" and "127.0.0.1:9102 127.0.0.1:9002"/,
  );
  assert.match(error([...canonical.slice(0, 6), "--peers", "2@localhost:9102:9002"]), /lists this controller \(2\) at other addresses/);
  assert.match(error([...pyraft.slice(0, 5), "2/127.0.0.1:9999"]), /-e lists this controller \(2\) at other addresses/);
});

test("the pyraft form refuses a derived API port above 65535", () => {
  assert.match(
    error(["-i", "1", "-a", "127.0.0.1:64600", "-e", "2/127.0.0.1:9102"]),
    /the API port of controller 1 \(its Raft port \+ 1000\) must be at most 65535: current value is "65600"/,
  );
  assert.match(error(["-i", "1", "-a", "127.0.0.1:9101", "-e", "2/127.0.0.1:65000"]), /the API port of controller 2/);
});

test("no two members share a Raft or API address", () => {
  const peers = (value: string) => error([...canonical.slice(0, 6), "--peers", value]);
  assert.match(peers("1@127.0.0.1:9102:9001"), /the Raft address of controller 2 is also the Raft address of controller 1: current value is "127.0.0.1:9102"/);
  assert.match(peers("1@127.0.0.1:9101:9002"), /the API address of controller 2 is also the API address of controller 1/);
  assert.match(peers("1@127.0.0.1:9101:9101"), /the API address of controller 1 is also the Raft address of controller 1/);
  assert.match(peers("1@LOCALHOST:9101:9001,3@localhost:9101:9003"), /the Raft address of controller 3 is also the Raft address of controller 1/);
  assert.match(error([...pyraft, "--api", "127.0.0.1:10101"]), /the API address of controller 2 is also the API address of controller 1/);
});

test("a cluster has at most membersCountMax members", () => {
  const countMax = limits.raft.membersCountMax;
  const peersOf = (count: number) => Array.from({ length: count }, (_, i) => `${i + 10}@127.0.0.1:${20_000 + i}:${30_000 + i}`).join(",");
  assert.equal(config([...canonical.slice(0, 6), "--peers", peersOf(countMax - 1)]).members.length, countMax);
  assert.match(error([...canonical.slice(0, 6), "--peers", peersOf(countMax)]), new RegExp(`at most ${countMax} members: current value is "${countMax + 1}"`));
});

test("the cluster id is 1 to 255 bytes of A-Z a-z 0-9 . _ -", () => {
  assert.equal(config([...canonical, "--cluster-id", "a".repeat(255)]).clusterId.length, 255);
  for (const bad of ["", "a".repeat(256), "has space", "é", "a/b"]) {
    assert.match(error([...canonical, "--cluster-id", bad]), /--cluster-id must be 1 to 255 of A-Z a-z 0-9 \. _ -/);
  }
});

test("timing options are positive integers, the tick at most 1000 ms and the heartbeat below the election timeout", () => {
  assert.match(error([...canonical, "--tick-ms", "0"]), /--tick-ms must be an integer from 1 to 1000: current value is "0"/);
  assert.match(error([...canonical, "--tick-ms", "1001"]), /--tick-ms must be an integer from 1 to 1000/);
  assert.equal(config([...canonical, "--tick-ms", "1000"]).election.tickIntervalMs, 1000);
  assert.match(error([...canonical, "--election-ticks", "ten"]), /--election-ticks must be a positive integer: current value is "ten"/);
  assert.match(error([...canonical, "--heartbeat-ticks", "0"]), /--heartbeat-ticks must be a positive integer/);
  assert.match(error([...canonical, "--heartbeat-ticks", "30"]), /--heartbeat-ticks must be below --election-ticks: current values are 30 and 30/);
  assert.match(error([...canonical, "--election-ticks", "3"]), /current values are 5 and 3/);
  assert.match(error([...canonical, "--election-ticks", "99999999999999999999"]), /--election-ticks must be a positive integer/);
});

test("snapshot options are positive integers", () => {
  assert.match(error([...canonical, "--snapshot-entries", "0"]), /--snapshot-entries must be a positive integer: current value is "0"/);
  assert.match(error([...canonical, "--snapshot-bytes", "1e6"]), /--snapshot-bytes must be a positive integer/);
});

test("--data must not be empty", () => {
  assert.match(error([...canonical, "--data="]), /--data must name a directory/);
});

test("--compat-profile chooses the compatibility profile mounted at the root; an unknown name is refused", () => {
  for (const name of compatProfileNames) {
    assert.equal(config([...canonical, "--compat-profile", name]).compatProfile, name);
    assert.equal(config([...pyraft, `--compat-profile=${name}`]).compatProfile, name);
  }
  assert.match(error([...canonical, "--compat-profile", "django"]), /--compat-profile must be one of flask-a, flask-b, syncobj, fastapi, go-rest: current value is "django"/);
  assert.match(error([...canonical, "--compat-profile", "FLASK-A"]), /--compat-profile must be one of/);
  assert.match(error([...canonical, "--compat-profile"]), /--compat-profile needs a value/);
  assert.match(controllerUsage, /--compat-profile NAME/);
});
