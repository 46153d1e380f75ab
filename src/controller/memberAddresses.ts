import type { ControllerRegistration } from "../metadata/records.js";
import type { NodeId } from "../raft/types.js";
import type { PeerAddress } from "../transport/socketFactory.js";
import type { MemberAddress } from "./config.js";
import { sameHostPort } from "./config.js";

/**
 * Where each controller listens, as one process knows it: the command line's members, then addresses
 * replicated in the metadata log (the controller registry). Pure functions; `run.ts` keeps the
 * transport's peers and the API's member list from them.
 */

export function registeredAddress(registration: ControllerRegistration): MemberAddress {
  return {
    id: registration.controllerId,
    raft: { host: registration.raftHost, port: registration.raftPort },
    api: { host: registration.apiHost, port: registration.apiPort },
  };
}

/** Every member of the layers in id order; for an id several layers hold, the last layer's addresses win. */
export function mergeMemberAddresses(layers: readonly (readonly MemberAddress[])[]): MemberAddress[] {
  const byId = new Map<NodeId, MemberAddress>();
  for (const layer of layers) for (const member of layer) byId.set(member.id, member);
  return [...byId.values()].sort((a, b) => a.id - b.id);
}

/** The part of a transport that knows its peers (`TcpTransport`). */
export interface PeerDirectory {
  setPeer(id: NodeId, address: PeerAddress): void;
  removePeer(id: NodeId): void;
}

/**
 * Brings a transport whose peers are `before` to `after` (this node left out): peers that moved or are
 * new are set, peers no longer listed removed. Unchanged peers are not touched, so their connections stay.
 */
export function updatePeers(peers: PeerDirectory, before: readonly MemberAddress[], after: readonly MemberAddress[], selfId: NodeId): void {
  const previous = new Map(before.map((member) => [member.id, member.raft]));
  for (const member of after) {
    if (member.id === selfId) continue;
    const known = previous.get(member.id);
    if (known === undefined || !sameHostPort(known, member.raft)) peers.setPeer(member.id, member.raft);
  }
  const next = new Set(after.map((member) => member.id));
  for (const member of before) {
    if (member.id !== selfId && !next.has(member.id)) peers.removePeer(member.id);
  }
}
