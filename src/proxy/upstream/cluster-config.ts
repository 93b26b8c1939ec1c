// envoy.config.cluster.v3.Cluster → a frozen ClusterConfig the runtime builds clusters from.
import { ConfigError, inField } from '../config-error.js';
import { durationMs } from '../routes/route-action.js';
import type { Assignment } from './assignment.js';
import { compileAssignment } from './assignment.js';

type Obj = Record<string, unknown>;

export type DiscoveryType = 'STATIC' | 'STRICT_DNS' | 'LOGICAL_DNS' | 'EDS' | 'ORIGINAL_DST';
export type LbPolicy = 'ROUND_ROBIN' | 'LEAST_REQUEST' | 'RANDOM' | 'CLUSTER_PROVIDED';

export interface Thresholds {
  readonly maxConnections: number;
  readonly maxPendingRequests: number;
  readonly maxRequests: number;
  readonly maxRetries: number;
}

export interface ClusterConfig {
  readonly name: string;
  readonly type: DiscoveryType;
  /** The ClusterLoadAssignment name an EDS cluster subscribes to. */
  readonly edsServiceName: string;
  readonly lbPolicy: LbPolicy;
  readonly connectTimeoutMs: number;
  readonly thresholds: Thresholds;
  /** 0 = unlimited. */
  readonly maxRequestsPerConnection: number;
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
const POLICIES = new Set<LbPolicy>(['ROUND_ROBIN', 'LEAST_REQUEST', 'RANDOM', 'CLUSTER_PROVIDED']);

function thresholds(cb: Obj | undefined): Thresholds {
  const list = (cb?.['thresholds'] as Obj[] | undefined) ?? [];
  // Only the DEFAULT priority is used; HIGH priority routing is not.
  const t = list.find((x) => (x['priority'] ?? 'DEFAULT') === 'DEFAULT');
  if (!t) return DEFAULT_THRESHOLDS;
  const num = (k: string, d: number) => (t[k] === undefined ? d : Number(t[k]));
  return {
    maxConnections: num('max_connections', DEFAULT_THRESHOLDS.maxConnections),
    maxPendingRequests: num('max_pending_requests', DEFAULT_THRESHOLDS.maxPendingRequests),
    maxRequests: num('max_requests', DEFAULT_THRESHOLDS.maxRequests),
    maxRetries: num('max_retries', DEFAULT_THRESHOLDS.maxRetries),
  };
}

export function compileCluster(c: Obj): ClusterConfig {
  const name = c['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError('name', 'a cluster needs a name');
  return inField(`Cluster ${name}`, () => {
    const type = String(c['type'] ?? 'STATIC') as DiscoveryType;
    if (!TYPES.has(type)) throw new ConfigError('type', `discovery type ${type} is not supported`);
    const lbPolicy = String(c['lb_policy'] ?? 'ROUND_ROBIN') as LbPolicy;
    if (!POLICIES.has(lbPolicy)) throw new ConfigError('lb_policy', `${lbPolicy} is not supported`);
    if (type === 'ORIGINAL_DST' && lbPolicy !== 'CLUSTER_PROVIDED') {
      throw new ConfigError('lb_policy', 'an ORIGINAL_DST cluster needs CLUSTER_PROVIDED');
    }
    const eds = c['eds_cluster_config'] as Obj | undefined;
    const odst = c['original_dst_lb_config'] as Obj | undefined;
    const la = c['load_assignment'] as Obj | undefined;
    return {
      name,
      type,
      edsServiceName: String(eds?.['service_name'] ?? name),
      lbPolicy,
      connectTimeoutMs: durationMs(c['connect_timeout'], 'connect_timeout') || 5000,
      thresholds: thresholds(c['circuit_breakers'] as Obj | undefined),
      maxRequestsPerConnection: Number(c['max_requests_per_connection'] ?? 0),
      originalDstHeader: odst?.['use_http_header']
        ? String(odst['http_header_name'] ?? 'x-envoy-original-dst-host')
        : undefined,
      loadAssignment: la ? inField('load_assignment', () => compileAssignment(la)) : undefined,
      metadata: (c['metadata'] as Obj | undefined) ?? {},
      source: c,
    };
  });
}
