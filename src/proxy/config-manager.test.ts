import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TypeUrl } from '../xds/types.js';
import { ConfigError } from './config-error.js';
import { ConfigManager } from './config-manager.js';
import { ListenerManager } from './listeners/listener-manager.js';
import { RouteStore } from './routes/route-store.js';
import { ClusterManager } from './upstream/cluster-manager.js';

type Obj = Record<string, unknown>;

const cleanups: (() => Promise<void>)[] = [];
after(() => Promise.all(cleanups.map((c) => c())));

function setup() {
  const clusters = new ClusterManager();
  const routes = new RouteStore();
  const listeners = new ListenerManager({ routes, clusters, log: () => undefined });
  cleanups.push(
    () => clusters.close(),
    () => listeners.close(0),
  );
  const subscriptions = new Map<string, readonly string[]>();
  const config = new ConfigManager({
    clusters,
    listeners,
    routes,
    subscribe: (type, names) => subscriptions.set(type, names),
  });
  return { clusters, routes, listeners, config, subscriptions };
}

const byName = (...rs: Obj[]) =>
  new Map(rs.map((r) => [String(r['name'] ?? r['cluster_name']), r]));
const eds = (name: string, extra: Obj = {}): Obj => ({
  name,
  type: 'EDS',
  eds_cluster_config: { service_name: name, eds_config: { ads: {} } },
  ...extra,
});
const cla = (name: string, port: number): Obj => ({
  cluster_name: name,
  endpoints: [
    {
      lb_endpoints: [
        { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } } },
      ],
    },
  ],
});
const routeConfig = (name: string, cluster: string): Obj => ({
  name,
  virtual_hosts: [
    { name: 'v', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster } }] },
  ],
});
const listener = (name: string, rds: string): Obj => ({
  name,
  address: { socket_address: { address: '127.0.0.1', port_value: 0 } },
  filter_chains: [
    {
      filters: [
        {
          name: 'envoy.filters.network.http_connection_manager',
          typed_config: {
            '@type':
              'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
            rds: { route_config_name: rds, config_source: { ads: {} } },
            http_filters: [
              {
                name: 'envoy.filters.http.router',
                typed_config: {
                  '@type': 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router',
                },
              },
            ],
          },
        },
      ],
    },
  ],
});

async function nack(p: Promise<void>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.message;
  }
  assert.fail('the update should have been refused');
}

test('CDS: one bad cluster refuses the whole update; the NACK names it and the field', async () => {
  const { clusters, config, subscriptions } = setup();
  await config.onResources(TypeUrl.Cluster, byName(eds('a'), eds('b')), 'v1');
  assert.deepEqual(subscriptions.get(TypeUrl.ClusterLoadAssignment), ['a', 'b']);
  const a = clusters.get('a');
  const message = await nack(
    config.onResources(
      TypeUrl.Cluster,
      byName(
        eds('a', { connect_timeout: '2s' }),
        eds('c'),
        eds('bad', { lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' }),
      ),
      'v2',
    ),
  );
  assert.match(message, /Cluster bad/);
  assert.match(message, /lb_policy/);
  // Nothing of v2 is in force: a unchanged, b still there, c absent, version still v1.
  assert.equal(clusters.get('a'), a);
  assert.ok(clusters.get('b'));
  assert.equal(clusters.get('c'), undefined);
  assert.equal(config.acceptedResources(TypeUrl.Cluster)?.version, 'v1');
  assert.deepEqual(subscriptions.get(TypeUrl.ClusterLoadAssignment), ['a', 'b']);
});

test('every bad resource of an update is named in the one NACK', async () => {
  const { config } = setup();
  const message = await nack(
    config.onResources(
      TypeUrl.Cluster,
      byName(eds('x', { lb_policy: 'LOAD_BALANCING_POLICY_CONFIG' }), eds('y', { type: 'REDIS' })),
      'v1',
    ),
  );
  assert.match(message, /Cluster x\.lb_policy/);
  assert.match(message, /Cluster y\.type/);
});

test('EDS: a bad assignment keeps the hosts the clusters had', async () => {
  const { clusters, config } = setup();
  await config.onResources(TypeUrl.Cluster, byName(eds('a')), 'v1');
  await config.onResources(TypeUrl.ClusterLoadAssignment, byName(cla('a', 1000)), 'e1');
  const message = await nack(
    config.onResources(TypeUrl.ClusterLoadAssignment, byName(cla('a', 2000), cla('b', 0)), 'e2'),
  );
  assert.match(message, /ClusterLoadAssignment b: .*port_value/);
  assert.deepEqual(
    clusters.get('a')?.hosts.map((h) => h.port),
    [1000],
  );
  assert.equal(config.acceptedResources(TypeUrl.ClusterLoadAssignment)?.version, 'e1');
});

test('LDS and RDS: a bad listener or route config is refused whole; ready once everything named arrived', async () => {
  const { config, listeners, routes, subscriptions } = setup();
  await config.onResources(TypeUrl.Cluster, byName(eds('c')), 'c1');
  const bad = { ...listener('bad', 'r2'), filter_chains: [] };
  const message = await nack(
    config.onResources(TypeUrl.Listener, byName(listener('l', 'r1'), bad), 'l0'),
  );
  assert.match(message, /Listener bad\.filter_chains/);
  assert.deepEqual(listeners.listeners(), [], 'nothing was bound');
  assert.equal(config.ready(), false);

  await config.onResources(TypeUrl.Listener, byName(listener('l', 'r1')), 'l1');
  assert.equal(listeners.listeners().length, 1);
  assert.ok((listeners.listeners()[0]?.port ?? 0) > 0, 'bound to a kernel-chosen port');
  assert.deepEqual(subscriptions.get(TypeUrl.RouteConfiguration), ['r1']);
  assert.equal(config.ready(), false, 'EDS and RDS have not arrived yet');

  await config.onResources(TypeUrl.ClusterLoadAssignment, byName(cla('c', 1000)), 'e1');
  await config.onResources(TypeUrl.RouteConfiguration, byName(routeConfig('r1', 'c')), 'r1');
  assert.equal(config.ready(), true);

  const table = routes.get('r1');
  const rdsMessage = await nack(
    config.onResources(
      TypeUrl.RouteConfiguration,
      byName(routeConfig('r1', 'other'), {
        name: 'r9',
        virtual_hosts: [{ name: 'v', domains: [] }],
      }),
      'r2',
    ),
  );
  assert.match(rdsMessage, /RouteConfiguration r9: .*domains/);
  assert.equal(routes.get('r1'), table);
  assert.equal(routes.has('r9'), false);
  assert.deepEqual(
    [...(config.acceptedResources(TypeUrl.RouteConfiguration)?.resources.keys() ?? [])],
    ['r1'],
  );
});

test('a type the proxy does not know is refused', async () => {
  const { config } = setup();
  assert.match(
    await nack(
      config.onResources('type.googleapis.com/envoy.config.core.v3.Unknown', new Map(), 's1'),
    ),
    /not supported/,
  );
});

test('an SDS secret with a bad PEM is refused, naming the secret and the field', async () => {
  const { config } = setup();
  const bad = {
    name: 'kubernetes://broken',
    tls_certificate: {
      certificate_chain: { inline_string: 'not a certificate' },
      private_key: { inline_string: 'not a key' },
    },
  };
  assert.match(
    await nack(config.onResources(TypeUrl.Secret, new Map([['kubernetes://broken', bad]]), 's1')),
    /Secret kubernetes:\/\/broken\.tls_certificate\.certificate_chain: no PEM certificate found/,
  );
});
