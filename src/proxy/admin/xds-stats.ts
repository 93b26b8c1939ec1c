// Where Envoy keeps each xDS subscription's stats, and so where the admin endpoint shows the xDS
// client's counters (xds-client/update-stats.ts): CDS under `cluster_manager.cds.`, LDS under
// `listener_manager.lds.`, a cluster's EDS under `cluster.<name>.`, a route configuration's RDS
// under `http.<stat_prefix>.rds.<name>.` for each connection manager taking it, and a secret's
// SDS under `sds.<name>.`. In Prometheus form the cluster name, connection manager prefix and
// route configuration are tags, as Envoy's tag extraction makes them.
import type { ClusterManager } from '../upstream/cluster-manager.js';
import type { ListenerManager } from '../listeners/listener-manager.js';
import { statName } from '../telemetry/metrics/envoy-stats.js';
import type { XdsStatScope } from '../telemetry/metrics/envoy-stats.js';
import { escapeLabel } from '../telemetry/metrics/registry.js';
import { TypeUrl } from '../../xds/types.js';
import type { UpdateCounters, XdsUpdateStats } from '../xds-client/update-stats.js';

function scope(
  statPrefix: string,
  family: string,
  labels: string,
  c: UpdateCounters,
): XdsStatScope {
  return { statPrefix, family, labels, counters: c.entries(), versionText: c.version_text };
}

export function xdsStatScopes(
  updates: XdsUpdateStats,
  clusters: ClusterManager,
  listeners: ListenerManager,
): XdsStatScope[] {
  const out: XdsStatScope[] = [];
  const cds = updates.type(TypeUrl.Cluster);
  if (cds) out.push(scope('cluster_manager.cds', 'envoy_cluster_manager_cds_', '', cds));
  const lds = updates.type(TypeUrl.Listener);
  if (lds) out.push(scope('listener_manager.lds', 'envoy_listener_manager_lds_', '', lds));
  const eds = updates.resources(TypeUrl.ClusterLoadAssignment);
  for (const c of clusters.all()) {
    const counters = eds.get(c.config.edsServiceName);
    if (!counters || c.config.type !== 'EDS') continue;
    const labels = `{envoy_cluster_name="${escapeLabel(c.config.name)}"}`;
    out.push(scope(`cluster.${c.config.name}`, 'envoy_cluster_', labels, counters));
  }
  const rds = updates.resources(TypeUrl.RouteConfiguration);
  for (const [name, prefixes] of listeners.rdsStatPrefixes()) {
    const counters = rds.get(name);
    if (!counters) continue;
    for (const prefix of prefixes) {
      const labels =
        `{envoy_http_conn_manager_prefix="${escapeLabel(prefix)}",` +
        `envoy_rds_route_config="${escapeLabel(name)}"}`;
      out.push(scope(`http.${prefix}.rds.${name}`, 'envoy_http_rds_', labels, counters));
    }
  }
  // Envoy has no tag for a secret's name: it stays in the stat's name. Two names that differ
  // only where Prometheus allows no character (`a.b`, `a_b`) would give one family twice: the
  // first keeps the Prometheus name, the other shows in /stats only.
  const families = new Set<string>();
  for (const [name, counters] of updates.resources(TypeUrl.Secret)) {
    const family = `envoy_sds_${statName(name)}_`;
    const s = scope(`sds.${name}`, families.has(family) ? '' : family, '', counters);
    families.add(family);
    out.push(s);
  }
  return out;
}

/** The `/stats` lines: counters, and version_text as Envoy prints a text readout. */
export function xdsStatLines(scopes: readonly XdsStatScope[]): string[] {
  const lines: string[] = [];
  for (const s of scopes) {
    for (const [k, v] of s.counters) lines.push(`${s.statPrefix}.${k}: ${v}`);
    lines.push(`${s.statPrefix}.version_text: ${JSON.stringify(s.versionText)}`);
  }
  return lines;
}
