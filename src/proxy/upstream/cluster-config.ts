// envoy.config.cluster.v3.Cluster → a frozen ClusterConfig the runtime builds clusters from:
// discovery type, load balancing, circuit breakers, outlier detection, connection settings.
import { ConfigError, inField } from '../config-error.js';
import type { Assignment } from './assignment.js';
import { compileAssignment } from './assignment.js';
import { durationMs } from './duration.js';
import type { HttpOptions, TcpKeepalive } from './cluster-config-http.js';
import { compileHttpOptions, compileKeepalive } from './cluster-config-http.js';
import type { LbConfig, LbPolicy } from './cluster-config-lb.js';
import { compileLbConfig } from './cluster-config-lb.js';
import type { OutlierConfig } from './outlier/config.js';
import { compileOutlierDetection } from './outlier/config.js';
import type { UpstreamTlsConfig } from '../tls/upstream.js';
import { compileUpstreamTransportSocket } from '../tls/upstream.js';
import type { TransportSocketMatch } from './cluster-config-tls.js';
import { compileTransportSocketMatches } from './cluster-config-tls.js';

export type { TransportSocketMatch } from './cluster-config-tls.js';

export type { HttpOptions, TcpKeepalive, UpstreamProtocol } from './cluster-config-http.js';
export type { LbConfig, LbPolicy, SlowStartConfig } from './cluster-config-lb.js';

type Obj = Record<string, unknown>;

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';

export interface RetryBudget {
  /** Share of active plus pending requests that may be retries at once (Envoy: 20%). */
  readonly budgetPercent: number;
  /** Retries allowed whatever the traffic (Envoy: 3). */
  readonly minRetryConcurrency: number;
}

export interface Thresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
  /** Overrides maxRetries when set (circuit_breakers.thresholds.retry_budget). */
  readonly retryBudget?: RetryBudget;
  /** Publish circuit_breakers.default.remaining_* gauges. */
  readonly trackRemaining?: boolean;
}

export interface ClusterConfig {
  readonly name: string;
  readonly type: DiscoveryType;
  /** The ClusterLoadAssignment name an EDS cluster subscribes to. */
  readonly edsServiceName: string;
  readonly lbPolicy: LbPolicy;
  readonly lb: LbConfig;
  readonly connectTimeoutMs: number;
  readonly thresholds: Thresholds;
  /** 0 = unlimited (the same as http.maxRequestsPerConnection). */
  readonly maxRequestsPerConnection: number;
  readonly http: HttpOptions;
  /** upstream_connection_options.tcp_keepalive: SO_KEEPALIVE on upstream sockets. */
  readonly tcpKeepalive: TcpKeepalive | undefined;
  readonly outlierDetection: OutlierConfig | undefined;
  /** TLS origination (transport_socket UpstreamTlsContext); undefined: plaintext. */
  readonly tls: UpstreamTlsConfig | undefined;
  /**
   * transport_socket_matches: per host, the first whose `match` its metadata under
   * `envoy.transport_socket_match` contains picks the transport socket (else `tls`).
   */
  readonly transportSocketMatches: readonly TransportSocketMatch[];
  /** ORIGINAL_DST: the header holding the destination (`:authority` in local mode). */
  readonly originalDstHeader: string | undefined;
  /** STATIC / DNS clusters carry their endpoints inline. */
  readonly loadAssignment: Assignment | undefined;
  readonly metadata: Readonly<Obj>;
  /** The decoded resource, for identity checks and the config dump. */
  readonly source: Readonly<Obj>;
}

// Envoy's defaults when a cluster sets no thresholds.
const DEFAULT_THRESHOLDS: Thresholds = {
  maxConnections: 1024,
  maxPendingRequests: 1024,
  maxRequests: 1024,
  maxRetries: 3,
};

const TYPES = new Set<DiscoveryType>([
  'STATIC',
  'STRICT_DNS',
  'LOGICAL_DNS',
  'EDS',
  'ORIGINAL_DST',
]);

