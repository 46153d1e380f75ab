import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ControllerStatus } from "../controller/controller.js";
import type { TransportCounters } from "../transport/transport.js";

export interface MetricsSources {
  status(): ControllerStatus;
  transportCounters?: () => TransportCounters;
  /** Whether to include the process's CPU, memory and event-loop metrics (off in tests that build many apps). */
  readonly processMetrics?: boolean;
}

/**
 * `GET /metrics` in Prometheus text format: Raft state read on each scrape, HTTP requests counted by
 * route and status, transport counters, and the process's own metrics. One registry per app, so apps
 * built side by side in one process do not share series.
 */
export function registerMetrics(app: FastifyInstance, sources: MetricsSources): void {
  const registry = new Registry();
  if (sources.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: "yakt_" });
  const raftGauge = (name: string, help: string, read: (s: ControllerStatus) => number): void => {
    new Gauge({ name: `yakt_raft_${name}`, help, registers: [registry], collect() {
      this.set(read(sources.status()));
    } });
  };
  raftGauge("term", "Current Raft term", (s) => s.term);
  raftGauge("leader_id", "Id of the leader this node knows (0: none)", (s) => s.leaderId);
  raftGauge("is_leader", "1 on the leader", (s) => (s.role === "leader" ? 1 : 0));
  raftGauge("commit_index", "Highest log index known committed", (s) => s.commitIndex);
  raftGauge("applied_index", "Highest log index applied to the state machine", (s) => s.appliedIndex);
  raftGauge("last_index", "Index of the last entry in this node's log", (s) => s.lastIndex);
  raftGauge("snapshot_index", "Index of the latest snapshot", (s) => s.snapshotIndex);
  new Gauge({
    name: "yakt_raft_follower_match_index",
    help: "On the leader: the highest index known replicated on each follower",
    labelNames: ["peer"],
    registers: [registry],
    collect() {
      this.reset();
      for (const p of sources.status().progress) this.set({ peer: String(p.id) }, p.matchIndex);
    },
  });
  const transportCounters = sources.transportCounters;
  if (transportCounters !== undefined) {
    new Gauge({
      name: "yakt_transport_messages",
      help: "Raft messages by outcome since start",
      labelNames: ["outcome"],
      registers: [registry],
      collect() {
        const c = transportCounters();
        this.set({ outcome: "sent" }, c.messagesSent);
        this.set({ outcome: "received" }, c.messagesReceived);
        this.set({ outcome: "dropped" }, c.messagesDropped);
      },
    });
  }
  const requests = new Counter({ name: "yakt_http_requests_total", help: "HTTP requests by route and status", labelNames: ["method", "route", "status"], registers: [registry] });
  const durations = new Histogram({
    name: "yakt_http_request_duration_seconds",
    help: "HTTP request duration by route",
    labelNames: ["method", "route"],
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  // A callback hook, not an async one: it runs on every request, and an async hook costs a promise each time.
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    requests.inc({ method: request.method, route, status: String(reply.statusCode) });
    durations.observe({ method: request.method, route }, reply.elapsedTime / 1000);
    done();
  });
  app.get("/metrics", { schema: { hide: true } }, async (_request, reply) => {
    void reply.header("content-type", registry.contentType);
    return registry.metrics();
  });
}
