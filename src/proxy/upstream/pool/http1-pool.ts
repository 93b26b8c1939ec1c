// One host's HTTP/1.1 connection pool, as Envoy's (conn_pool_base.cc): a request takes an idle
// connection at once (an active request), or waits as a pending request while a new connection
// is made, if the cluster's max_connections allows one (every host may have at least one);
// pending requests fail together when a connection attempt fails. Connections close when idle
// too long, after max_requests_per_connection requests, or once max_connection_duration is up.
// Each connection is an undici Client (one socket, one request at a time).
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import type { Client as ClientType, Dispatcher, buildConnector as BuildConnector } from 'undici';
import { upstreamOverflow } from '../../errors.js';
import type { TcpKeepalive } from '../cluster-config.js';
import type { Host } from '../host.js';
import { applyKeepalive } from '../keepalive.js';
import type { ClusterStats } from '../stats.js';
import type { Resources } from './resources.js';
import type { UpstreamTlsConfig } from '../../tls/upstream.js';
import { undiciTlsConnector } from '../../tls/upstream.js';
import { proxySecrets } from '../../tls/secret-store.js';

// Only undici's Client (and what it needs), not its fetch, WebSocket and cache: about 10 MB less
// per proxy. The path is stable within the exact version pinned in package.json.
const Client = createRequire(import.meta.url)(
  'undici/lib/dispatcher/client.js',
) as typeof ClientType;
type Client = ClientType;
const buildConnector = createRequire(import.meta.url)(
  'undici/lib/core/connect.js',
) as typeof BuildConnector;

/** setTimeout's ceiling: "no idle timeout" in undici terms. */
const NEVER_MS = 0x7fffffff;

export interface PoolSettings {
  readonly connectTimeoutMs: number;
  /** 0 = never. */
  readonly idleTimeoutMs: number;
  /** 0 = no limit. */
  readonly maxConnectionDurationMs: number;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
  readonly keepalive: TcpKeepalive | undefined;
  /** TLS origination (the cluster's UpstreamTlsContext). */
  readonly tls?: UpstreamTlsConfig | undefined;
}

/** What a pool reports to, and counts against: its cluster (rebound when a cluster is replaced). */
export interface PoolOwner {
  readonly resources: Resources;
  readonly stats: ClusterStats;
  /** A request got a connection (Envoy reports LocalOriginConnectSuccess for each). */
  onConnected(host: Host): void;
}

export function poolSettingsKey(s: PoolSettings): string {
  const k = s.keepalive;
  return [
    s.connectTimeoutMs,
    s.idleTimeoutMs,
    s.maxConnectionDurationMs,
    s.maxRequestsPerConnection,
    k ? `${k.timeS}/${k.intervalS}/${k.probes}` : '-',
    s.tls?.key ?? '-',
  ].join('|');
}

class Connection {
  readonly client: Client;
  current: PooledRequest | undefined;
  connected = false;
  /** The connection attempt failed: never reuse. */
  failed = false;
  /** Close once the request in flight is done (max_connection_duration). */
  draining = false;
  closed = false;
  requests = 0;
  durationTimer: NodeJS.Timeout | undefined;

