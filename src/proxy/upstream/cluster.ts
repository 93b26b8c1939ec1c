// A cluster at run time: its hosts, their load balancer, its circuit breakers, its outlier
// detector and one connection pool per host. EDS updates swap the host set in place; ejections
// and returns rebuild the balancer; requests already running keep the host they got.
import type { IncomingHttpHeaders } from 'node:http';
import type { Dispatcher } from 'undici';
import type { ProxyError } from '../errors.js';
import { upstreamOverflow } from '../errors.js';
import type { Assignment } from './assignment.js';
import { isRoutable } from './assignment.js';
import type { ClusterConfig } from './cluster-config.js';
import { H2Pool } from './h2-pool.js';
import { Host, hostKey } from './host.js';
import type { PickContext } from './lb/balancer.js';
import { ClusterBalancer } from './lb/balancer.js';
import type { OutlierResult } from './outlier/detector.js';
import { OutlierDetector } from './outlier/detector.js';
import type { PoolOwner, PoolSettings } from './pool/http1-pool.js';
import { HostPool, poolSettingsKey } from './pool/http1-pool.js';
import { Resources } from './pool/resources.js';
import { ClusterStats } from './stats.js';
import { transportKey, transportSocketFor } from './cluster-config-tls.js';
import type { UpstreamTlsConfig } from '../tls/upstream.js';
import { WORKLOAD_CERT, proxySecrets } from '../tls/secret-store.js';

/** What load balancing may look at for one request. */
export interface HostContext extends PickContext {
  /** The request's authority (ORIGINAL_DST clusters route on it). */
  readonly authority: string;
  /** The request's headers (ORIGINAL_DST clusters with use_http_header read theirs). */
  readonly headers?: IncomingHttpHeaders | undefined;
}

function poolSettings(c: ClusterConfig): PoolSettings {
  return {
    connectTimeoutMs: c.connectTimeoutMs,
    idleTimeoutMs: c.http.idleTimeoutMs,
    maxConnectionDurationMs: c.http.maxConnectionDurationMs,
    maxRequestsPerConnection: c.http.maxRequestsPerConnection,
    keepalive: c.tcpKeepalive,
    tls: c.tls,
  };
}

/** Pools and circuit breakers carry over to a new cluster generation when these are equal. */
function poolSignature(c: ClusterConfig): string {
  const matches = c.transportSocketMatches.map(
    (m) => `${JSON.stringify(m.match)}=${transportKey(m.tls)}`,
  );
  return `${poolSettingsKey(poolSettings(c))}|${JSON.stringify(c.thresholds)}|${matches.join(',')}`;
}

export class Cluster implements PoolOwner {
  private hostList: Host[] = [];
  private byKey = new Map<string, Host>();
  private readonly balancer: ClusterBalancer;
  private pools = new Map<string, HostPool>();
  /** HTTP/2 sessions per host, for clusters whose protocol options say http2 (T3: gRPC ports). */
  readonly h2: H2Pools;
  private readonly settings: PoolSettings;
  resources: Resources;
  readonly outlier: OutlierDetector | undefined;
  /** The assignment in force, for EDS clusters (kept across cluster updates). */
  assignment: Assignment | undefined;
  /** Hosts were given transports while the proxy had no workload identity (auto mTLS off). */
  private awaitingIdentity = false;

  constructor(
    readonly config: ClusterConfig,
    readonly stats: ClusterStats = new ClusterStats(),
  ) {
    this.settings = poolSettings(config);
    this.h2 = new H2Pools(config);
    this.resources = new Resources(config.thresholds);
    this.balancer = new ClusterBalancer(config.lb, stats);
    if (config.outlierDetection) {
      this.outlier = new OutlierDetector(config.outlierDetection, {
        stats,
        hosts: () => this.hostList,
        onHealthChange: () => this.balancer.update(this.hostList),
      });
      this.outlier.start();
    }
    if (config.loadAssignment) this.setAssignment(config.loadAssignment);
  }

  get hosts(): readonly Host[] {
    return this.hostList;
  }

