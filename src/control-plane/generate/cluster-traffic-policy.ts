// A DestinationRule trafficPolicy on an outbound cluster, as Istio's applyTrafficPolicy does it
// (pilot/pkg/networking/core/cluster_traffic_policy.go): connection pool → circuit breakers,
// connect timeout, keepalive and HttpProtocolOptions; retryBudget; outlierDetection with the
// panic threshold; load balancer (LEAST_REQUEST by default, as current Istio), slow start,
// consistent hash (ring hash / Maglev) and PASSTHROUGH.
import type { DestinationRuleSpec } from '../../config/kinds.js';
import { typed } from '../../xds/any.js';
import { goDurationSeconds, toProtoDuration } from './durations.js';

type EnvoyObject = Record<string, unknown>;
export type TrafficPolicy = NonNullable<DestinationRuleSpec['trafficPolicy']>;

export const HTTP_PROTOCOL_OPTIONS = 'envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const UINT32_MAX = 4294967295;

/** The parts of a policy read here, in a plain shape (the generated types are huge unions). */
interface PolicyView {
  connectionPool?: {
    tcp?: {
      maxConnections?: number;
      connectTimeout?: string;
      tcpKeepalive?: { probes?: number; time?: string; interval?: string };
      maxConnectionDuration?: string;
      idleTimeout?: string;
    };
    http?: {
      http1MaxPendingRequests?: number;
      http2MaxRequests?: number;
      maxRequestsPerConnection?: number;
      maxRetries?: number;
      idleTimeout?: string;
      h2UpgradePolicy?: string;
      useClientProtocol?: boolean;
      maxConcurrentStreams?: number;
    };
  };
  loadBalancer?: {
    simple?: string;
    consistentHash?: {
      ringHash?: { minimumRingSize?: number };
      maglev?: { tableSize?: number };
      minimumRingSize?: number;
    };
    warmupDurationSecs?: string;
    warmup?: { duration?: string; minimumPercent?: number; aggression?: number };
  };
  outlierDetection?: {
    consecutive5xxErrors?: number;
    consecutiveGatewayErrors?: number;
    consecutiveLocalOriginFailures?: number;
    splitExternalLocalOriginErrors?: boolean;
    interval?: string;
    baseEjectionTime?: string;
    maxEjectionPercent?: number;
    minHealthPercent?: number;
  };
  retryBudget?: { percent?: number; minRetryConcurrency?: number };
}

const view = (p: TrafficPolicy | undefined): PolicyView => (p ?? {}) as PolicyView;

/** Adds fields to the cluster's HttpProtocolOptions (created when absent; T3 adds its own). */
export function mergeHttpProtocolOptions(cluster: EnvoyObject, fields: EnvoyObject): void {
  const ext = (cluster['typed_extension_protocol_options'] ??= {}) as Record<string, EnvoyObject>;
  const current = ext[HTTP_PROTOCOL_OPTIONS] ?? typed(HTTP_PROTOCOL_OPTIONS, {});
  const common = {
    ...((current['common_http_protocol_options'] as EnvoyObject | undefined) ?? {}),
    ...((fields['common_http_protocol_options'] as EnvoyObject | undefined) ?? {}),
  };
  ext[HTTP_PROTOCOL_OPTIONS] = {
    ...current,
    ...fields,
    ...(Object.keys(common).length ? { common_http_protocol_options: common } : {}),
  };
}

/**
 * Istio's applyConnectionPool: every threshold at the maximum unless set (Istio raises Envoy's
 * defaults of 1024/3 so that circuit breaking never surprises), the retry budget in the
 * thresholds, the connect timeout, and the HTTP connection options.
 */
