// The AuthzRequest of an HTTP stream or a TCP connection, its fields computed only when a policy
// reads them (most policies read one or two), so an allowed request pays for little.
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { HttpStream, RequestAuth } from '../http/stream.js';
import type { ConnectionInfo } from '../listeners/connection.js';
import { connectionInfo } from '../listeners/connection.js';
import type { RequestView } from '../routes/matchers.js';
import { peerPrincipal } from '../tls/peer-identity.js';
import type { AuthzRequest } from './matcher.js';

const SPIFFE = 'spiffe://';

/** The verified peer's URI SAN (peerPrincipal gives it without the `spiffe://` scheme). */
export function peerUri(socket: Socket | null | undefined): string | undefined {
  const p = peerPrincipal(socket);
  if (p === undefined) return undefined;
  return p.includes('://') ? p : SPIFFE + p;
}

function sniOf(socket: Socket, conn: ConnectionInfo | undefined): string {
  const name = (socket as Partial<TLSSocket>).servername;
  return typeof name === 'string' && name ? name.toLowerCase() : (conn?.serverName ?? '');
}

/**
 * Envoy's downstream remote address (conn_manager_utility.cc): the x-forwarded-for entry
 * `trustedHops` from the right of the list as the connection manager passes it on (with the
 * connection's address appended when use_remote_address is set), else the connection's address.
 */
export function xffRemote(xff: string | undefined, direct: string, trustedHops: number): string {
  if (!xff) return direct;
  const list = xff
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const at = list.length - 1 - trustedHops;
  return at >= 0 ? (list[at] ?? direct) : direct;
}

/** An HTTP stream's request as RBAC sees it. */
export class HttpAuthzRequest implements AuthzRequest {
  private readonly socket: Socket;
  private readonly conn: ConnectionInfo | undefined;

  constructor(
    private readonly stream: HttpStream,
    private readonly trustedHops = 0,
  ) {
    this.socket = stream.req.socket;
    this.conn = connectionInfo(this.socket);
  }

  get directRemoteIp(): string {
    return this.socket.remoteAddress ?? this.conn?.remoteAddress ?? '';
  }

  get remoteIp(): string {
    const added = this.stream.addedHeaders.find(([k]) => k === 'x-forwarded-for')?.[1];
    const raw = this.stream.req.headers['x-forwarded-for'];
    const xff = added ?? (Array.isArray(raw) ? raw.join(',') : raw);
    return xffRemote(xff, this.directRemoteIp, this.trustedHops);
  }

  get destinationIp(): string {
    return this.socket.localAddress ?? this.conn?.localAddress ?? '';
  }

  get destinationPort(): number {
    return this.conn?.localPort ?? this.socket.localPort ?? 0;
  }

  get peerPrincipal(): string | undefined {
    return peerUri(this.socket);
  }

  get sni(): string {
    return sniOf(this.socket, this.conn);
  }

  get view(): RequestView {
    return this.stream.view;
  }

  get requestAuth(): RequestAuth | undefined {
    return this.stream.requestAuth;
  }
}

/** A TCP connection as network RBAC sees it (no HTTP: HTTP-only matchers never match). */
export function connectionAuthzRequest(socket: Socket, conn: ConnectionInfo): AuthzRequest {
  const direct = conn.remoteAddress || (socket.remoteAddress ?? '');
  return {
    directRemoteIp: direct,
    remoteIp: direct,
    destinationIp: conn.localAddress,
    destinationPort: conn.localPort,
    get peerPrincipal() {
      return peerUri(socket);
    },
    sni: sniOf(socket, conn),
    view: undefined,
    requestAuth: undefined,
  };
}
