import type { Broker } from "../metadata/records.js";

/** How often brokers heartbeat (MetadataFetch) and how long the leader waits before fencing one. */
export interface LivenessSettings {
  /** Told to brokers in every heartbeat answer; they fetch at least this often. */
  readonly heartbeatIntervalMs: number;
  /** A broker not heard from for this long is fenced (KIP-631's broker session timeout). */
  readonly sessionTimeoutMs: number;
}

/** Defaults as in SPEC §4: a heartbeat every 2 s, fenced after 9 s of silence (Kafka's own defaults). */
export const defaultLivenessSettings: LivenessSettings = { heartbeatIntervalMs: 2_000, sessionTimeoutMs: 9_000 };

/** What the leader should propose for one broker after a heartbeat or a check. */
export type LivenessAction =
  | { readonly kind: "fence"; readonly brokerId: number; readonly brokerEpoch: number }
  | { readonly kind: "unfence"; readonly brokerId: number; readonly brokerEpoch: number };

interface Session {
  lastHeartbeatMs: number;
  /**
   * For a broker not yet UNFENCED: the metadata offset it must report to count as caught up, fixed at
   * its first heartbeat of this epoch (the leader's applied offset then). KIP-631 unfences a broker
   * once it has replayed the log up to its own registration; this is the same idea with a target the
   * leader can set without searching the log.
   */
  catchUp: { readonly brokerEpoch: number; readonly offset: number } | undefined;
}

/**
 * Broker sessions as the leader sees them (DESIGN §6, as in KRaft): heartbeat times live only in the
 * leader's memory and are never replicated. A new leader calls `reset` and every broker starts with a
 * fresh session, so a leader change never fences a broker that was heartbeating to the old leader.
 * Time is passed in, so the rules are tested without clocks.
 */
export class BrokerLiveness {
  private readonly sessions = new Map<number, Session>();
  /** Fences and unfences proposed and not yet seen applied: the same one is not proposed twice. */
  private readonly inFlight = new Set<string>();

  constructor(readonly settings: LivenessSettings = defaultLivenessSettings) {}

  /** Every broker gets a full session from `nowMs` (on becoming leader). */
  reset(brokers: readonly Broker[], nowMs: number): void {
    this.sessions.clear();
    this.inFlight.clear();
    for (const broker of brokers) {
      if (broker.brokerStatus !== "CLOSED") this.sessions.set(broker.brokerId, { lastHeartbeatMs: nowMs, catchUp: undefined });
    }
  }

  /**
   * A heartbeat from `broker` (its state as the leader holds it) that reported `brokerOffset`, while
   * the leader has applied up to `appliedOffset`. Returns the unfence to propose once it has caught up.
   */
  heartbeat(broker: Broker, brokerOffset: number, appliedOffset: number, nowMs: number): LivenessAction | undefined {
    let session = this.sessions.get(broker.brokerId);
    if (session === undefined) {
      session = { lastHeartbeatMs: nowMs, catchUp: undefined };
      this.sessions.set(broker.brokerId, session);
    }
    session.lastHeartbeatMs = nowMs;
    if (broker.brokerStatus !== "INIT" && broker.brokerStatus !== "FENCED") {
      session.catchUp = undefined;
      return undefined;
    }
    if (session.catchUp?.brokerEpoch !== broker.epoch) session.catchUp = { brokerEpoch: broker.epoch, offset: appliedOffset };
    if (brokerOffset < session.catchUp.offset) return undefined;
    return this.claim({ kind: "unfence", brokerId: broker.brokerId, brokerEpoch: broker.epoch });
  }

  /** Fences to propose: live brokers whose last heartbeat is older than the session timeout. */
  expired(brokers: readonly Broker[], nowMs: number): LivenessAction[] {
    const actions: LivenessAction[] = [];
    for (const broker of brokers) {
      if (broker.brokerStatus !== "INIT" && broker.brokerStatus !== "UNFENCED") continue;
      const session = this.sessions.get(broker.brokerId);
      if (session === undefined) {
        // Registered after this leader's reset: its session starts now.
        this.sessions.set(broker.brokerId, { lastHeartbeatMs: nowMs, catchUp: undefined });
        continue;
      }
      if (nowMs - session.lastHeartbeatMs < this.settings.sessionTimeoutMs) continue;
      const action = this.claim({ kind: "fence", brokerId: broker.brokerId, brokerEpoch: broker.epoch });
      if (action !== undefined) actions.push(action);
    }
    return actions;
  }

  /** The proposal of `action` finished (applied, refused or failed): it may be proposed again. */
  settled(action: LivenessAction): void {
    this.inFlight.delete(actionKey(action));
  }

  /** A registration (new or returning) starts a fresh session. */
  registered(brokerId: number, nowMs: number): void {
    this.sessions.set(brokerId, { lastHeartbeatMs: nowMs, catchUp: undefined });
  }

  private claim(action: LivenessAction): LivenessAction | undefined {
    const key = actionKey(action);
    if (this.inFlight.has(key)) return undefined;
    this.inFlight.add(key);
    return action;
  }
}

function actionKey(action: LivenessAction): string {
  return `${action.kind}/${action.brokerId}/${action.brokerEpoch}`;
}