export function applyConnectionPool(
  cluster: EnvoyObject,
  policy: TrafficPolicy | undefined,
  defaultConnectTimeout: string,
): void {
  const p = view(policy);
  const tcp = p.connectionPool?.tcp;
  const http = p.connectionPool?.http;
  const thresholds: EnvoyObject = {
    max_connections: tcp?.maxConnections || UINT32_MAX,
    max_pending_requests: http?.http1MaxPendingRequests || UINT32_MAX,
    max_requests: http?.http2MaxRequests || UINT32_MAX,
    max_retries: http?.maxRetries || UINT32_MAX,
    track_remaining: true,
  };
  const budget = p.retryBudget;
  if (budget) {
    thresholds['retry_budget'] = {
      budget_percent: { value: budget.percent ?? 20 },
      min_retry_concurrency: budget.minRetryConcurrency || 3,
    };
  }
  cluster['circuit_breakers'] = { thresholds: [thresholds] };
  cluster['connect_timeout'] = toProtoDuration(tcp?.connectTimeout ?? defaultConnectTimeout);
  // http.idleTimeout wins; tcp.idleTimeout stands in for it on HTTP clusters (Istio).
  const idle = http?.idleTimeout ?? tcp?.idleTimeout;
  const common: EnvoyObject = {};
  if (idle !== undefined) common['idle_timeout'] = toProtoDuration(idle);
  if (http?.maxRequestsPerConnection)
    common['max_requests_per_connection'] = http.maxRequestsPerConnection;
  if (tcp?.maxConnectionDuration !== undefined)
    common['max_connection_duration'] = toProtoDuration(tcp.maxConnectionDuration);
  if (Object.keys(common).length)
    mergeHttpProtocolOptions(cluster, { common_http_protocol_options: common });
  const keepalive = tcp?.tcpKeepalive;
  if (keepalive) {
    // An empty tcp_keepalive turns SO_KEEPALIVE on with the system's settings (Istio).
    const k: EnvoyObject = {};
    if (keepalive.probes) k['keepalive_probes'] = keepalive.probes;
    if (keepalive.time) k['keepalive_time'] = Math.floor(seconds(keepalive.time));
    if (keepalive.interval) k['keepalive_interval'] = Math.floor(seconds(keepalive.interval));
    cluster['upstream_connection_options'] = { tcp_keepalive: k };
  }
}

/** Whole seconds of an Istio duration (Envoy's keepalive fields count seconds). */
function seconds(d: string): number {
  return goDurationSeconds(d);
}

/**
 * Istio's applyOutlierDetection: success-rate ejection off, each consecutive counter enforced
 * at 100% when set, local-origin errors split when asked; the panic threshold is minHealthPercent
 * (0, panic disabled, when unset: Envoy's 50% does not suit a few pods per service).
 */
export function applyOutlierDetection(
  cluster: EnvoyObject,
  policy: TrafficPolicy | undefined,
): void {
  const o = view(policy).outlierDetection;
  if (!o) return;
  const out: EnvoyObject = { enforcing_success_rate: 0 };
  if (o.consecutive5xxErrors !== undefined) {
    out['consecutive_5xx'] = o.consecutive5xxErrors;
    out['enforcing_consecutive_5xx'] = o.consecutive5xxErrors > 0 ? 100 : 0;
  }
  if (o.consecutiveGatewayErrors !== undefined) {
    out['consecutive_gateway_failure'] = o.consecutiveGatewayErrors;
    out['enforcing_consecutive_gateway_failure'] = o.consecutiveGatewayErrors > 0 ? 100 : 0;
  }
  if (o.interval) out['interval'] = toProtoDuration(o.interval);
  if (o.baseEjectionTime) out['base_ejection_time'] = toProtoDuration(o.baseEjectionTime);
  if (o.maxEjectionPercent) out['max_ejection_percent'] = o.maxEjectionPercent;
  if (o.splitExternalLocalOriginErrors) {
    out['split_external_local_origin_errors'] = true;
    if (o.consecutiveLocalOriginFailures) {
      out['consecutive_local_origin_failure'] = o.consecutiveLocalOriginFailures;
      out['enforcing_consecutive_local_origin_failure'] = 100;
    }
    out['enforcing_local_origin_success_rate'] = 0;
  }
  cluster['outlier_detection'] = out;
  const common = (cluster['common_lb_config'] ??= {}) as EnvoyObject;
  common['healthy_panic_threshold'] = { value: o.minHealthPercent ?? 0 };
}