function retryBudget(b: Obj): RetryBudget {
  const percent = (b['budget_percent'] as Obj | undefined)?.['value'];
  const budgetPercent = percent === undefined ? 20 : Number(percent);
  if (!(budgetPercent >= 0 && budgetPercent <= 100))
    throw new ConfigError('budget_percent', `invalid percentage ${String(percent)}`);
  const min = b['min_retry_concurrency'];
  return { budgetPercent, minRetryConcurrency: min === undefined ? 3 : Number(min) };
}

function thresholds(cb: Obj | undefined): Thresholds {
  const list = (cb?.['thresholds'] as Obj[] | undefined) ?? [];
  // Only the DEFAULT priority is used: routes never ask for HIGH priority here.
  const index = list.findIndex((x) => (x['priority'] ?? 'DEFAULT') === 'DEFAULT');
  const t = list[index];
  if (!t) return DEFAULT_THRESHOLDS;
  const num = (k: string, d: number) => (t[k] === undefined ? d : Number(t[k]));
  const budget = t['retry_budget'] as Obj | undefined;
  return {
    maxConnections: num('max_connections', DEFAULT_THRESHOLDS.maxConnections),
    maxPendingRequests: num('max_pending_requests', DEFAULT_THRESHOLDS.maxPendingRequests),
    maxRequests: num('max_requests', DEFAULT_THRESHOLDS.maxRequests),
    maxRetries: num('max_retries', DEFAULT_THRESHOLDS.maxRetries),
    ...(budget
      ? {
          retryBudget: inField(`circuit_breakers.thresholds[${index}].retry_budget`, () =>
            retryBudget(budget),
          ),
        }
      : {}),
    ...(t['track_remaining'] === true ? { trackRemaining: true } : {}),
  };
}

export function compileCluster(c: Obj): ClusterConfig {
  const name = c['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError('name', 'a cluster needs a name');
  return inField(`Cluster ${name}`, () => {
    const type = String(c['type'] ?? 'STATIC') as DiscoveryType;
    if (!TYPES.has(type)) throw new ConfigError('type', `discovery type ${type} is not supported`);
    const lb = compileLbConfig(c);
    if (type === 'ORIGINAL_DST' && lb.policy !== 'CLUSTER_PROVIDED') {
      throw new ConfigError('lb_policy', 'an ORIGINAL_DST cluster needs CLUSTER_PROVIDED');
    }
    if (type !== 'ORIGINAL_DST' && lb.policy === 'CLUSTER_PROVIDED') {
      throw new ConfigError('lb_policy', 'CLUSTER_PROVIDED needs an ORIGINAL_DST cluster');
    }
    const eds = c['eds_cluster_config'] as Obj | undefined;
    const odst = c['original_dst_lb_config'] as Obj | undefined;
    const la = c['load_assignment'] as Obj | undefined;
    const od = c['outlier_detection'] as Obj | undefined;
    const http = compileHttpOptions(c);
    return {
      name,
      type,
      edsServiceName: String(eds?.['service_name'] ?? name),
      lbPolicy: lb.policy,
      lb,
      connectTimeoutMs: durationMs(c['connect_timeout'], 'connect_timeout') || 5000,
      thresholds: thresholds(c['circuit_breakers'] as Obj | undefined),
      maxRequestsPerConnection: http.maxRequestsPerConnection,
      http,
      tcpKeepalive: compileKeepalive(c),
      outlierDetection: od
        ? inField('outlier_detection', () => compileOutlierDetection(od))
        : undefined,
      tls: compileUpstreamTransportSocket(c['transport_socket'] as Obj | undefined),
      transportSocketMatches: compileTransportSocketMatches(c['transport_socket_matches']),
      originalDstHeader: odst?.['use_http_header']
        ? String(odst['http_header_name'] || 'x-envoy-original-dst-host').toLowerCase()
        : undefined,
      loadAssignment: la ? inField('load_assignment', () => compileAssignment(la)) : undefined,
      metadata: (c['metadata'] as Obj | undefined) ?? {},
      source: c,
    };
  });
}
