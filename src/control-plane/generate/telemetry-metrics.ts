// Istio's metrics on a proxy's listeners: the `istio.metadata_exchange` HTTP filter (peer
// metadata over istio headers) first in every HTTP connection manager, `istio.stats` just before
// the router, and `istio.stats` as a network filter before every tcp_proxy. Their protos are
// Istio's (io.istio.http.peer_metadata.Config, stats.PluginConfig), so they travel as
// xds.type.v3.TypedStruct, the Struct holding the proto's JSON form (docs/xds.md).
// The Telemetry API's `metrics` apply as pilot's mergeMetrics does (pilot/pkg/model/
// telemetry.go): over the chain root → namespace → workload, a level without providers keeps
// its parent's; overrides accumulate in order, later ones winning per tag; an override of all
// metrics with disabled: true removes the filter for its mode (CLIENT = outbound and gateway
// listeners, SERVER = inbound).
import type { TelemetrySpec } from '../../config/kinds.js';
import type { InboundPort, ProxyNode } from '../../xds/node.js';
import { typed } from '../../xds/any.js';
import type { NamedResource } from '../server/snapshot.js';
import type { MeshModel } from '../model/mesh-model.js';
import { chainOrder } from '../model/telemetry.js';

type EnvoyObject = Record<string, unknown>;
type Mode = 'CLIENT' | 'SERVER';

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TYPED_STRUCT = 'xds.type.v3.TypedStruct';
const PROMETHEUS = 'prometheus';

/** The Telemetry API's metric names → the stats filter's (Istio's metricToPrometheusMetric). */
export const METRIC_NAMES: Readonly<Record<string, string>> = {
  REQUEST_COUNT: 'requests_total',
  REQUEST_DURATION: 'request_duration_milliseconds',
  REQUEST_SIZE: 'request_bytes',
  RESPONSE_SIZE: 'response_bytes',
  TCP_OPENED_CONNECTIONS: 'tcp_connections_opened_total',
  TCP_CLOSED_CONNECTIONS: 'tcp_connections_closed_total',
  TCP_SENT_BYTES: 'tcp_sent_bytes_total',
  TCP_RECEIVED_BYTES: 'tcp_received_bytes_total',
};
const ALL = Object.values(METRIC_NAMES);

interface MetricOverride {
  disabled: boolean;
  /** Tag → expression (UPSERT), in the order they were set. */
  readonly tags: Map<string, string>;
  readonly remove: Set<string>;
}

/** One mode's stats config: undefined when metrics are off for it. */
export interface ModeMetrics {
  readonly overrides: ReadonlyMap<string, MetricOverride>;
}

type Metrics = NonNullable<TelemetrySpec['metrics']>[number];

/** The merged metrics config of a proxy per mode (undefined: no istio.stats there). */
export function metricsFor(
  node: ProxyNode,
  model: MeshModel,
): Readonly<Record<Mode, ModeMetrics | undefined>> {
  const defaults = (model.meshConfig.defaultProviders as { metrics?: unknown }).metrics;
  let providers: string[] = Array.isArray(defaults) ? defaults.map(String) : [PROMETHEUS];
  const modes: Record<Mode, Map<string, MetricOverride>> = { CLIENT: new Map(), SERVER: new Map() };
  const disabledAll = new Set<Mode>();
  const levels: Metrics[] = chainOrder(model.telemetryFor(node)).flatMap(
    (t) => t.spec.metrics ?? [],
  );
  for (const m of levels) {
    const names = (m.providers ?? []).map((p) => p.name ?? '').filter(Boolean);
    if (names.length) providers = names;
    if (!providers.includes(PROMETHEUS)) continue;
    for (const o of m.overrides ?? []) {
      const match = o.match;
      const mode = match?.mode ?? 'CLIENT_AND_SERVER';
      const which: Mode[] = mode === 'CLIENT_AND_SERVER' ? ['CLIENT', 'SERVER'] : [mode as Mode];
      const all = !match?.metric && !match?.customMetric ? true : match.metric === 'ALL_METRICS';
      if (all && o.disabled === true) {
        for (const w of which) disabledAll.add(w);
        continue;
      }
      // Custom metrics are not supported by skiff's stats filter; they match nothing here.
      const metrics = all ? ALL : match?.metric ? [METRIC_NAMES[match.metric]] : [];
      for (const w of which)
        for (const name of metrics) {
          if (!name) continue;
          let mo = modes[w].get(name);
          if (!mo)
            modes[w].set(name, (mo = { disabled: false, tags: new Map(), remove: new Set() }));
          if (o.disabled !== undefined) mo.disabled = o.disabled === true;
          for (const [tag, t] of Object.entries(o.tagOverrides ?? {})) {
            if ((t.operation ?? 'UPSERT') === 'REMOVE') {
              mo.tags.delete(tag);
              mo.remove.add(tag);
            } else {
              mo.remove.delete(tag);
              mo.tags.set(tag, t.value ?? '');
            }
          }
        }
    }
  }
  const on = providers.includes(PROMETHEUS);
  const of = (w: Mode) => (on && !disabledAll.has(w) ? { overrides: modes[w] } : undefined);
  return { CLIENT: of('CLIENT'), SERVER: of('SERVER') };
}