  /** Replaces the host set; hosts that stay keep their counters, health and pools. */
  setAssignment(a: Assignment): void {
    // Hosts of the cluster's first assignment start at full weight; later ones warm up.
    const initial = this.assignment === undefined;
    this.awaitingIdentity =
      this.config.transportSocketMatches.length > 0 && !proxySecrets.has(WORKLOAD_CERT);
    this.assignment = a;
    const next = new Map<string, Host>();
    const now = performance.now();
    for (const spec of a.hosts) {
      if (!isRoutable(spec)) continue;
      const key = hostKey(spec.address, spec.port);
      const old = this.byKey.get(key);
      const tls = this.transportSocket(spec.metadata);
      if (old && sameSpec(old.spec, spec) && old.tls === tls) next.set(key, old);
      else {
        const host = new Host(spec, { addedAt: now, slowStart: !initial && !old });
        host.tls = tls;
        next.set(key, host);
      }
    }
    for (const [key, host] of this.byKey) {
      if (next.get(key) === host) continue;
      this.outlier?.hostRemoved(host);
      const pool = this.pools.get(key);
      // A host whose transport socket changed (tlsMode metadata) never reuses a connection.
      const successor = next.get(key);
      if (pool && (!successor || successor.tls !== host.tls)) {
        this.pools.delete(key);
        void pool.close();
      } else if (pool) pool.rebind(next.get(key)!, this);
    }
    this.byKey = next;
    this.h2.retain([...next.values()]);
    this.hostList = [...next.values()];
    this.balancer.update(this.hostList);
  }

  /** Takes over the previous generation's assignment and, when compatible, pools and breakers. */
  inherit(previous: Cluster): void {
    if (this.config.type === 'EDS' && previous.assignment) this.setAssignment(previous.assignment);
    if (poolSignature(previous.config) !== poolSignature(this.config)) return;
    // In-flight requests keep counting against the same circuit breakers.
    this.resources = previous.resources;
    // Original destinations come back on demand, so their pools all carry over; a pool whose
    // host is gone is closed here, as previous.close() no longer sees it.
    const keepAll = this.config.type === 'ORIGINAL_DST';
    for (const [key, pool] of previous.pools) {
      const host = this.byKey.get(key) ?? (keepAll ? pool.host : undefined);
      if (host) {
        pool.rebind(host, this);
        this.pools.set(key, pool);
      } else void pool.close();
    }
    previous.pools.clear();
    this.h2.adopt(previous.h2);
  }

  /**
   * Picks a host for one request. ORIGINAL_DST clusters take the destination from the request
   * (Envoy's original_dst_lb_config.use_http_header), falling back to its authority.
   */
  chooseHost(ctx: HostContext): Host | undefined {
    // The workload identity came after the hosts were built: pick their transport again.
    if (this.awaitingIdentity && proxySecrets.has(WORKLOAD_CERT)) {
      this.awaitingIdentity = false;
      if (this.assignment) this.setAssignment(this.assignment);
    }
    if (this.config.type === 'ORIGINAL_DST') return this.originalDestination(ctx);
    return this.balancer.pick(ctx);
  }

  private originalDestination(ctx: HostContext): Host | undefined {
    const header = this.config.originalDstHeader;
    const fromHeader = header && header !== ':authority' ? ctx.headers?.[header] : undefined;
    const target = (Array.isArray(fromHeader) ? fromHeader[0] : fromHeader) || ctx.authority;
    const { host, port } = splitAuthority(target, 80);
    if (!host) return undefined;
    const key = hostKey(host, port);
    let h = this.byKey.get(key);
    if (!h) {
      h = new Host({
        address: host,
        port,
        weight: 1,
        health: 'HEALTHY',
        locality: '',
        priority: 0,
        localityWeight: 0,
        metadata: {},
      });
      h.tls = this.transportSocket({});
      this.byKey.set(key, h);
    }
    return h;
  }

  /** The transport socket of a host with this endpoint metadata (transport_socket_matches). */
  private transportSocket(
    metadata: Readonly<Record<string, unknown>>,
  ): UpstreamTlsConfig | undefined {
    const c = this.config;
    return transportSocketFor(
      c.transportSocketMatches,
      c.tls,
      metadata,
      proxySecrets.has(WORKLOAD_CERT),
    );
  }

  private pool(host: Host): HostPool {
    let pool = this.pools.get(host.key);
    if (!pool) {
      // Pools are per host, and a host has one transport socket: TLS and plaintext never mix.
      pool = new HostPool(host, this, { ...this.settings, tls: host.tls });
      this.pools.set(host.key, pool);
    }
    return pool;
  }

  /**
   * Envoy's circuit breakers for a new attempt on `host`: with an idle connection the request
   * is active at once (max_requests), else it waits (max_pending_requests). Overflow is a 503
   * UO at once, and counts upstream_rq_pending_overflow.
   */
  admit(host: Host): ProxyError | undefined {
    const r = this.resources;
    const ok = this.pool(host).hasIdle() ? r.canSendRequest() : r.canQueue();
    if (ok) return undefined;
    this.stats.upstream_rq_pending_overflow++;
    return upstreamOverflow();
  }

  /** The dispatcher for one attempt on `host` (its connection pool). */
  dispatcher(host: Host): Dispatcher {
    return this.pool(host) as unknown as Dispatcher;
  }

