// Envoy's own stats in Prometheus form, as Envoy's /stats/prometheus names them: the stat's
// name with its tag-extracted parts moved to labels (`cluster.<name>.upstream_rq_total` →
// `envoy_cluster_upstream_rq_total{envoy_cluster_name="<name>"}`), dots as underscores, gauges
// typed as gauges. Read from the counters the proxy keeps for /stats.
import type { Cluster } from '../../upstream/cluster.js';
import type { ListenerStats } from '../../listeners/listener-stats.js';
import { escapeLabel } from './registry.js';

/** Envoy gauges among the cluster and listener stats (the rest are counters). */
const GAUGES = new Set([
  'upstream_rq_active',
  'upstream_rq_pending_active',
  'upstream_cx_active',
  'outlier_detection_ejections_active',
  'downstream_cx_active',
  'downstream_rq_active',
  'circuit_breakers_default_cx_open',
  'circuit_breakers_default_rq_open',
  'circuit_breakers_default_rq_pending_open',
  'circuit_breakers_default_rq_retry_open',
  'circuit_breakers_default_remaining_cx',
  'circuit_breakers_default_remaining_rq',
  'circuit_breakers_default_remaining_pending',
  'circuit_breakers_default_remaining_retries',
  'control_plane_connected_state',
]);

/**
 * One xDS subscription's counters where Envoy keeps them: `family` is the Prometheus name's
 * stem (`envoy_cluster_manager_cds_`, `envoy_cluster_`; empty: not in Prometheus form), `labels`
 * its tags (admin/xds-stats.ts).
 */
export interface XdsStatScope {
  readonly statPrefix: string;
  readonly family: string;
  readonly labels: string;
  readonly counters: readonly (readonly [string, number])[];
  readonly versionText: string;
}

export interface ListenerView {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly stats: ListenerStats;
}

class Families {
  private readonly byName = new Map<string, string[]>();
  add(name: string, labels: string, value: number): void {
    let lines = this.byName.get(name);
    if (!lines) {
      lines = [];
      this.byName.set(name, lines);
    }
    lines.push(`${name}${labels} ${value}`);
  }
  render(out: string[]): void {
    for (const name of [...this.byName.keys()].sort()) {
      const short = name.replace(/^envoy_(cluster|listener|http)_/, '').replace(/^envoy_/, '');
      // xDS subscriptions' update_time (ms since the epoch) is a gauge wherever it lives.
      const gauge = GAUGES.has(short) || name.endsWith('_update_time');
      out.push(`# TYPE ${name} ${gauge ? 'gauge' : 'counter'}`);
      out.push(...(this.byName.get(name) ?? []));
    }
  }
}

/** A stat name as Prometheus allows it: every other character becomes `_`. */
export const statName = (k: string) => k.replace(/[^a-zA-Z0-9_]/g, '_');

export function renderEnvoyStats(
  clusters: readonly Cluster[],
  listeners: readonly ListenerView[],
  connected: boolean,
  out: string[],
  xds: readonly XdsStatScope[] = [],
): void {
  const f = new Families();
  for (const x of xds) {
    if (!x.family) continue; // shown in /stats only
    for (const [k, v] of x.counters) f.add(`${x.family}${k}`, x.labels, v);
  }
  for (const c of clusters) {
    const labels = `{envoy_cluster_name="${escapeLabel(c.config.name)}"}`;
    for (const [k, v] of c.stats.entries()) f.add(`envoy_cluster_${statName(k)}`, labels, v);
    for (const [k, v] of c.resources.gauges())
      f.add(`envoy_cluster_circuit_breakers_default_${statName(k)}`, labels, v);
    if (c.outlier)
      f.add('envoy_cluster_outlier_detection_ejections_active', labels, c.outlier.ejectionsActive);
  }
  for (const l of listeners) {
    // Envoy's listener address tag: `<ip>_<port>`; internal listeners go by name.
    const address = l.address ? `${l.address}_${l.port}` : l.name;
    const labels = `{envoy_listener_address="${escapeLabel(address)}"}`;
    const http = `{envoy_http_conn_manager_prefix="${escapeLabel(l.name)}"}`;
    for (const [k, v] of l.stats.entries()) {
      // downstream_rq_* are the connection manager's (http.<prefix>.*) in Envoy.
      if (k.startsWith('downstream_rq_')) f.add(`envoy_http_${statName(k)}`, http, v);
      else f.add(`envoy_listener_${statName(k)}`, labels, v);
    }
    for (const [k, v] of l.stats.filterCounters) {
      const dot = k.indexOf('.');
      const prefix = dot < 0 ? '' : k.slice(0, dot);
      const rest = dot < 0 ? k : k.slice(dot + 1);
      f.add(
        `envoy_http_${statName(rest)}`,
        `{envoy_http_conn_manager_prefix="${escapeLabel(prefix)}"}`,
        v,
      );
    }
  }
  f.add('envoy_control_plane_connected_state', '', connected ? 1 : 0);
  f.render(out);
}
