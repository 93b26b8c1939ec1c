// What an access log line is made of: one finished HTTP request or TCP connection, seen through
// one interface, so that a compiled format and filter serve the HTTP connection manager and
// tcp_proxy alike. Values are read when the line is written, never copied before.
import type { TLSSocket } from 'node:tls';
import type { HttpStream } from '../../http/stream.js';
import type { TcpSession } from '../../filters/network/tcp_proxy/session.js';
import type { ConnectionInfo } from '../../listeners/connection.js';
import { connectionInfo } from '../../listeners/connection.js';

export interface Endpoint {
  readonly ip: string;
  readonly port: number | undefined;
}

/** A finished request or connection, as command operators and filters read it. */
export interface LogEntry {
  readonly kind: 'http' | 'tcp';
  readonly startDate: Date;
  /** Milliseconds from the first downstream byte to the last byte out. */
  readonly durationMs: number;
  /** Milliseconds to the last request byte, and to the first response byte (undefined: never). */
  readonly requestDurationMs: number | undefined;
  readonly responseDurationMs: number | undefined;
  /** A request header (lower case; pseudo-headers `:method`, `:path`, `:authority`, `:scheme`). */
  requestHeader(name: string): string | undefined;
  responseHeader(name: string): string | undefined;
  responseTrailer(name: string): string | undefined;
  /** 0 when no response was sent (and always for TCP, as Envoy logs it). */
  readonly responseCode: number;
  readonly responseFlags: readonly string[];
  readonly responseCodeDetails: string;
  readonly connectionTerminationDetails: string;
  readonly bytesReceived: number;
  readonly bytesSent: number;
  /** `HTTP/1.1`, `HTTP/2`; '' for TCP. */
  readonly protocol: string;
  readonly upstreamHost: Endpoint | undefined;
  readonly upstreamCluster: string;
  readonly attempts: number;
  readonly downstreamLocal: Endpoint | undefined;
  readonly downstreamRemote: Endpoint | undefined;
  readonly requestedServerName: string;
  readonly routeName: string;
}

/** Body bytes and timings the HTTP side counts while the request runs (see http.ts). */
export interface HttpCounters {
  bytesReceived: number;
  bytesSent: number;
  requestEnd: number | undefined;
  responseStart: number | undefined;
  endTime: number | undefined;
  trailers: Record<string, string> | undefined;
}

function endpoint(ip: string | undefined, port: number | undefined): Endpoint | undefined {
  return ip ? { ip: ip.replace(/^::ffff:/, ''), port } : undefined;
}

