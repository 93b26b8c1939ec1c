// One accepted downstream connection as filter chain matching and network filters see it: its
// addresses, what listener filters learnt (SNI, ALPN, transport), and for connections handed to
// an internal listener, the tunnel that carried them.
import type { Socket } from 'node:net';

export interface ConnectionInfo {
  /** The listener the connection arrived on. */
  readonly listenerName: string;
  /** The destination port: the listener's port, or the tunnel's target port (internal listeners). */
  readonly localPort: number;
  readonly localAddress: string;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `raw_buffer` unless a listener filter found TLS (Envoy's transport protocol names). */
  transportProtocol: string;
  /** SNI, lower-cased; '' when none. */
  serverName: string;
  applicationProtocols: readonly string[];
  /**
   * For a connection handed to an internal listener by a CONNECT tunnel: the CONNECT authority
   * (`host:port`), which HTTP requests inside the tunnel default to.
   */
  readonly tunnelAuthority: string | undefined;
  /** When the connection was accepted (performance.now()). */
  readonly startTime: number;
}

/** A listener filter: inspects the first bytes without consuming them (tls_inspector). */
export interface ListenerFilter {
  readonly name: string;
  /** Looks at everything read so far; true once it has what it needs (and has set `conn`). */
  inspect(data: Buffer, conn: ConnectionInfo): boolean;
}

/** A terminal network filter instance (http_connection_manager, tcp_proxy) of one filter chain. */
export interface NetworkFilter {
  onConnection(socket: Socket, conn: ConnectionInfo): void;
  /** The listener stops: let in-flight work finish, close what is idle. */
  drain?(): void;
}

/** Hands a connection to the internal listener named `name`; false when there is none. */
export type InternalHandoff = (
  name: string,
  socket: Socket,
  opts: { readonly authority: string; readonly port: number; readonly head: Buffer },
) => boolean;

const infos = new WeakMap<Socket, ConnectionInfo>();

export function setConnectionInfo(socket: Socket, info: ConnectionInfo): void {
  infos.set(socket, info);
}

/** The connection a socket belongs to (undefined for sockets no listener accepted). */
export function connectionInfo(socket: Socket | null | undefined): ConnectionInfo | undefined {
  return socket ? infos.get(socket) : undefined;
}

export class PeekError extends Error {
  constructor(
    readonly code: 'ERR_PEEK_TIMEOUT' | 'ERR_PEEK_CLOSED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads from `socket` until `enough(bytes so far)` holds, then puts every byte back (unshift) so
 * the next reader sees the stream untouched. Rejects when the peer closes first or on timeout
 * (0 = no timeout).
 */
export function peek(
  socket: Socket,
  enough: (data: Buffer) => boolean,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let timer: NodeJS.Timeout | undefined;
    const cleanup = () => {
      socket.off('readable', onReadable);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
      socket.off('error', onEnd);
      if (timer) clearTimeout(timer);
    };
    const giveBack = (): Buffer => {
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
      if (all.length) socket.unshift(all);
      return all;
    };
    const onReadable = () => {
      let chunk: Buffer | null;
      while ((chunk = socket.read() as Buffer | null) !== null) {
        chunks.push(chunk);
        total += chunk.length;
      }
      if (total === 0) return;
      const all = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total);
      chunks.length = 0;
      chunks.push(all);
      if (enough(all)) {
        cleanup();
        resolve(giveBack());
      }
    };
    const onEnd = () => {
      cleanup();
      reject(new PeekError('ERR_PEEK_CLOSED', 'the peer closed before sending enough'));
    };
    if (timeoutMs > 0) {
      timer = setTimeout(() => {
        cleanup();
        giveBack();
        reject(new PeekError('ERR_PEEK_TIMEOUT', 'listener filter timeout'));
      }, timeoutMs);
    }
    socket.on('readable', onReadable);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
    socket.once('error', onEnd);
    onReadable();
  });
}
