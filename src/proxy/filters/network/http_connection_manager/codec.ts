// The HTTP connection manager's codec: turns a connection into requests. With codec_type AUTO
// (Envoy's default, and Istio's) one port speaks HTTP/1.1 and HTTP/2 with prior knowledge (h2c):
// a connection whose first bytes are the HTTP/2 client preface (RFC 9113 §3.4) goes to an HTTP/2
// server, any other to the HTTP/1.1 one. Upgrade requests (websocket, CONNECT) are passed to the
// connection manager like any request, with their socket kept aside for the router.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import http2 from 'node:http2';
import type { Socket } from 'node:net';
import type {
  ConnectionInfo,
  InternalHandoff,
  NetworkFilter,
} from '../../../listeners/connection.js';
import { connectionInfo, peek } from '../../../listeners/connection.js';
import { HttpStream } from '../../../http/stream.js';
import { sendLocalReply } from '../../../http/local-reply.js';
import type { ListenerStats } from '../../../listeners/listener-stats.js';
import type { RequestView } from '../../../routes/matchers.js';
import type { HttpConnectionManager } from './filter.js';
import { setUpgrade } from './upgrade.js';

// Envoy's defaults: 60 KiB of request headers, one hour idle connections.
const MAX_HEADER_BYTES = 60 * 1024;
const IDLE_TIMEOUT_MS = 3600_000;

const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'latin1');

/** Enough bytes to tell: the full preface, or a byte that differs from it. */
export function prefaceDecided(data: Buffer): boolean {
  const n = Math.min(data.length, PREFACE.length);
  return n === PREFACE.length || data.compare(PREFACE, 0, n, 0, n) !== 0;
}

export function isHttp2Preface(data: Buffer): boolean {
  return (
    data.length >= PREFACE.length &&
    data.compare(PREFACE, 0, PREFACE.length, 0, PREFACE.length) === 0
  );
}

export interface CodecDeps {
  readonly handoff: InternalHandoff;
  readonly stats: ListenerStats;
  readonly log: (line: string) => void;
}

export class HttpCodec implements NetworkFilter {
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sessions = new Set<http2.Http2Session>();

