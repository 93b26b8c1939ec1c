// HTTP/2 connections to a cluster's hosts: one multiplexed session per host (node:http2, which
// keeps trailers, where undici drops them), opened on demand with the cluster's connect timeout,
// replaced when the peer goes away (GOAWAY, close) and closed after an idle hour (Envoy's
// default upstream idle_timeout).
import http2 from 'node:http2';
import net from 'node:net';
import type { ProxyError } from '../errors.js';
import { connectFailure } from '../errors.js';
import type { TcpKeepalive } from './cluster-config.js';
import type { Host } from './host.js';
import { applyKeepalive } from './keepalive.js';
import type { UpstreamTlsConfig } from '../tls/upstream.js';
import { connectTls, h2Alpn } from '../tls/upstream.js';
import { proxySecrets } from '../tls/secret-store.js';

const IDLE_TIMEOUT_MS = 3600_000;

interface Entry {
  session: http2.ClientHttp2Session;
  ready: Promise<http2.ClientHttp2Session>;
}

export class H2Pool {
  private readonly sessions = new Map<string, Entry>();
  private closed = false;

  constructor(
    private readonly connectTimeoutMs: number,
    /** TLS origination: the session runs over a TLS socket offering h2 by ALPN. */
    private readonly tls?: UpstreamTlsConfig,
    /** The cluster's tcp_keepalive (SO_KEEPALIVE only when it asks). */
    private readonly keepalive?: TcpKeepalive,
  ) {}

  /** A connected session to `host`; rejects with a ProxyError (UF) when it cannot connect. */
  session(host: Host): Promise<http2.ClientHttp2Session> {
    const existing = this.sessions.get(host.key);
    if (existing && usable(existing.session)) return existing.ready;
    return this.open(host);
  }

  private open(host: Host): Promise<http2.ClientHttp2Session> {
    if (this.tls) return this.openTls(host, this.tls);
    const session = http2.connect(`http://${host.key}`, {
      // A proxy never takes server push.
      settings: { enablePush: false },
      ...(this.keepalive ? { createConnection: () => this.connectKeepalive(host) } : {}),
    });
    return this.track(host, session, true);
  }

  /** The h2c connection with the cluster's keepalive (what node:http2 would open, plus it). */
  private connectKeepalive(host: Host): net.Socket {
    const socket = net.connect({ host: host.address, port: host.port });
    applyKeepalive(socket, this.keepalive);
    return socket;
  }

  /** Connects and handshakes first (errors are UF with the TLS reason), then starts HTTP/2. */
  private openTls(host: Host, tls: UpstreamTlsConfig): Promise<http2.ClientHttp2Session> {
    const socket = connectTls(tls, proxySecrets, {
      host: host.address,
      port: host.port,
      timeoutMs: this.connectTimeoutMs,
      alpn: h2Alpn(tls),
      keepalive: this.keepalive,
    });
    const ready = socket.then((s) => {
      const session = http2.connect(`https://${host.key}`, {
        settings: { enablePush: false },
        createConnection: () => s,
      });
      return this.track(host, session, false);
    });
    ready.catch(() => undefined);
    return ready;
  }

  private track(
    host: Host,
    session: http2.ClientHttp2Session,
    withTimeout: boolean,
  ): Promise<http2.ClientHttp2Session> {
    const forget = () => {
      if (this.sessions.get(host.key)?.session === session) this.sessions.delete(host.key);
    };
    session.once('close', forget);
    session.once('goaway', forget);
    session.on('error', forget);
    session.setTimeout(IDLE_TIMEOUT_MS, () => session.close());
    const ready = new Promise<http2.ClientHttp2Session>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const fail = (err: ProxyError) => {
        if (timer) clearTimeout(timer);
        forget();
        session.destroy();
        reject(err);
      };
      if (withTimeout && this.connectTimeoutMs > 0)
        timer = setTimeout(
          () => fail(connectFailure('delayed connect error: timeout')),
          this.connectTimeoutMs,
        );
      session.once('error', (e: Error & { code?: string }) =>
        fail(connectFailure(`delayed connect error: ${e.code ?? e.message}`)),
      );
      session.once('connect', () => {
        if (timer) clearTimeout(timer);
        resolve(session);
      });
    });
    // Settled either way by the caller; a rejection nobody awaits must not crash the proxy.
    ready.catch(() => undefined);
    this.sessions.set(host.key, { session, ready });
    if (this.closed) session.close();
    return ready;
  }

  /** Sessions of hosts no longer in the cluster end once their streams finish. */
  retain(keys: ReadonlySet<string>): void {
    for (const [key, e] of this.sessions) {
      if (!keys.has(key)) {
        this.sessions.delete(key);
        e.session.close();
      }
    }
  }

  /** Takes over another pool's sessions (a cluster update that kept the upstream). */
  adopt(other: H2Pool): void {
    for (const [key, e] of other.sessions) if (!this.sessions.has(key)) this.sessions.set(key, e);
    other.sessions.clear();
  }

  /** Graceful: open streams finish, then the sessions close. */
  close(): void {
    this.closed = true;
    for (const e of this.sessions.values()) e.session.close();
    this.sessions.clear();
  }
}

function usable(s: http2.ClientHttp2Session): boolean {
  return !s.closed && !s.destroyed;
}