/** stats.PluginConfig's JSON form for one mode (Istio's generateStatsConfig). */
export function pluginConfig(m: ModeMetrics): EnvoyObject {
  const metrics: EnvoyObject[] = [];
  for (const name of [...m.overrides.keys()].sort()) {
    const o = m.overrides.get(name) as MetricOverride;
    if (o.disabled) {
      metrics.push({ name, drop: true });
      continue;
    }
    const entry: EnvoyObject = { name };
    if (o.tags.size) entry['dimensions'] = Object.fromEntries(o.tags);
    if (o.remove.size) entry['tags_to_remove'] = [...o.remove];
    if (o.tags.size || o.remove.size) metrics.push(entry);
  }
  return metrics.length ? { metrics } : {};
}

function typedStruct(typeUrl: string, value: EnvoyObject): EnvoyObject {
  return typed(TYPED_STRUCT, { type_url: `type.googleapis.com/${typeUrl}`, value });
}

/** Istio's peer metadata filter: discover and propagate with istio headers, both ways. */
export function metadataExchangeFilter(): EnvoyObject {
  const headers = [{ istio_headers: {} }];
  return {
    name: 'istio.metadata_exchange',
    typed_config: typedStruct('io.istio.http.peer_metadata.Config', {
      downstream_discovery: headers,
      downstream_propagation: headers,
      upstream_discovery: headers,
      upstream_propagation: headers,
    }),
  };
}

export function statsFilter(m: ModeMetrics): EnvoyObject {
  return { name: 'istio.stats', typed_config: typedStruct('stats.PluginConfig', pluginConfig(m)) };
}

function typeOf(f: EnvoyObject): string {
  return String((f['typed_config'] as EnvoyObject | undefined)?.['@type'] ?? '');
}

function withFilters(chain: EnvoyObject, stats: EnvoyObject | undefined): EnvoyObject {
  const filters = chain['filters'] as EnvoyObject[] | undefined;
  if (!filters) return chain;
  const out: EnvoyObject[] = [];
  for (const f of filters) {
    const type = typeOf(f);
    if (type.endsWith(`/${TCP_PROXY}`)) {
      if (stats) out.push(stats);
      out.push(f);
    } else if (type.endsWith(`/${HCM}`)) {
      const tc = f['typed_config'] as EnvoyObject;
      const http = (tc['http_filters'] as EnvoyObject[] | undefined) ?? [];
      const router = http.slice(-1);
      const http_filters = [
        metadataExchangeFilter(),
        ...http.slice(0, -1),
        ...(stats ? [stats] : []),
        ...router,
      ];
      out.push({ ...f, typed_config: { ...tc, http_filters } });
    } else out.push(f);
  }
  return { ...chain, filters: out };
}

/** Adds Istio's telemetry filters to every connection manager and tcp_proxy of the listeners. */
export function withMetricsFilters(
  listeners: NamedResource[],
  node: ProxyNode,
  model: MeshModel,
): NamedResource[] {
  const metrics = metricsFor(node, model);
  const stats = {
    CLIENT: metrics.CLIENT && statsFilter(metrics.CLIENT),
    SERVER: metrics.SERVER && statsFilter(metrics.SERVER),
  };
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    const s = stats[r['traffic_direction'] === 'INBOUND' ? 'SERVER' : 'CLIENT'];
    const resource: EnvoyObject = { ...r };
    if (Array.isArray(r['filter_chains']))
      resource['filter_chains'] = (r['filter_chains'] as EnvoyObject[]).map((c) =>
        withFilters(c, s),
      );
    if (r['default_filter_chain'])
      resource['default_filter_chain'] = withFilters(r['default_filter_chain'] as EnvoyObject, s);
    return { ...l, resource };
  });
}

/**
 * The inbound cluster's `istio.services` metadata: the services this workload port serves, which
 * the server side's stats read for destination_service (as Istio's inbound clusters carry).
 */
export function inboundClusterMetadata(
  node: ProxyNode,
  port: InboundPort,
  model: MeshModel,
): EnvoyObject | undefined {
  const services: EnvoyObject[] = [];
  for (const svc of model.services.values())
    for (const sp of svc.ports)
      if (
        model
          .endpointsOf(svc.hostname, sp.port)
          .some((ep) => ep.address === node.ip && ep.port === port.listenPort) &&
        !services.some((s) => s['host'] === svc.hostname)
      )
        services.push({ host: svc.hostname, name: svc.name, namespace: svc.namespace });
  return services.length ? { filter_metadata: { istio: { services } } } : undefined;
}