function first(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export class HttpLogEntry implements LogEntry {
  readonly kind = 'http';
  private readonly conn: ConnectionInfo | undefined;

  constructor(
    private readonly stream: HttpStream,
    private readonly counters: HttpCounters,
  ) {
    this.conn = connectionInfo(stream.req.socket);
  }

  get startDate(): Date {
    return this.stream.startDate;
  }
  get durationMs(): number {
    return (this.counters.endTime ?? performance.now()) - this.stream.startTime;
  }
  get requestDurationMs(): number | undefined {
    const t = this.counters.requestEnd;
    return t === undefined ? undefined : t - this.stream.startTime;
  }
  get responseDurationMs(): number | undefined {
    const t = this.counters.responseStart;
    return t === undefined ? undefined : t - this.stream.startTime;
  }

  requestHeader(name: string): string | undefined {
    const { view } = this.stream;
    switch (name) {
      case ':method':
        return view.method;
      case ':path':
        return view.query ? `${view.path}?${view.query}` : view.path;
      case ':authority':
      case 'host':
        return view.authority || undefined;
      case ':scheme':
        return view.scheme;
      case 'x-request-id':
        return this.stream.requestId || undefined;
    }
    // What the connection manager added (x-forwarded-for, x-forwarded-proto) is what went on.
    for (const [k, v] of this.stream.addedHeaders) if (k === name) return v;
    return first(view.headers[name]);
  }

  responseHeader(name: string): string | undefined {
    return this.stream.responseHeaders?.get(name);
  }

  responseTrailer(name: string): string | undefined {
    return this.counters.trailers?.[name];
  }

  get responseCode(): number {
    const res = this.stream.res;
    return res.headersSent ? res.statusCode : 0;
  }
  get responseFlags(): readonly string[] {
    return [...this.stream.responseFlags];
  }
  get responseCodeDetails(): string {
    return this.stream.responseCodeDetails;
  }
  get connectionTerminationDetails(): string {
    return '';
  }
  get bytesReceived(): number {
    return this.counters.bytesReceived;
  }
  get bytesSent(): number {
    return this.counters.bytesSent;
  }
  get protocol(): string {
    const req = this.stream.req;
    return req.httpVersionMajor === 2 ? 'HTTP/2' : `HTTP/${req.httpVersion}`;
  }
  get upstreamHost(): Endpoint | undefined {
    const h = this.stream.upstreamHost;
    return h ? { ip: h.address, port: h.port } : undefined;
  }
  get upstreamCluster(): string {
    return this.stream.clusterName;
  }
  get attempts(): number {
    return this.stream.attempts;
  }
  get downstreamLocal(): Endpoint | undefined {
    if (this.conn) return endpoint(this.conn.localAddress, this.conn.localPort);
    const s = this.stream.req.socket;
    return endpoint(s.localAddress, s.localPort);
  }
  get downstreamRemote(): Endpoint | undefined {
    if (this.conn) return endpoint(this.conn.remoteAddress, this.conn.remotePort);
    const s = this.stream.req.socket;
    return endpoint(s.remoteAddress, s.remotePort);
  }
  get requestedServerName(): string {
    if (this.conn) return this.conn.serverName;
    const sni = (this.stream.req.socket as Partial<TLSSocket>).servername;
    return typeof sni === 'string' ? sni : '';
  }
  get routeName(): string {
    return this.stream.route?.name ?? '';
  }
}

export class TcpLogEntry implements LogEntry {
  readonly kind = 'tcp';
  readonly requestDurationMs = undefined;
  readonly responseDurationMs = undefined;
  readonly responseCode = 0;
  readonly responseCodeDetails = '';
  readonly protocol = '';
  readonly routeName = '';

  constructor(
    private readonly session: TcpSession,
    private readonly conn: ConnectionInfo | undefined,
  ) {}

  get startDate(): Date {
    return this.session.startDate;
  }
  get durationMs(): number {
    return this.session.durationMs();
  }
  requestHeader(): undefined {
    return undefined;
  }
  responseHeader(): undefined {
    return undefined;
  }
  responseTrailer(): undefined {
    return undefined;
  }
  get responseFlags(): readonly string[] {
    return [...this.session.responseFlags];
  }
  get connectionTerminationDetails(): string {
    return this.session.terminationDetails;
  }
  get bytesReceived(): number {
    return this.session.bytesReceived;
  }
  get bytesSent(): number {
    return this.session.bytesSent;
  }
  get upstreamHost(): Endpoint | undefined {
    const h = this.session.upstreamHost;
    return h ? { ip: h.address, port: h.port } : undefined;
  }
  get upstreamCluster(): string {
    return this.session.clusterName;
  }
  get attempts(): number {
    return this.session.connectAttempts;
  }
  get downstreamLocal(): Endpoint | undefined {
    return this.conn ? endpoint(this.conn.localAddress, this.conn.localPort) : undefined;
  }
  get downstreamRemote(): Endpoint | undefined {
    if (this.conn) return endpoint(this.conn.remoteAddress, this.conn.remotePort);
    return endpoint(this.session.remoteAddress, undefined);
  }
  get requestedServerName(): string {
    return this.conn?.serverName ?? '';
  }
}
