import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import { compileListener } from './listener-config.js';

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

function listener(extra: Record<string, unknown> = {}): Record<string, unknown> {
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
  assert.equal(l.direction, 'INBOUND');
  assert.equal(l.filterChains[0]?.name, 'chain');
  assert.deepEqual(l.filterChains[0]?.hcm.routes, { kind: 'rds', name: 'r' });
  assert.equal(l.source, source);
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

test('what skiff does not support is refused, naming the listener and the field', () => {
  const fails = (l: Record<string, unknown>, field: string, detail: RegExp) =>
    assert.throws(
      () => compileListener(l),
      (e: unknown) => e instanceof ConfigError && e.field === field && detail.test(e.message),
    );
  const tcpProxy = {
    name: 'envoy.filters.network.tcp_proxy',
    typed_config: {
      '@type': 'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
      cluster: 'c',
    },
  };
  fails(
    listener({ filter_chains: [{ filters: [tcpProxy] }] }),
    'Listener l.filter_chains[0].filters[0].typed_config',
    /envoy\.filters\.network\.tcp_proxy .*TcpProxy.* is not supported/,
  );
  fails(
    listener({ filter_chains: [{ filters: [hcm, hcm] }] }),
    'Listener l.filter_chains[0].filters',
    /exactly one/,
  );
  fails(
    listener({ filter_chains: [{ filter_chain_match: { server_names: ['a'] }, filters: [hcm] }] }),
    'Listener l.filter_chains[0].filter_chain_match',
    /not supported/,
  );
  fails(listener({ filter_chains: [] }), 'Listener l.filter_chains', /exactly one filter chain/);
  fails(listener({ address: {} }), 'Listener l.address.socket_address.address', /required/);
  fails(
    listener({ address: { socket_address: { address: '127.0.0.1', port_value: 70000 } } }),
    'Listener l.address.socket_address.port_value',
    /invalid port/,
  );
  fails({ ...listener(), name: '' }, 'name', /needs a name/);
  // An error inside the connection manager carries the whole path.
  fails(
    listener({
      filter_chains: [
        { filters: [{ ...hcm, typed_config: { ...hcm.typed_config, http_filters: [] } }] },
      ],
    }),
    'Listener l.filter_chains[0].filters[0].typed_config.http_filters',
    /router/,
  );
});
