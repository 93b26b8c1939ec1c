import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import { compileListener } from './listener-config.js';

type Obj = Record<string, unknown>;

const HCM =
  'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const hcm = {
  name: 'envoy.filters.network.http_connection_manager',
  typed_config: {
    '@type': HCM,
    stat_prefix: 'in',
    rds: { route_config_name: 'r', config_source: { ads: {} } },
    http_filters: [
      {
        name: 'envoy.filters.http.router',
        typed_config: {
          '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
        },
      },
    ],
  },
};
const tcpProxy = (cluster: string) => ({
  name: 'envoy.filters.network.tcp_proxy',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
    stat_prefix: cluster,
    cluster,
  },
});
const tlsInspector = {
  name: 'envoy.filters.listener.tls_inspector',
  typed_config: {
    '@type': 'type.googleapis.com/envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector',
  },
};

function listener(extra: Obj = {}): Obj {
  return {
    name: 'l',
    address: { socket_address: { address: '127.0.0.1', port_value: 15006 } },
    traffic_direction: 'INBOUND',
    filter_chains: [{ name: 'chain', filters: [hcm] }],
    ...extra,
  };
}

test('address, direction and the HTTP connection manager of the filter chain', () => {
  const source = listener();
  const l = compileListener(source);
  assert.equal(l.name, 'l');
  assert.equal(l.address, '127.0.0.1');
  assert.equal(l.port, 15006);
  assert.equal(l.internal, false);
  assert.equal(l.direction, 'INBOUND');
  assert.equal(l.filterChains[0]?.name, 'chain');
  assert.deepEqual(l.filterChains[0]?.hcm?.routes, { kind: 'rds', name: 'r' });
  assert.equal(l.filterChains[0]?.filter.kind, 'http_connection_manager');
  assert.equal(l.source, source);
  assert.equal(l.listenerFiltersTimeoutMs, 15_000, "Envoy's default listener_filters_timeout");
  assert.ok(Object.isFrozen(l));
  assert.equal(
    compileListener(listener({ traffic_direction: undefined })).direction,
    'UNSPECIFIED',
  );
  // Port 0: let the kernel pick (tests, local mode).
  assert.equal(
    compileListener(listener({ address: { socket_address: { address: '::1', port_value: 0 } } }))
      .port,
    0,
  );
});

test('TLS passthrough: tls_inspector, SNI filter chains with tcp_proxy, a default chain', () => {
  const l = compileListener(
    listener({
      listener_filters: [tlsInspector],
      listener_filters_timeout: '2s',
      continue_on_listener_filters_timeout: true,
      filter_chains: [
        { filter_chain_match: { server_names: ['a.example.com'] }, filters: [tcpProxy('a')] },
        { filter_chain_match: { server_names: ['b.example.com'] }, filters: [tcpProxy('b')] },
      ],
      default_filter_chain: { name: 'rest', filters: [tcpProxy('rest')] },
    }),
  );
  assert.equal(l.listenerFilters.length, 1);
  assert.equal(l.listenerFilters[0]?.name, 'envoy.filters.listener.tls_inspector');
  assert.equal(l.listenerFiltersTimeoutMs, 2000);
  assert.equal(l.continueOnListenerFiltersTimeout, true);
  assert.deepEqual(l.filterChains[1]?.match.serverNames, ['b.example.com']);
  const f = l.filterChains[0]?.filter;
  assert.equal(f?.kind, 'tcp_proxy');
  assert.deepEqual(f?.kind === 'tcp_proxy' ? f.config.clusterNames : [], ['a']);
  assert.equal(l.filterChains[0]?.hcm, undefined);
  assert.equal(l.defaultFilterChain?.name, 'rest');
});

test('an internal listener: named by its envoy_internal_address, no socket', () => {
  const l = compileListener({
    name: 'outbound_tunnel',
    address: { envoy_internal_address: { server_listener_name: 'outbound_tunnel' } },
    internal_listener: {},
    filter_chains: [],
    default_filter_chain: { filters: [hcm] },
  });
  assert.equal(l.internal, true);
  assert.equal(l.address, '');
  assert.equal(l.port, 0);
  assert.equal(l.defaultFilterChain?.hcm?.statPrefix, 'in');
});

test('what skiff does not support is refused, naming the listener and the field', () => {
  const fails = (l: Obj, field: string, detail: RegExp) =>
    assert.throws(
      () => compileListener(l),
      (e: unknown) => e instanceof ConfigError && e.field === field && detail.test(e.message),
      `${field}: ${String(detail)}`,
    );
  fails(
    listener({ filter_chains: [{ filters: [hcm, hcm] }] }),
    'Listener l.filter_chains[0].filters',
    /exactly one/,
  );
  fails(
    listener({
      filter_chains: [
        {
          filters: [
            { name: 'envoy.filters.network.redis_proxy', typed_config: { '@type': 'x/y.Redis' } },
          ],
        },
      ],
    }),
    'Listener l.filter_chains[0].filters[0].typed_config',
    /redis_proxy .* is not supported/,
  );
  fails(
    listener({ filter_chains: [{ transport_socket: { name: 'tls' }, filters: [hcm] }] }),
    'Listener l.filter_chains[0].transport_socket.typed_config',
    /tls \(no type\) is not supported/,
  );
  fails(
    listener({
      filter_chains: [
        { filter_chain_match: { destination_port: 1 }, filters: [hcm] },
        { filter_chain_match: { destination_port: 1 }, filters: [hcm] },
      ],
    }),
    'Listener l.filter_chains[1].filter_chain_match',
    /the same match as filter_chains\[0\]/,
  );
  fails(
    listener({ filter_chains: [{ filter_chain_match: { server_names: ['a'] }, filters: [hcm] }] }),
    'Listener l.listener_filters',
    /tls_inspector is needed/,
  );
  fails(
    listener({
      listener_filters: [
        { name: 'envoy.filters.listener.proxy_protocol', typed_config: { '@type': 'x/y.P' } },
      ],
    }),
    'Listener l.listener_filters[0].typed_config',
    /proxy_protocol .* is not supported/,
  );
  fails(
    {
      name: 'i',
      address: { envoy_internal_address: { server_listener_name: 'other' } },
      internal_listener: {},
      filter_chains: [{ filters: [hcm] }],
    },
    'Listener i.address.envoy_internal_address.server_listener_name',
    /own name/,
  );
  fails(listener({ filter_chains: [] }), 'Listener l.filter_chains', /needs a filter chain/);
  fails(listener({ address: {} }), 'Listener l.address.socket_address.address', /required/);
  fails(
    listener({ address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } }),
    'Listener l.address.socket_address.port_value',
    /invalid port/,
  );
  fails({ ...listener(), name: '' }, 'name', /needs a name/);
  // An error inside a network filter carries the whole path.
  fails(
    listener({
      filter_chains: [
        { filters: [{ ...hcm, typed_config: { ...hcm.typed_config, http_filters: [] } }] },
      ],
    }),
    'Listener l.filter_chains[0].filters[0].typed_config.http_filters',
    /router/,
  );
  // original_dst only matters with transparent capture: accepted and ignored.
  compileListener(
    listener({
      listener_filters: [
        {
          name: 'envoy.filters.listener.original_dst',
          typed_config: { '@type': 'x/y.OriginalDst' },
        },
      ],
    }),
  );
});