  constructor(
    /** Swapped in place by an LDS update: connections already open take the new one. */
    public hcm: HttpConnectionManager,
    private readonly deps: CodecDeps,
    private readonly listenerName: string,
  ) {
    this.h1 = http.createServer(
      { maxHeaderSize: MAX_HEADER_BYTES, keepAlive: true, noDelay: true },
      (req, res) => this.hcm.handle(req, res),
    );
    this.h1.keepAliveTimeout = IDLE_TIMEOUT_MS;
    // The server never listens itself (sockets are handed to it), so start what `listening`
    // starts: the connection tracking behind headersTimeout and closeIdleConnections().
    this.h1.emit('listening');
    this.h1.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onUpgrade(req, socket, head, String(req.headers.upgrade ?? '').toLowerCase()),
    );
    this.h1.on('connect', (req: IncomingMessage, socket: Socket, head: Buffer) =>
      this.onUpgrade(req, socket, head, 'connect'),
    );
    this.h2 = http2.createServer((req, res) =>
      // The compatibility API mirrors IncomingMessage/ServerResponse closely enough for the
      // connection manager and the router, which check `httpVersionMajor` where they differ.
      this.hcm.handle(req as unknown as IncomingMessage, res as unknown as ServerResponse),
    );
    this.h2.on('session', (session: http2.Http2Session) => {
      this.sessions.add(session);
      session.setTimeout(IDLE_TIMEOUT_MS, () => session.close());
      session.once('close', () => this.sessions.delete(session));
      session.on('error', () => undefined);
    });
  }

  onConnection(socket: Socket, _conn: ConnectionInfo): void {
    const codec = this.hcm.config.codecType;
    if (codec === 'HTTP1') {
      this.h1.emit('connection', socket);
      return;
    }
    if (codec === 'HTTP2') {
      this.h2.emit('connection', socket);
      return;
    }
    // Over TLS, ALPN already said which (node:http2 must not find the preface peeked back).
    const alpn = (socket as Socket & { alpnProtocol?: string | false }).alpnProtocol;
    if (alpn === 'h2' || alpn === 'http/1.1') {
      (alpn === 'h2' ? this.h2 : this.h1).emit('connection', socket);
      return;
    }
    peek(socket, prefaceDecided, IDLE_TIMEOUT_MS).then(
      (data) => {
        if (socket.destroyed) return;
        if (isHttp2Preface(data)) this.h2.emit('connection', socket);
        else this.h1.emit('connection', socket);
      },
      () => socket.destroy(),
    );
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer, type: string): void {
    // Node hands over the socket with the head parsed: answer on it through a response of our
    // own, so local replies and the response head go out as for any request.
    const res = new http.ServerResponse(req);
    res.assignSocket(socket);
    res.shouldKeepAlive = false;
    socket.on('error', () => undefined);
    const upgrade = {
      type,
      socket,
      head,
      codec: this.hcm.config,
      handoff: this.deps.handoff,
      established: false,
    };
    setUpgrade(req, upgrade);
    // A request answered without a tunnel (a local reply, a non-101 answer) ends the connection.
    res.once('finish', () => {
      if (!upgrade.established) socket.end();
    });
    if (!this.hcm.config.upgradeTypes.has(type)) {
      // Envoy: an upgrade the connection manager does not allow is refused, 403 upgrade_failed.
      this.rejectUpgrade(req, res);
      return;
    }
    this.hcm.handle(req, res);
  }

  private rejectUpgrade(req: IncomingMessage, res: ServerResponse): void {
    const stats = this.deps.stats;
    stats.downstream_rq_total++;
    stats.recordStatus(403);
    const view: RequestView = {
      method: req.method ?? 'GET',
      scheme: 'http',
      authority: req.headers.host ?? '',
      path: req.url ?? '/',
      query: '',
      headers: req.headers,
    };
    const stream = new HttpStream(req, res, view, [], this.listenerName);
    stream.responseCodeDetails = 'upgrade_failed';
    sendLocalReply(stream, { status: 403, body: '' }, this.hcm.config.serverName);
  }

  /** Stops taking requests on idle connections; busy ones finish theirs. */
  drain(): void {
    this.h1.close();
    this.h1.closeIdleConnections();
    for (const s of this.sessions) s.close();
  }
}

/**
 * The authority of a request that names none itself: HTTP/2's `:authority`, or for a request
 * inside a CONNECT tunnel, the CONNECT's authority (the default authority).
 */
export function fallbackAuthority(req: IncomingMessage): string | undefined {
  const pseudo = req.headers[':authority'];
  if (typeof pseudo === 'string' && pseudo) return pseudo;
  return req.httpVersionMajor === 2 ? undefined : connectionInfo(req.socket)?.tunnelAuthority;
}

/**
 * HTTP/2 carries the scheme in `:scheme`; an HTTP/1.1 origin-form request has the scheme of its
 * connection (https over TLS).
 */
export function requestScheme(req: IncomingMessage): string {
  const pseudo = req.headers[':scheme'];
  if (typeof pseudo === 'string' && pseudo) return pseudo;
  return connectionScheme(req);
}

/** `https` when the request came over TLS, else `http` (Envoy's x-forwarded-proto default). */
export function connectionScheme(req: IncomingMessage): string {
  return (req.socket as { encrypted?: boolean } | null)?.encrypted ? 'https' : 'http';
}

/** What routing sees of a CONNECT: its authority, no path (only connect_matcher routes match). */
export function connectView(req: IncomingMessage): RequestView {
  const pseudo = req.headers[':authority'];
  return {
    method: 'CONNECT',
    scheme: 'http',
    authority: req.url || (typeof pseudo === 'string' ? pseudo : ''),
    path: '',
    query: '',
    headers: req.headers,
  };
}
