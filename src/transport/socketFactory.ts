import { createConnection, createServer, type Server, type Socket } from "node:net";

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

/**
 * The only place the transport creates sockets, so TLS (with client certificates) can replace plain TCP
 * by swapping this factory: `tls.connect` and `tls.createServer` return subclasses of the same types.
 */
export interface SocketFactory {
  /** Starts a connection; `onReady` runs once application data may flow (after the TLS handshake, for TLS). */
  connect(address: PeerAddress, onReady: () => void): Socket;
  /** Listens on `address` (port 0 picks a free port); rejects if the address cannot be bound. */
  listen(address: PeerAddress, onConnection: (socket: Socket) => void): Promise<Server>;
}

export const tcpSocketFactory: SocketFactory = {
  connect(address, onReady) {
    const socket = createConnection({ host: address.host, port: address.port, noDelay: true }, onReady);
    // Raft messages are small and latency-bound; the transport coalesces writes itself, so Nagle only delays.
    socket.setNoDelay(true);
    return socket;
  },

  listen(address, onConnection) {
    const server = createServer({ noDelay: true }, (socket) => {
      socket.setNoDelay(true);
      onConnection(socket);
    });
    return new Promise((resolve, reject) => {
      const onError = (error: Error): void => reject(error);
      server.once("error", onError);
      server.listen({ host: address.host, port: address.port }, () => {
        server.off("error", onError);
        resolve(server);
      });
    });
  },
};
