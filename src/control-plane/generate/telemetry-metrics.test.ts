// The Telemetry API's metrics section → istio.stats PluginConfigs, merged over root → namespace
// → workload as pilot does, and the filters placed in every HCM and before every tcp_proxy.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TelemetrySpec } from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';
import { metricsFor, pluginConfig, withMetricsFilters } from './telemetry-metrics.js';

const node = { namespace: 'default', labels: { app: 'reviews' } } as unknown as ProxyNode;

function model(levels: {
  mesh?: TelemetrySpec;
  namespace?: TelemetrySpec;
  workload?: TelemetrySpec;
}) {
  const wrap = (spec: TelemetrySpec | undefined) => (spec ? { spec } : undefined);
  return {
    meshConfig: { defaultProviders: {} },
    telemetryFor: () => ({
      mesh: wrap(levels.mesh),
      namespace: wrap(levels.namespace),
      workload: wrap(levels.workload),
    }),
  } as unknown as MeshModel;
}

test('no Telemetry: prometheus by default, no overrides', () => {
  const m = metricsFor(node, model({}));
  assert.ok(m.CLIENT && m.SERVER);
  assert.deepEqual(pluginConfig(m.CLIENT), {});
});

test('overrides accumulate over the chain; modes; disabled; REMOVE undoes an UPSERT', () => {
  const m = metricsFor(
    node,
    model({
      mesh: {
        metrics: [
          {
            providers: [{ name: 'prometheus' }],
            overrides: [
              { tagOverrides: { request_host: { value: 'request.host' } } },
              { match: { metric: 'REQUEST_SIZE', mode: 'SERVER' }, disabled: true },
            ],
          },
        ],
      },
      workload: {
        metrics: [
          {
            overrides: [
              {
                match: { metric: 'REQUEST_COUNT', mode: 'CLIENT' },
                tagOverrides: { request_host: { operation: 'REMOVE' } },
              },
            ],
          },
        ],
      },
    }),
  );
  const client = pluginConfig(m.CLIENT ?? { overrides: new Map() });
  const server = pluginConfig(m.SERVER ?? { overrides: new Map() });
  const byName = (c: Record<string, unknown>) =>
    Object.fromEntries(((c['metrics'] ?? []) as { name: string }[]).map((x) => [x.name, x]));
  assert.deepEqual(byName(client)['requests_total'], {
    name: 'requests_total',
    tags_to_remove: ['request_host'],
  });
  assert.deepEqual(byName(client)['request_bytes'], {
    name: 'request_bytes',
    dimensions: { request_host: 'request.host' },
  });
  assert.deepEqual(byName(server)['request_bytes'], { name: 'request_bytes', drop: true });
});

test('all metrics disabled for a mode, or another provider: no istio.stats there', () => {
  const off = metricsFor(
    node,
    model({
      namespace: { metrics: [{ overrides: [{ match: { mode: 'CLIENT' }, disabled: true }] }] },
    }),
  );
  assert.equal(off.CLIENT, undefined);
  assert.ok(off.SERVER);
  const other = metricsFor(
    node,
    model({ mesh: { metrics: [{ providers: [{ name: 'stackdriver' }] }] } }),
  );
  assert.equal(other.CLIENT, undefined);
  assert.equal(other.SERVER, undefined);
});

test('filters: metadata exchange first and stats before the router; stats before tcp_proxy', () => {
  const hcm = {
    name: 'envoy.filters.network.http_connection_manager',
    typed_config: {
      '@type':
        'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
      http_filters: [{ name: 'envoy.filters.http.fault' }, { name: 'envoy.filters.http.router' }],
    },
  };
  const tcp = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    },
  };
  const [l] = withMetricsFilters(
    [
      {
        name: 'l',
        resource: {
          traffic_direction: 'INBOUND',
          filter_chains: [{ filters: [hcm] }, { filters: [tcp] }],
        },
      },
    ],
    node,
    model({}),
  );
  const chains = (l?.resource as { filter_chains: { filters: Record<string, unknown>[] }[] })
    .filter_chains;
  const http = (chains[0]?.filters[0]?.['typed_config'] as { http_filters: { name: string }[] })
    .http_filters;
  assert.deepEqual(
    http.map((f) => f.name),
    [
      'istio.metadata_exchange',
      'envoy.filters.http.fault',
      'istio.stats',
      'envoy.filters.http.router',
    ],
  );
  assert.deepEqual(
    chains[1]?.filters.map((f) => f['name']),
    ['istio.stats', 'envoy.filters.network.tcp_proxy'],
  );
  const stats = chains[1]?.filters[0]?.['typed_config'] as Record<string, unknown>;
  assert.equal(stats['@type'], 'type.googleapis.com/xds.type.v3.TypedStruct');
  assert.equal(stats['type_url'], 'type.googleapis.com/stats.PluginConfig');
});
