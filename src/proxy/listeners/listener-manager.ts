// Listeners at run time: one server socket per address (or none, for internal listeners, which
// take connections other listeners hand them). Per connection: listener filters, filter chain
// selection, the chain's network filter. An LDS update keeps sockets whose address did not
// change and swaps their filter chains in place, so no connection is dropped; a connection
// manager's codec carries over to the chain of the same name, so open HTTP connections follow
// the new config with their next request. A chain with a transport socket terminates TLS first
// (its filter then sees the decrypted socket; HTTP picks HTTP/2 or HTTP/1.1 by what is spoken).
import net from 'node:net';
import type { Socket } from 'node:net';
import { HttpCodec } from '../filters/network/http_connection_manager/codec.js';
import { HttpConnectionManager } from '../filters/network/http_connection_manager/filter.js';
import type { HcmDeps } from '../filters/network/http_connection_manager/filter.js';
import { TcpProxyFilter } from '../filters/network/tcp_proxy/filter.js';
import { NetworkRbacFilter } from '../filters/network/rbac/filter.js';
import { setAuthzClusters } from '../authz/clusters.js';
import type { TcpSession } from '../filters/network/tcp_proxy/session.js';
import type { ConnectionInfo, InternalHandoff, NetworkFilter } from './connection.js';
import { peek, setConnectionInfo } from './connection.js';
import type { ChainMatch } from './filter-chain-match.js';
import { inspectionMatters, selectChain } from './filter-chain-match.js';
import type { FilterChainConfig, ListenerConfig } from './listener-config.js';
import { ListenerStats } from './listener-stats.js';
import { DownstreamTls } from '../tls/downstream.js';
import type { SecretStore } from '../tls/secret-store.js';
import { proxySecrets } from '../tls/secret-store.js';

export type ListenerDeps = Omit<HcmDeps, 'stats'> & {
  /** Every finished TCP session (tcp_proxy), for access logs and tests. */
  readonly onTcpSessionEnd?: (session: TcpSession) => void;
  /** Where TLS chains find their SDS secrets (the proxy's store by default). */
  readonly secrets?: SecretStore;
};

interface RuntimeChain {
  readonly config: FilterChainConfig;
  readonly match: ChainMatch;
  readonly filter: NetworkFilter;
  readonly tls: DownstreamTls | undefined;
}

/** Both callbacks, or the one there is. */
function joinCallbacks<T>(
  a: ((v: T) => void) | undefined,
  b: ((v: T) => void) | undefined,
): ((v: T) => void) | undefined {
  if (!a || !b) return a ?? b;
  return (v) => {
    a(v);
    b(v);
  };
}

