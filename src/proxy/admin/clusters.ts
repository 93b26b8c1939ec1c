// The admin page /clusters as Envoy prints it (text `cluster::host::stat::value` lines, or
// `?format=json` in the shape of envoy.admin.v3.Clusters), plus skiff's own lines for what
// Envoy keeps elsewhere: each host's outlier state (ejections, current ejection time, counters),
// the circuit breakers in use, and the priority loads. /stats gets the cluster counters with
// Envoy's names (outlier_detection.*, circuit_breakers.default.*).
import type { Cluster } from '../upstream/cluster.js';
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { Host } from '../upstream/host.js';

function localityParts(locality: string): { region: string; zone: string; sub_zone: string } {
  const [region = '', zone = '', subZone = ''] = locality.split('/');
  return { region, zone, sub_zone: subZone };
}

function hostStats(h: Host): [string, number][] {
  return [
    ['cx_active', h.cxActive],
    ['cx_connect_fail', h.cxConnectFail],
    ['cx_total', h.cxTotal],
    ['rq_active', h.activeRequests],
    ['rq_error', h.errorsTotal],
    ['rq_success', h.successTotal],
    ['rq_timeout', h.timeoutsTotal],
    ['rq_total', h.requestsTotal],
  ];
}

/** skiff's outlier lines per host (Envoy shows only the health flag on /clusters). */
function outlierState(h: Host, now: number): [string, number][] {
  return [
    ['outlier_ejections', h.numEjections],
    ['outlier_ejection_time_ms', Math.round(h.ejectionDurationMs)],
    [
      'outlier_ejected_remaining_ms',
      h.ejected && h.lastEjectionTime !== undefined
        ? Math.max(0, Math.round(h.lastEjectionTime + h.ejectionDurationMs - now))
        : 0,
    ],
    ['outlier_consecutive_5xx', h.consecutive5xx],
    ['outlier_consecutive_gateway_failure', h.consecutiveGatewayFailure],
    ['outlier_consecutive_local_origin_failure', h.consecutiveLocalOriginFailure],
  ];
}

function thresholdLines(c: Cluster): [string, number][] {
  const t = c.config.thresholds;
  return [
    ['max_connections', t.maxConnections],
    ['max_pending_requests', t.maxPendingRequests],
    ['max_requests', t.maxRequests],
    ['max_retries', t.maxRetries],
  ];
}

export function clustersText(clusters: ClusterManager): string {
  const lines: string[] = [];
  const now = performance.now();
  for (const c of clusters.all()) {
    const name = c.config.name;
    lines.push(`${name}::observability_name::${name}`);
    if (c.outlier) {
      for (const k of [
        'success_rate_average',
        'success_rate_ejection_threshold',
        'local_origin_success_rate_average',
        'local_origin_success_rate_ejection_threshold',
      ])
        lines.push(`${name}::outlier::${k}::-1`);
    }
    for (const [k, v] of thresholdLines(c)) lines.push(`${name}::default_priority::${k}::${v}`);
    for (const [k, v] of c.resources.gauges())
      lines.push(`${name}::circuit_breakers::default::${k}::${v}`);
    lines.push(`${name}::added_via_api::true`);
    if (c.config.type === 'EDS')
      lines.push(`${name}::eds_service_name::${c.config.edsServiceName}`);
    const { loads, panic } = c.priorityState();
    loads.forEach((l, p) =>
      lines.push(`${name}::priority_load::${p}::${l}${panic[p] ? '::panic' : ''}`),
    );
    for (const h of c.hosts) {
      const prefix = `${name}::${h.key}`;
      for (const [k, v] of hostStats(h)) lines.push(`${prefix}::${k}::${v}`);
      const loc = localityParts(h.spec.locality);
      lines.push(
        `${prefix}::hostname::`,
        `${prefix}::health_flags::${h.healthFlags()}`,
        `${prefix}::weight::${h.spec.weight}`,
        `${prefix}::region::${loc.region}`,
        `${prefix}::zone::${loc.zone}`,
        `${prefix}::sub_zone::${loc.sub_zone}`,
        `${prefix}::canary::false`,
        `${prefix}::priority::${h.spec.priority}`,
        `${prefix}::success_rate::-1`,
        `${prefix}::local_origin_success_rate::-1`,
        `${prefix}::locality::${h.spec.locality}`,
      );
      if (c.outlier) for (const [k, v] of outlierState(h, now)) lines.push(`${prefix}::${k}::${v}`);
    }
  }
  return lines.join('\n') + '\n';
}

/** `/clusters?format=json`: envoy.admin.v3.Clusters, host statuses with skiff's `outlier`. */
export function clustersJson(clusters: ClusterManager): unknown {
  const now = performance.now();
  return {
    cluster_statuses: clusters.all().map((c) => {
      const { loads, panic } = c.priorityState();
      return {
        name: c.config.name,
        observability_name: c.config.name,
        added_via_api: true,
        ...(c.config.type === 'EDS' ? { eds_service_name: c.config.edsServiceName } : {}),
        circuit_breakers: {
          thresholds: [
            {
              priority: 'DEFAULT',
              ...Object.fromEntries(thresholdLines(c)),
              ...(c.config.thresholds.retryBudget
                ? {
                    retry_budget: {
                      budget_percent: { value: c.config.thresholds.retryBudget.budgetPercent },
                      min_retry_concurrency: c.config.thresholds.retryBudget.minRetryConcurrency,
                    },
                  }
                : {}),
            },
          ],
          // skiff: the breakers as they stand (Envoy's circuit_breakers.default.* gauges).
          state: Object.fromEntries(c.resources.gauges()),
        },
        priority_loads: loads.map((load, p) => ({ priority: p, load, panic: panic[p] })),
        host_statuses: c.hosts.map((h) => ({
          address: { socket_address: { address: h.address, port_value: h.port } },
          stats: hostStats(h).map(([name, value]) => ({
            name,
            value,
            type: name.endsWith('active') ? 'GAUGE' : 'COUNTER',
          })),
          health_status: {
            eds_health_status: h.spec.health === 'UNKNOWN' ? 'HEALTHY' : h.spec.health,
            ...(h.ejected ? { failed_outlier_check: true } : {}),
          },
          weight: h.spec.weight,
          locality: localityParts(h.spec.locality),
          priority: h.spec.priority,
          ...(c.outlier ? { outlier: Object.fromEntries(outlierState(h, now)) } : {}),
        })),
      };
    }),
  };
}

/** `cluster.<name>.*` lines for /stats. */
export function clusterStatLines(c: Cluster): string[] {
  const name = c.config.name;
  const out: string[] = [];
  for (const [k, v] of c.stats.entries()) out.push(`cluster.${name}.${k}: ${v}`);
  for (const [k, v] of c.resources.gauges())
    out.push(`cluster.${name}.circuit_breakers.default.${k}: ${v}`);
  if (c.outlier)
    out.push(`cluster.${name}.outlier_detection.ejections_active: ${c.outlier.ejectionsActive}`);
  return out;
}