/** Istio's setWarmup / setSlowStartConfig (warmup wins over the older warmupDurationSecs). */
function slowStartConfig(lb: NonNullable<PolicyView['loadBalancer']>): EnvoyObject | undefined {
  if (lb.warmup?.duration) {
    return {
      slow_start_window: toProtoDuration(lb.warmup.duration),
      aggression: { default_value: lb.warmup.aggression ?? 1, runtime_key: '(' },
      min_weight_percent: { value: lb.warmup.minimumPercent ?? 10 },
    };
  }
  if (lb.warmupDurationSecs) return { slow_start_window: toProtoDuration(lb.warmupDurationSecs) };
  return undefined;
}

/** True when the policy makes the cluster ORIGINAL_DST (loadBalancer.simple PASSTHROUGH). */
export function isPassthrough(policy: TrafficPolicy | undefined): boolean {
  return view(policy).loadBalancer?.simple === 'PASSTHROUGH';
}

/**
 * Istio's applyLoadBalancer: the simple policy (LEAST_REQUEST when none, current Istio's
 * defaultLBAlgorithm), slow start for round robin and least request, PASSTHROUGH as an
 * ORIGINAL_DST cluster, then consistent hash (ring hash by default, Maglev when asked).
 */
export function applyLoadBalancer(cluster: EnvoyObject, policy: TrafficPolicy | undefined): void {
  if (cluster['type'] === 'ORIGINAL_DST') {
    cluster['lb_policy'] = 'CLUSTER_PROVIDED';
    return;
  }
  const lb = view(policy).loadBalancer ?? {};
  const slow = slowStartConfig(lb);
  switch (lb.simple) {
    case 'ROUND_ROBIN':
      cluster['lb_policy'] = 'ROUND_ROBIN';
      if (slow) cluster['round_robin_lb_config'] = { slow_start_config: slow };
      break;
    case 'RANDOM':
      cluster['lb_policy'] = 'RANDOM';
      break;
    case 'PASSTHROUGH':
      cluster['type'] = 'ORIGINAL_DST';
      cluster['lb_policy'] = 'CLUSTER_PROVIDED';
      delete cluster['load_assignment'];
      delete cluster['eds_cluster_config'];
      delete cluster['dns_lookup_family'];
      // Local mode has no original destination address: the caller names the endpoint in
      // Envoy's x-envoy-original-dst-host header (else its authority is the destination).
      cluster['original_dst_lb_config'] = {
        use_http_header: true,
        http_header_name: 'x-envoy-original-dst-host',
      };
      return;
    default:
      // LEAST_REQUEST, LEAST_CONN (deprecated alias) and no policy at all.
      cluster['lb_policy'] = 'LEAST_REQUEST';
      if (slow) cluster['least_request_lb_config'] = { slow_start_config: slow };
  }
  const hash = lb.consistentHash;
  if (!hash) return;
  delete cluster['round_robin_lb_config'];
  delete cluster['least_request_lb_config'];
  if (hash.maglev) {
    cluster['lb_policy'] = 'MAGLEV';
    if (hash.maglev.tableSize) cluster['maglev_lb_config'] = { table_size: hash.maglev.tableSize };
  } else if (hash.ringHash) {
    cluster['lb_policy'] = 'RING_HASH';
    if (hash.ringHash.minimumRingSize)
      cluster['ring_hash_lb_config'] = { minimum_ring_size: hash.ringHash.minimumRingSize };
  } else {
    // The deprecated top-level minimumRingSize; Envoy's default is 1024.
    cluster['lb_policy'] = 'RING_HASH';
    cluster['ring_hash_lb_config'] = { minimum_ring_size: hash.minimumRingSize || 1024 };
  }
}
