// envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy → frozen settings: the cluster (or
// weighted clusters), timeouts and connect attempts, with Envoy's defaults.
import { ConfigError } from '../../../config-error.js';
import { durationMs } from '../../../routes/duration.js';
import type { AccessLogs } from '../../../telemetry/access-log/config.js';
import { compileAccessLogs } from '../../../telemetry/access-log/config.js';

type Obj = Record<string, unknown>;

export interface TcpProxyConfig {
  readonly statPrefix: string;
  readonly clusterNames: readonly string[];
  /** Picks a cluster per connection (weighted clusters: at random by weight, as Envoy does). */
  pickCluster(): string;
  /** 0 = no idle timeout. Envoy's default is one hour. */
  readonly idleTimeoutMs: number;
  /** Connection attempts before giving up (Envoy's max_connect_attempts, default 1). */
  readonly maxConnectAttempts: number;
  /** 0 = unlimited. */
  readonly maxDownstreamConnectionDurationMs: number;
  /** access_log: undefined when there is none. */
  readonly accessLog: AccessLogs | undefined;
}

const DEFAULT_IDLE_MS = 3600_000;

function weighted(list: Obj[]): { names: string[]; pick: () => string } {
  if (list.length === 0)
    throw new ConfigError('weighted_clusters.clusters', 'at least one cluster is required');
  const names = list.map((c, i) => {
    const name = c['name'];
    if (typeof name !== 'string' || !name)
      throw new ConfigError(`weighted_clusters.clusters[${i}].name`, 'required');
    return name;
  });
  const weights = list.map((c, i) => {
    const w = Number(c['weight'] ?? 0);
    if (!(w >= 1)) throw new ConfigError(`weighted_clusters.clusters[${i}].weight`, 'must be ≥ 1');
    return w;
  });
  const total = weights.reduce((a, b) => a + b, 0);
  return {
    names,
    pick: () => {
      let r = Math.random() * total;
      for (let i = 0; i < names.length; i++) {
        r -= weights[i] ?? 0;
        if (r < 0) return names[i] ?? '';
      }
      return names[names.length - 1] ?? '';
    },
  };
}

export function compileTcpProxy(typed: Obj): TcpProxyConfig {
  const statPrefix = String(typed['stat_prefix'] ?? '');
  if (!statPrefix) throw new ConfigError('stat_prefix', 'required');
  let names: string[];
  let pick: () => string;
  if (typeof typed['cluster'] === 'string' && typed['cluster']) {
    const name = typed['cluster'];
    names = [name];
    pick = () => name;
  } else if (typed['weighted_clusters']) {
    ({ names, pick } = weighted(
      ((typed['weighted_clusters'] as Obj)['clusters'] as Obj[] | undefined) ?? [],
    ));
  } else {
    throw new ConfigError('', 'needs cluster or weighted_clusters');
  }
  for (const field of ['tunneling_config', 'on_demand', 'hash_policy', 'metadata_match']) {
    const v = typed[field];
    if (v !== undefined && !(Array.isArray(v) && v.length === 0))
      throw new ConfigError(field, 'is not supported');
  }
  const attempts = typed['max_connect_attempts'];
  const maxConnectAttempts = attempts === undefined ? 1 : Number(attempts);
  if (!Number.isInteger(maxConnectAttempts) || maxConnectAttempts < 1)
    throw new ConfigError('max_connect_attempts', 'must be ≥ 1');
  return Object.freeze({
    statPrefix,
    clusterNames: names,
    pickCluster: pick,
    idleTimeoutMs:
      typed['idle_timeout'] === undefined
        ? DEFAULT_IDLE_MS
        : durationMs(typed['idle_timeout'], 'idle_timeout'),
    maxConnectAttempts,
    maxDownstreamConnectionDurationMs: durationMs(
      typed['max_downstream_connection_duration'],
      'max_downstream_connection_duration',
    ),
    accessLog: compileAccessLogs(typed['access_log']),
  });
}