  /**
   * An HTTP/2 stream to `host` is about to open on a connected session (Envoy's
   * attachStreamToClient): counted as an active request, or overflow (503 UO) at
   * max_requests. The HTTP/1.1 pool does the same for its requests.
   */
  streamStarted(host: Host): ProxyError | undefined {
    const { resources, stats } = this;
    if (!resources.canSendRequest()) {
      stats.upstream_rq_pending_overflow++;
      return upstreamOverflow();
    }
    resources.requests++;
    stats.upstream_rq_total++;
    stats.upstream_rq_active++;
    host.activeRequests++;
    host.requestsTotal++;
    this.onConnected(host);
    return undefined;
  }

  /** The HTTP/2 stream counted by streamStarted() ended. */
  streamEnded(host: Host): void {
    this.resources.requests--;
    this.stats.upstream_rq_active--;
    host.activeRequests--;
  }

  /** Envoy's retry circuit breaker (max_retries or the retry budget): takes a retry, or not. */
  tryRetry(): boolean {
    if (!this.resources.canRetry()) {
      this.stats.upstream_rq_retry_overflow++;
      return false;
    }
    this.resources.retries++;
    return true;
  }

  /** A retry taken with tryRetry() is over (its attempt ended, or the request did). */
  retryDone(): void {
    this.resources.retries--;
  }

  /** An upstream response status, for outlier detection and the host's counters. */
  reportStatus(host: Host, status: number): void {
    if (status >= 500) host.errorsTotal++;
    else host.successTotal++;
    this.outlier?.putHttpStatus(host, status);
  }

  /** A locally originated failure (connect failure, reset: 'connect-failed'; 'timeout'). */
  reportFailure(host: Host, result: OutlierResult): void {
    host.errorsTotal++;
    if (result === 'timeout') host.timeoutsTotal++;
    this.outlier?.putResult(host, result);
  }

  /** PoolOwner: a request got a connection. */
  onConnected(host: Host): void {
    this.outlier?.putResult(host, 'connect-success');
  }

  /** Per-priority load and panic state, for the admin page. */
  priorityState(): { loads: number[]; panic: boolean[] } {
    const loads = this.balancer.priorityLoads();
    return { loads, panic: loads.map((_, p) => this.balancer.inPanic(p)) };
  }

  /** Closes pools once their requests finish (the cluster was removed or replaced). */
  async close(): Promise<void> {
    this.outlier?.stop();
    const pools = [...this.pools.values()];
    this.pools.clear();
    this.h2.close();
    await Promise.all(pools.map((p) => p.close()));
  }
}

function sameSpec(a: Host['spec'], b: Host['spec']): boolean {
  return (
    a.weight === b.weight &&
    a.priority === b.priority &&
    a.locality === b.locality &&
    a.localityWeight === b.localityWeight
  );
}

export function splitAuthority(
  authority: string,
  defaultPort: number,
): { host: string; port: number } {
  if (authority.startsWith('[')) {
    const end = authority.indexOf(']');
    const rest = authority.slice(end + 1);
    return {
      host: authority.slice(1, end),
      port: rest.startsWith(':') ? Number(rest.slice(1)) : defaultPort,
    };
  }
  const colon = authority.lastIndexOf(':');
  if (colon < 0) return { host: authority, port: defaultPort };
  const port = Number(authority.slice(colon + 1));
  return {
    host: authority.slice(0, colon),
    port: Number.isInteger(port) && port > 0 ? port : defaultPort,
  };
}

/**
 * HTTP/2 sessions per transport socket: one H2Pool for each TLS context (or plaintext) the
 * cluster's hosts use, so a session is only ever reused by hosts with the same transport.
 */
export class H2Pools {
  private readonly pools = new Map<string, H2Pool>();

  constructor(private readonly config: ClusterConfig) {}

  private poolFor(tls: UpstreamTlsConfig | undefined): H2Pool {
    const key = transportKey(tls);
    let pool = this.pools.get(key);
    if (!pool) {
      pool = new H2Pool(this.config.connectTimeoutMs, tls, this.config.tcpKeepalive);
      this.pools.set(key, pool);
    }
    return pool;
  }

  /** A connected session to `host` over its transport socket. */
  session(host: Host): ReturnType<H2Pool['session']> {
    return this.poolFor(host.tls).session(host);
  }

  /** Sessions of hosts gone, or now on another transport, end once their streams finish. */
  retain(hosts: readonly Host[]): void {
    for (const [key, pool] of this.pools)
      pool.retain(new Set(hosts.filter((h) => transportKey(h.tls) === key).map((h) => h.key)));
  }

  adopt(other: H2Pools): void {
    for (const [key, pool] of other.pools) {
      const mine = this.pools.get(key);
      if (mine) mine.adopt(pool);
      else this.pools.set(key, pool);
    }
    other.pools.clear();
  }

  close(): void {
    for (const pool of this.pools.values()) pool.close();
    this.pools.clear();
  }
}