  constructor(origin: string, s: PoolSettings) {
    const idle = s.idleTimeoutMs > 0 ? Math.min(s.idleTimeoutMs, NEVER_MS) : NEVER_MS;
    this.client = new Client(origin, {
      pipelining: 1,
      connect: s.tls
        ? undiciTlsConnector(s.tls, proxySecrets, s.connectTimeoutMs, s.keepalive)
        : plainConnector(s),
      // The idle timeout, bounded by the server's own keep-alive hint (fewer races).
      keepAliveTimeout: idle,
      keepAliveMaxTimeout: idle,
      // The route's timeouts govern; undici's own must not cut a long response short.
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  }
}

/**
 * undici's own connector (no TLS here), with SO_KEEPALIVE only when the cluster asks (Envoy sets
 * no keepalive by default): time, interval and probes as its tcp_keepalive says.
 */
function plainConnector(s: PoolSettings): BuildConnector.connector {
  const connect = buildConnector({ timeout: s.connectTimeoutMs, keepAlive: false });
  const k = s.keepalive;
  if (!k) return connect;
  return (opts, cb) =>
    connect(opts, (err, socket) => {
      if (socket) applyKeepalive(socket, k);
      if (err) cb(err, null);
      else cb(null, socket);
    });
}

type Abort = (err?: Error) => void;

/** A request in the pool: waiting for a connection, on a connecting one, or active. */
class PooledRequest implements Dispatcher.DispatchHandler {
  state: 'queued' | 'connecting' | 'active' | 'done' = 'queued';
  conn: Connection | undefined;
  /** Its connection came up with max_requests reached: failed with overflow, never sent. */
  overflowed = false;
  readonly host: Host;

  constructor(
    private readonly pool: HostPool,
    readonly opts: Dispatcher.DispatchOptions,
    readonly inner: Dispatcher.DispatchHandler,
  ) {
    this.host = pool.host;
  }

  onConnect(abort: Abort): void {
    // undici asks just before writing the request: an error thrown here fails the request
    // without writing it, and keeps the connection.
    if (this.overflowed) throw upstreamOverflow();
    this.inner.onConnect?.(abort);
  }
  onResponseStarted(): void {
    this.inner.onResponseStarted?.();
  }
  onHeaders(status: number, headers: Buffer[], resume: () => void, text: string): boolean {
    return this.inner.onHeaders?.(status, headers, resume, text) ?? true;
  }
  onData(chunk: Buffer): boolean {
    return this.inner.onData?.(chunk) ?? true;
  }
  onBodySent(size: number, total: number): void {
    this.inner.onBodySent?.(size, total);
  }
  onComplete(trailers: string[] | null): void {
    this.pool.finish(this, undefined);
    this.inner.onComplete?.(trailers);
  }
  onError(err: Error): void {
    this.pool.finish(this, err);
    this.inner.onError?.(err);
  }
  onUpgrade(status: number, headers: Buffer[] | string[] | null, socket: Duplex): void {
    // The socket now belongs to the upgraded stream: the connection leaves the pool.
    this.pool.finish(this, undefined, true);
    this.inner.onUpgrade?.(status, headers, socket);
  }
}

export class HostPool {
  private readonly conns = new Set<Connection>();
  private readonly idle: Connection[] = [];
  private readonly queue: PooledRequest[] = [];
  private readonly origin: string;

  constructor(
    public host: Host,
    private owner: PoolOwner,
    readonly settings: PoolSettings,
  ) {
    this.origin = `http://${host.key}`;
  }

  /** The same pool serves a new generation of its cluster (same settings). */
  rebind(host: Host, owner: PoolOwner): void {
    this.host = host;
    this.owner = owner;
  }

  /** An idle connection is ready: a request would be active at once, not pending. */
  hasIdle(): boolean {
    return this.idle.length > 0;
  }

  get connections(): number {
    return this.conns.size;
  }

  dispatch(opts: Dispatcher.DispatchOptions, inner: Dispatcher.DispatchHandler): boolean {
    const r = new PooledRequest(this, opts, inner);
    const conn = this.idle.pop();
    if (conn) {
      this.activate(r, conn);
      conn.client.dispatch(opts, r);
      return true;
    }
    const { resources, stats } = this.owner;
    resources.pending++;
    stats.upstream_rq_pending_total++;
    stats.upstream_rq_pending_active++;
    this.queue.push(r);
    // Lets the route timeout and a downstream reset cancel a request still waiting.
    inner.onConnect?.((err) => this.abortWaiting(r, err ?? new Error('aborted')));
    if (r.state === 'queued') this.grow();
    return true;
  }

  /** New connections for waiting requests, as far as max_connections allows. */
  private grow(): void {
    const { resources, stats } = this.owner;
    while (this.queue.length) {
      // A host with no connection at all always gets one, or its requests could never run.
      if (!resources.canCreateConnection() && this.conns.size > 0) {
        stats.upstream_cx_overflow++;
        return;
      }
      const r = this.queue.shift()!;
      const conn = this.create();
      r.state = 'connecting';
      r.conn = conn;
      conn.current = r;
      conn.client.dispatch(r.opts, r);
    }
  }

  private create(): Connection {
    const conn = new Connection(this.origin, this.settings);
    this.conns.add(conn);
    this.owner.resources.connections++;
    const client = conn.client;
    client.on('connect', () => this.onConnect(conn));
    client.on('disconnect', (_o, _t, err) => this.onDisconnect(conn, err));
    client.on('connectionError', (_o, _t, err) => this.onConnectionError(conn, err));
    return conn;
  }

  private onConnect(conn: Connection): void {
    const { stats } = this.owner;
    conn.connected = true;
    stats.upstream_cx_total++;
    stats.upstream_cx_active++;
    this.host.cxTotal++;
    this.host.cxActive++;
    const max = this.settings.maxConnectionDurationMs;
    if (max > 0 && !conn.durationTimer) {
      conn.durationTimer = setTimeout(() => this.onMaxDuration(conn), max);
      conn.durationTimer.unref();
    }
    const r = conn.current;
    if (r?.state === 'connecting') {
      const { resources } = this.owner;
      resources.pending--;
      stats.upstream_rq_pending_active--;
      if (resources.canSendRequest()) this.activate(r, conn);
      else {
        // Envoy's attachStreamToClient: a pending request that gets its connection while the
        // cluster is at max_requests overflows (503 UO); the connection stays for later ones.
        stats.upstream_rq_pending_overflow++;
        r.state = 'done';
        r.overflowed = true;
      }
    }
  }

  private onDisconnect(conn: Connection, err: Error & { code?: string }): void {
    if (!conn.connected) return;
    const { stats } = this.owner;
    conn.connected = false;
    stats.upstream_cx_active--;
    this.host.cxActive--;
    if (err?.message === 'socket idle timeout') stats.upstream_cx_idle_timeout++;
    else if (err?.code === 'UND_ERR_SOCKET') stats.upstream_cx_destroy_remote++;
    // An idle connection whose socket is gone leaves the pool; a busy one reconnects for the
    // request it was given.
    if (!conn.current) this.retire(conn);
  }

  private onConnectionError(conn: Connection, err: Error & { code?: string }): void {
    const { stats } = this.owner;
    stats.upstream_cx_connect_fail++;
    if (err?.code === 'UND_ERR_CONNECT_TIMEOUT') stats.upstream_cx_connect_timeout++;
    this.host.cxConnectFail++;
    conn.failed = true;
    if (!conn.current) this.retire(conn);
    // Envoy purges every pending request of the pool when a connection attempt fails.
    for (const r of this.queue.splice(0)) this.failWaiting(r, err);
  }

  private onMaxDuration(conn: Connection): void {
    conn.durationTimer = undefined;
    if (conn.closed) return;
    this.owner.stats.upstream_cx_max_duration_reached++;
    if (conn.current) conn.draining = true;
    else this.retire(conn);
  }

  private activate(r: PooledRequest, conn: Connection): void {
    const { resources, stats } = this.owner;
    r.state = 'active';
    r.conn = conn;
    conn.current = r;
    resources.requests++;
    stats.upstream_rq_total++;
    stats.upstream_rq_active++;
    r.host.activeRequests++;
    r.host.requestsTotal++;
    this.owner.onConnected(r.host);
  }

  /** A request ended (response complete, error or upgrade): its connection is free again. */
  finish(r: PooledRequest, err: Error | undefined, upgraded = false): void {
    const conn = r.conn;
    const { resources, stats } = this.owner;
    if (r.state === 'active') {
      resources.requests--;
      stats.upstream_rq_active--;
      r.host.activeRequests--;
    } else if (r.state === 'connecting') {
      resources.pending--;
      stats.upstream_rq_pending_active--;
      if (err && conn) conn.failed = true;
    }
    const wasActive = r.state === 'active';
    r.state = 'done';
    if (!conn || conn.current !== r) return;
    conn.current = undefined;
    if (wasActive) conn.requests++;
    if (upgraded || conn.failed || conn.draining) return this.retire(conn);
    const max = this.settings.maxRequestsPerConnection;
    if (max > 0 && conn.requests >= max) {
      stats.upstream_cx_max_requests++;
      return this.retire(conn);
    }
    this.release(conn);
  }

  /** A free connection takes the next waiting request, or goes idle. */
  private release(conn: Connection): void {
    const { resources, stats } = this.owner;
    let next = this.queue.shift();
    // Waiting requests that would exceed max_requests overflow (as in onConnect).
    while (next && !resources.canSendRequest()) {
      stats.upstream_rq_pending_overflow++;
      this.failWaiting(next, upstreamOverflow());
      next = this.queue.shift();
    }
    if (!next) {
      this.idle.push(conn);
      return;
    }
    resources.pending--;
    stats.upstream_rq_pending_active--;
    this.activate(next, conn);
    conn.client.dispatch(next.opts, next);
  }

  private retire(conn: Connection): void {
    if (conn.closed) return;
    conn.closed = true;
    if (conn.durationTimer) clearTimeout(conn.durationTimer);
    this.conns.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    this.owner.resources.connections--;
    // Out of undici's callback first: it may still be unwinding the request that ended.
    queueMicrotask(() => {
      const closing = conn.failed ? conn.client.destroy() : conn.client.close();
      void closing.catch(() => undefined);
    });
    // A slot under max_connections opened up: a waiting request may connect now.
    if (this.queue.length) this.grow();
  }

  private failWaiting(r: PooledRequest, err: Error): void {
    if (r.state !== 'queued') return;
    r.state = 'done';
    this.owner.resources.pending--;
    this.owner.stats.upstream_rq_pending_active--;
    r.inner.onError?.(err);
  }

  /** Cancels a waiting request: out of the queue, or its connection attempt dropped. */
  abortWaiting(r: PooledRequest, err: Error): void {
    if (r.state === 'queued') {
      const i = this.queue.indexOf(r);
      if (i >= 0) this.queue.splice(i, 1);
      this.failWaiting(r, err);
    } else if (r.state === 'connecting' && r.conn) {
      // undici fails the request it holds with `err`; finish() then drops the connection.
      r.conn.failed = true;
      void r.conn.client.destroy(err).catch(() => undefined);
    }
  }

  /** Set once close() was called. */
  closed = false;

  async close(): Promise<void> {
    this.closed = true;
    for (const r of this.queue.splice(0)) this.failWaiting(r, new Error('connection pool closed'));
    const closing = [...this.conns].map((c) => {
      c.closed = true;
      if (c.durationTimer) clearTimeout(c.durationTimer);
      return c.client.close().catch(() => undefined);
    });
    this.owner.resources.connections -= this.conns.size;
    this.conns.clear();
    this.idle.length = 0;
    await Promise.all(closing);
  }
}