class ActiveListener {
  readonly stats = new ListenerStats();
  config: ListenerConfig;
  private chains: RuntimeChain[] = [];
  private defaultChain: RuntimeChain | undefined;
  private readonly server: net.Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(
    config: ListenerConfig,
    private readonly deps: ListenerDeps,
    private readonly handoff: InternalHandoff,
  ) {
    this.config = config;
    this.install(config);
    if (!config.internal) {
      // allowHalfOpen: HTTP handles a client's FIN itself, and tcp_proxy passes it on.
      this.server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) =>
        this.accept(socket, undefined),
      );
    }
  }

  /** Builds the runtime chains of `config`, reusing codecs of same-named HTTP chains. */
  install(config: ListenerConfig): void {
    const previous = new Map<string, RuntimeChain>();
    for (const c of [...this.chains, ...(this.defaultChain ? [this.defaultChain] : [])])
      previous.set(c.config.name, c);
    const reused = new Set<NetworkFilter>();
    const secrets = this.deps.secrets ?? proxySecrets;
    // Network RBAC (authorization) guards the chain's terminal filter.
    const build = (fc: FilterChainConfig): RuntimeChain => {
      const chain = buildChain(fc);
      if (!fc.rbac?.length) return chain;
      return { ...chain, filter: new NetworkRbacFilter(fc.rbac, chain.filter) };
    };
    const buildChain = (fc: FilterChainConfig): RuntimeChain => {
      const tls = fc.tls ? new DownstreamTls(fc.tls, secrets) : undefined;
      const old = previous.get(fc.name);
      if (fc.filter.kind === 'http_connection_manager') {
        const hcm = new HttpConnectionManager(
          fc.filter.config,
          { ...this.deps, stats: this.stats, direction: config.direction },
          config.name,
        );
        if (old?.filter instanceof HttpCodec && !reused.has(old.filter)) {
          old.filter.hcm = hcm;
          reused.add(old.filter);
          return { config: fc, match: fc.match, filter: old.filter, tls };
        }
        const codecDeps = { handoff: this.handoff, stats: this.stats, log: this.deps.log };
        return {
          config: fc,
          match: fc.match,
          filter: new HttpCodec(hcm, codecDeps, config.name),
          tls,
        };
      }
      const metrics = this.deps.metrics?.forTcp(
        fc.istioStats,
        config.direction,
        this.deps.clusters,
      );
      const onSessionEnd = joinCallbacks(this.deps.onTcpSessionEnd, metrics);
      return {
        config: fc,
        match: fc.match,
        tls,
        filter: new TcpProxyFilter(fc.filter.config, {
          clusters: this.deps.clusters,
          handoff: this.handoff,
          log: this.deps.log,
          ...(onSessionEnd ? { onSessionEnd } : {}),
        }),
      };
    };
    const chains = config.filterChains.map(build);
    const defaultChain = config.defaultFilterChain ? build(config.defaultFilterChain) : undefined;
    // Codecs no chain took any more stop taking requests on their idle connections.
    for (const c of previous.values()) if (!reused.has(c.filter)) c.filter.drain?.();
    this.config = config;
    this.chains = chains;
    this.defaultChain = defaultChain;
  }

  /** A new connection: from our socket, or handed over by another listener (internal ones). */
  accept(socket: Socket, tunnel: { authority: string; port: number } | undefined): void {
    const stats = this.stats;
    stats.downstream_cx_total++;
    stats.downstream_cx_active++;
    this.sockets.add(socket);
    socket.once('close', () => {
      stats.downstream_cx_active--;
      this.sockets.delete(socket);
    });
    socket.on('error', () => undefined);
    const conn: ConnectionInfo = {
      listenerName: this.config.name,
      localPort: tunnel ? tunnel.port : (socket.localPort ?? 0),
      localAddress: socket.localAddress ?? '',
      remoteAddress: socket.remoteAddress ?? '',
      remotePort: socket.remotePort ?? 0,
      transportProtocol: 'raw_buffer',
      serverName: '',
      applicationProtocols: [],
      tunnelAuthority: tunnel?.authority,
      startTime: performance.now(),
    };
    setConnectionInfo(socket, conn);
    const config = this.config;
    if (config.listenerFilters.length === 0 || !inspectionMatters(this.chains, conn)) {
      this.dispatch(socket, conn);
      return;
    }
    const filters = config.listenerFilters;
    const pending = new Set(filters);
    peek(
      socket,
      (data) => {
        for (const f of pending) if (f.inspect(data, conn)) pending.delete(f);
        return pending.size === 0;
      },
      config.listenerFiltersTimeoutMs,
    ).then(
      () => this.dispatch(socket, conn),
      (e: Error & { code?: string }) => {
        if (e.code === 'ERR_PEEK_TIMEOUT' && config.continueOnListenerFiltersTimeout) {
          this.dispatch(socket, conn);
        } else {
          socket.destroy();
        }
      },
    );
  }

  private dispatch(socket: Socket, conn: ConnectionInfo): void {
    if (socket.destroyed) return;
    const chain = selectChain(this.chains, conn) ?? this.defaultChain;
    if (!chain) {
      // Envoy: no matching filter chain and no default one: the connection is closed (NR).
      this.stats.no_filter_chain_match++;
      socket.destroy();
      return;
    }
    if (!chain.tls) {
      chain.filter.onConnection(socket, conn);
      return;
    }
    const stats = this.stats;
    chain.tls.terminate(socket).then(
      (tlsSocket) => {
        stats['ssl.handshake']++;
        // The connection is the decrypted stream from now on; closing either closes both.
        tlsSocket.once('close', () => socket.destroy());
        conn.transportProtocol = 'tls';
        setConnectionInfo(tlsSocket, conn);
        chain.filter.onConnection(tlsSocket as unknown as Socket, conn);
      },
      (e: Error) => {
        stats['ssl.connection_error']++;
        this.deps.log(`listener ${this.config.name}: TLS handshake failed: ${e.message}`);
        socket.destroy();
      },
    );
  }

  /** Every TLS chain has the SDS secrets it names (Envoy warms a listener until they arrive). */
  tlsReady(): boolean {
    return [...this.chains, ...(this.defaultChain ? [this.defaultChain] : [])].every(
      (c) => !c.tls || c.tls.ready(),
    );
  }

  listen(): Promise<void> {
    const server = this.server;
    if (!server) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const onError = (e: Error) => reject(e);
      server.once('error', onError);
      server.listen(this.config.port, this.config.address, () => {
        server.off('error', onError);
        resolve();
      });
    });
  }

  /** Stops accepting; open connections finish their requests, idle ones close now. */
  close(): Promise<void> {
    for (const c of [...this.chains, ...(this.defaultChain ? [this.defaultChain] : [])])
      c.filter.drain?.();
    const server = this.server;
    return new Promise((resolve) => {
      if (!server) {
        if (this.sockets.size === 0) resolve();
        else this.whenEmpty(resolve);
        return;
      }
      server.close(() => resolve());
    });
  }

  private whenEmpty(resolve: () => void): void {
    const check = () => {
      if (this.sockets.size === 0) resolve();
    };
    for (const s of this.sockets) s.once('close', check);
  }

  /** Closes everything at once (proxy shutdown after its drain period). */
  destroy(): void {
    this.server?.close();
    for (const s of this.sockets) s.destroy();
  }

  get boundPort(): number {
    const a = this.server?.address();
    return typeof a === 'object' && a ? a.port : 0;
  }
}

