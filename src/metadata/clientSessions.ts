import { limits } from "../shared/limits.js";
import { checkCount, checkText } from "./checks.js";
import type { ClientSession } from "./commands.js";
import type { ApplyResult, Rejection } from "./results.js";
import { reject } from "./results.js";
import type { MetadataState } from "./state.js";

/**
 * Exactly-once writes (DESIGN §6, after Raft dissertation §6.3): the last result per client is part of
 * the replicated state, so a write retried after a lost answer or a leader change is answered again, not
 * applied twice. A client numbers its writes; sequences must not go down, gaps are allowed.
 */
export type SessionCheck =
  | { readonly kind: "new" }
  /** The stored answer to this very write, marked `replayed`. */
  | { readonly kind: "replay"; readonly result: ApplyResult }
  | { readonly kind: "refused"; readonly rejection: Rejection };

export function checkClientSession(state: MetadataState, session: ClientSession): SessionCheck {
  const problem = checkText(session.clientId, "clientSession.clientId") ?? checkCount(session.sequence, "clientSession.sequence");
  if (problem !== undefined) return { kind: "refused", rejection: problem };
  const entry = state.clientSessions.get(session.clientId);
  if (entry === undefined || session.sequence > entry.sequence) return { kind: "new" };
  if (session.sequence === entry.sequence) return { kind: "replay", result: { ...entry.result, replayed: true } };
  const message = `Cannot apply write ${session.sequence} of client ${session.clientId} as a later one was applied: current value is ${entry.sequence}`;
  return { kind: "refused", rejection: reject("STALE_CLIENT_SEQUENCE", message, "clientSession.sequence") };
}

/**
 * Stores a client's latest answer. Beyond `countMax` clients the entry with the oldest timestamp goes
 * (lowest clientId among equals; never the one just stored), a choice every replica makes alike. Finding it scans the table, which
 * only happens once the table is full.
 */
export function storeClientSession(
  state: MetadataState,
  session: ClientSession,
  answer: { readonly result: ApplyResult; readonly timestampMs: number },
  countMax: number = limits.metadata.clientSessionsCountMax,
): void {
  const result = answer.result.ok ? { ...answer.result, records: [] } : answer.result;
  state.clientSessions.set(session.clientId, { sequence: session.sequence, timestampMs: answer.timestampMs, result });
  while (state.clientSessions.size > countMax) {
    const oldest = oldestClientId(state, session.clientId);
    if (oldest === undefined) return;
    state.clientSessions.delete(oldest);
  }
}

/** The entry to evict; never `kept`, the one just stored, even when the leader's clock went back. */
function oldestClientId(state: MetadataState, kept: string): string | undefined {
  let oldest: { clientId: string; timestampMs: number } | undefined;
  for (const [clientId, entry] of state.clientSessions) {
    if (clientId === kept) continue;
    const older = oldest === undefined || entry.timestampMs < oldest.timestampMs || (entry.timestampMs === oldest.timestampMs && clientId < oldest.clientId);
    if (older) oldest = { clientId, timestampMs: entry.timestampMs };
  }
  return oldest?.clientId;
}
