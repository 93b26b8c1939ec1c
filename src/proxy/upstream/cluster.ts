// A cluster at run time: its hosts, their load balancer and one connection pool per host.
// EDS updates swap the host set in place; requests already running keep the host they got.
import { createRequire } from 'node:module';
import type { Dispatcher, Pool as PoolType } from 'undici';
import type { Assignment } from './assignment.js';
import { isRoutable } from './assignment.js';
import type { ClusterConfig } from './cluster-config.js';
import { Host, hostKey } from './host.js';
import type { LoadBalancer } from './lb/load-balancer.js';
import { makeLoadBalancer } from './lb/load-balancer.js';
import { ClusterStats } from './stats.js';

const UNLIMITED = 0x7fffffff;

// Only undici's pool (and what it needs), not its fetch, WebSocket and cache: about 10 MB less
// per proxy. The path is stable within the exact version pinned in package.json.
const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof PoolType;
type Pool = PoolType;

/** Pool settings; pools carry over to a new cluster generation when these are equal. */
function poolSignature(c: ClusterConfig): string {
  return `${c.connectTimeoutMs}|${c.thresholds.maxConnections}|${c.maxRequestsPerConnection}`;
}

/** What load balancing may look at for one request. */
export interface HostContext {
  /** The request's authority (ORIGINAL_DST clusters route on it). */
  readonly authority: string;
  /** Hosts already tried by this request (the previous_hosts retry predicate). */
  readonly exclude?: ReadonlySet<Host>;
  /** The route's hash_policy result, for RING_HASH and MAGLEV clusters. */
  readonly hash?: bigint;
}

export class Cluster {
  private hostList: readonly Host[] = [];
  private byKey = new Map<string, Host>();
  private lb: LoadBalancer;
  private pools = new Map<string, Pool>();
  /** The assignment in force, for EDS clusters (kept across cluster updates). */
  assignment: Assignment | undefined;

  constructor(
    readonly config: ClusterConfig,
    readonly stats: ClusterStats = new ClusterStats(),
  ) {
    this.lb = makeLoadBalancer(config.lbPolicy, []);
    if (config.loadAssignment) this.setAssignment(config.loadAssignment);
  }

  get hosts(): readonly Host[] {
    return this.hostList;
  }

  /** Replaces the host set; hosts that stay keep their counters and pools. */
  setAssignment(a: Assignment): void {
    this.assignment = a;
    const next = new Map<string, Host>();
    for (const spec of a.hosts) {
      if (!isRoutable(spec)) continue;
      const key = hostKey(spec.address, spec.port);
      const old = this.byKey.get(key);
      next.set(key, old && old.spec.weight === spec.weight ? old : new Host(spec));
    }
    for (const [key, pool] of this.pools) {
      if (!next.has(key)) {
        this.pools.delete(key);
        void pool.close().catch(() => undefined);
      }
    }
    this.byKey = next;
    this.hostList = [...next.values()];
    this.lb = makeLoadBalancer(this.config.lbPolicy, this.hostList);
  }

  /** Takes over the previous generation's assignment, stats and (when compatible) pools. */
  inherit(previous: Cluster): void {
    if (this.config.type === 'EDS' && previous.assignment) this.setAssignment(previous.assignment);
    if (poolSignature(previous.config) === poolSignature(this.config)) {
      // Original destinations come back on demand, so their pools all carry over; a pool whose
      // host is gone is closed here, as previous.close() no longer sees it.
      const keepAll = this.config.type === 'ORIGINAL_DST';
      for (const [key, pool] of previous.pools) {
        if (keepAll || this.byKey.has(key)) this.pools.set(key, pool);
        else void pool.close().catch(() => undefined);
      }
      previous.pools.clear();
    }
  }

  /**
   * Picks a host for one request. ORIGINAL_DST clusters take the destination from the request's
   * authority, as Envoy's original_dst_lb_config.use_http_header does.
   */
  chooseHost(ctx: HostContext): Host | undefined {
    if (this.config.type === 'ORIGINAL_DST') return this.originalDestination(ctx.authority);
    return this.lb.pick(ctx.exclude);
  }

  private originalDestination(authority: string): Host | undefined {
    const { host, port } = splitAuthority(authority, 80);
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
        metadata: {},
      });
      this.byKey.set(key, h);
    }
    return h;
  }

  dispatcher(host: Host): Dispatcher {
    let pool = this.pools.get(host.key);
    if (!pool) {
      const c = this.config;
      pool = new Pool(`http://${host.key}`, {
        connections: c.thresholds.maxConnections >= UNLIMITED ? null : c.thresholds.maxConnections,
        pipelining: 1,
        connect: { timeout: c.connectTimeoutMs },
        // The route's timeouts govern; undici's own must not cut a long response short.
        headersTimeout: 0,
        bodyTimeout: 0,
        ...(c.maxRequestsPerConnection > 0
          ? { maxRequestsPerClient: c.maxRequestsPerConnection }
          : {}),
      });
      this.pools.set(host.key, pool);
    }
    return pool;
  }

  /** Closes pools once their requests finish (the cluster was removed). */
  async close(): Promise<void> {
    const pools = [...this.pools.values()];
    this.pools.clear();
    await Promise.all(pools.map((p) => p.close().catch(() => undefined)));
  }
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