export class ListenerManager {
  private active = new Map<string, ActiveListener>(); // by address:port, or internal:<name>
  private readonly internal = new Map<string, ActiveListener>();
  /** Hands a connection to an internal listener (CONNECT tunnels, tcp_proxy to one). */
  readonly handoff: InternalHandoff = (name, socket, opts) => {
    const listener = this.internal.get(name);
    if (!listener) return false;
    if (opts.head.length) socket.unshift(opts.head);
    listener.accept(socket, { authority: opts.authority, port: opts.port });
    return true;
  };

  constructor(private readonly deps: ListenerDeps) {
    setAuthzClusters(deps.clusters);
  }

  /**
   * Applies a full LDS state of the world. Resolves with the errors of listeners that could not
   * bind (the caller NACKs with them); every other listener is in force.
   */
  async apply(configs: readonly ListenerConfig[]): Promise<string[]> {
    const errors: string[] = [];
    const next = new Map<string, ActiveListener>();
    const toClose: ActiveListener[] = [];
    for (const config of configs) {
      const key = config.internal ? `internal:${config.name}` : `${config.address}:${config.port}`;
      const existing = this.active.get(key);
      if (existing) {
        existing.install(config);
        next.set(key, existing);
        continue;
      }
      const listener = new ActiveListener(config, this.deps, this.handoff);
      try {
        await listener.listen();
        next.set(key, listener);
      } catch (e) {
        errors.push(`Listener ${config.name}: cannot bind ${key}: ${(e as Error).message}`);
      }
    }
    for (const [key, l] of this.active) if (!next.has(key)) toClose.push(l);
    this.active = next;
    this.internal.clear();
    for (const l of next.values()) if (l.config.internal) this.internal.set(l.config.name, l);
    // Removed listeners stop accepting now; their open connections (tunnels may live for hours)
    // finish in their own time rather than hold up this update.
    for (const l of toClose) void l.close();
    return errors;
  }

  listeners(): { name: string; address: string; port: number; stats: ListenerStats }[] {
    return [...this.active.values()].map((l) => ({
      name: l.config.name,
      address: l.config.address,
      port: l.boundPort,
      stats: l.stats,
    }));
  }

  /** Route configuration names the listeners take from RDS. */
  rdsNames(): string[] {
    return [...this.rdsStatPrefixes().keys()].sort();
  }

  /** Each RDS route configuration's takers: the stat prefixes of their connection managers. */
  rdsStatPrefixes(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const l of this.active.values()) {
      const chains = [
        ...l.config.filterChains,
        ...(l.config.defaultFilterChain ? [l.config.defaultFilterChain] : []),
      ];
      for (const fc of chains) {
        const hcm = fc.hcm;
        if (hcm?.routes.kind !== 'rds') continue;
        const prefixes = out.get(hcm.routes.name) ?? [];
        if (!prefixes.includes(hcm.statPrefix)) prefixes.push(hcm.statPrefix);
        out.set(hcm.routes.name, prefixes);
      }
    }
    return out;
  }

  /** SDS secret names the listeners' TLS contexts take from the control plane. */
  sdsNames(): string[] {
    const names = new Set<string>();
    for (const l of this.active.values()) {
      const chains = [
        ...l.config.filterChains,
        ...(l.config.defaultFilterChain ? [l.config.defaultFilterChain] : []),
      ];
      for (const fc of chains) for (const n of fc.tls?.common.sdsNames ?? []) names.add(n);
    }
    return [...names].sort();
  }

  /** Whether every listener's TLS secrets are here. */
  tlsReady(): boolean {
    return [...this.active.values()].every((l) => l.tlsReady());
  }

  async close(drainMs: number): Promise<void> {
    const all = [...this.active.values()];
    this.active.clear();
    this.internal.clear();
    let timer: NodeJS.Timeout | undefined;
    const drained = Promise.all(all.map((l) => l.close()));
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, drainMs);
    });
    await Promise.race([drained, deadline]);
    if (timer) clearTimeout(timer);
    for (const l of all) l.destroy();
  }
}
