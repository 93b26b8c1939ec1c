// The tables the mesh commands print: proxy-status, proxy-config, get; exec's instance choice.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyStatus, TypeStatus } from '../control-plane/server/ads-server.js';
import type { MeshRecord } from '../launcher/mesh-record.js';
import { TypeUrl } from '../xds/types.js';
import { clustersTable, endpointsTable, listenersTable, routesTable } from './config-dump.js';
import { pickInstance } from './exec.js';
import { renderResources, type ApiResource } from './get.js';
import { resolveKind } from './kinds.js';
import { renderProxyStatus, syncState } from './proxy-status.js';

const sent = (v: string, acked: string, nack?: string): TypeStatus => ({
  sentVersion: v,
  sentNonce: `n${v}`,
  ackedVersion: acked,
  ...(nack ? { nack: { version: v, nonce: `n${v}`, message: nack, at: '' } } : {}),
});

test('sync states follow what was sent and what was acknowledged', () => {
  assert.equal(syncState(undefined), 'NOT SENT');
  assert.equal(syncState(sent('2', '2')), 'SYNCED');
  assert.equal(syncState(sent('3', '2')), 'STALE');
  assert.equal(syncState(sent('3', '2', 'bad listener')), 'NACK');
});

test('proxy-status: a row per proxy, NACK messages below the table', () => {
  const node = (name: string, namespace: string) =>
    ({ name, namespace, istioVersion: '0.1.0' }) as ProxyStatus['node'];
  const statuses: ProxyStatus[] = [
    {
      id: 'sidecar~127.0.0.1~reviews-v1-0.default~default.svc.cluster.local',
      node: node('reviews-v1-0', 'default'),
      connectedAt: '',
      streamId: 1,
      types: {
        [TypeUrl.Cluster]: sent('1', '1'),
        [TypeUrl.Listener]: sent('2', '1', 'listener x: port 0 is invalid'),
        [TypeUrl.ClusterLoadAssignment]: sent('1', '0'),
      },
    },
  ];
  const lines = renderProxyStatus(statuses).split('\n');
  assert.match(lines[0]!, /^NAME\s+CDS\s+LDS\s+EDS\s+RDS\s+VERSION$/);
  assert.match(lines[1]!, /^reviews-v1-0\.default\s+SYNCED\s+NACK\s+STALE\s+NOT SENT\s+0\.1\.0$/);
  assert.equal(
    lines[2],
    'reviews-v1-0.default LDS NACK of version 2: listener x: port 0 is invalid',
  );
});

const DUMP = {
  configs: [
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ClustersConfigDump',
      dynamic_active_clusters: [
        {
          cluster: {
            name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
            type: 'EDS',
            metadata: {
              filter_metadata: {
                istio: {
                  config:
                    '/apis/networking.istio.io/v1/namespaces/default/destination-rule/reviews',
                },
              },
            },
          },
        },
        { cluster: { name: 'PassthroughCluster', type: 'ORIGINAL_DST' } },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.ListenersConfigDump',
      dynamic_listeners: [
        {
          name: 'virtualOutbound',
          active_state: {
            listener: {
              name: 'virtualOutbound',
              address: { socket_address: { address: '127.0.0.1', port_value: 21002 } },
              filter_chains: [
                {
                  filters: [
                    {
                      typed_config: {
                        '@type':
                          'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
                        rds: { route_config_name: '9080' },
                      },
                    },
                  ],
                },
                {
                  filter_chain_match: { destination_port: 3306 },
                  filters: [
                    {
                      typed_config: {
                        '@type':
                          'type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy',
                        cluster: 'outbound|3306||db.default.svc.cluster.local',
                      },
                    },
                  ],
                },
              ],
            },
          },
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.RoutesConfigDump',
      dynamic_route_configs: [
        {
          route_config: {
            name: '9080',
            virtual_hosts: [
              {
                name: 'reviews.default.svc.cluster.local:9080',
                domains: ['reviews.default.svc.cluster.local', 'reviews', 'reviews.default'],
                routes: [
                  {
                    match: { prefix: '/' },
                    metadata: {
                      filter_metadata: {
                        istio: {
                          config:
                            '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews',
                        },
                      },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
    {
      '@type': 'type.googleapis.com/envoy.admin.v3.EndpointsConfigDump',
      dynamic_endpoint_configs: [
        {
          endpoint_config: {
            cluster_name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: { socket_address: { address: '127.0.0.1', port_value: 21003 } },
                    },
                  },
                ],
              },
            ],
          },
        },
      ],
    },
  ],
};

test('proxy-config tables read an Envoy-shaped config dump', () => {
  const clusters = clustersTable(DUMP).split('\n');
  assert.match(
    clusters[0]!,
    /^SERVICE FQDN\s+PORT\s+SUBSET\s+DIRECTION\s+TYPE\s+DESTINATION RULE$/,
  );
  assert.match(clusters[1]!, /^PassthroughCluster\s+-\s+-\s+-\s+ORIGINAL_DST$/);
  assert.match(
    clusters[2]!,
    /^reviews\.default\.svc\.cluster\.local\s+9080\s+v1\s+outbound\s+EDS\s+reviews\.default$/,
  );
  const listeners = listenersTable(DUMP).split('\n');
  assert.match(listeners[1]!, /^virtualOutbound\s+127\.0\.0\.1\s+21002\s+ALL\s+Route: 9080$/);
  assert.match(
    listeners[2]!,
    /port 3306\s+Cluster: outbound\|3306\|\|db\.default\.svc\.cluster\.local$/,
  );
  const routes = routesTable(DUMP).split('\n');
  assert.match(
    routes[1]!,
    /^9080\s+reviews\.default\.svc\.cluster\.local:9080\s+reviews\.default\.svc\.cluster\.local, reviews \+ 1 more\.\.\.\s+\/\*\s+reviews\.default$/,
  );
  const endpoints = endpointsTable(DUMP).split('\n');
  assert.match(endpoints[1]!, /^127\.0\.0\.1:21003\s+HEALTHY\s+OK\s+outbound\|9080\|v1\|reviews/);
});

test('get: NAMESPACE NAME, the kind columns, and ORIGIN (file:line or applied)', () => {
  const items: ApiResource[] = [
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'bookinfo', namespace: 'default' },
      spec: { hosts: ['*'], gateways: ['bookinfo-gateway'] },
      source: { file: 'examples/bookinfo/bookinfo-gateway.yaml', line: 19 },
      origin: 'file',
    },
    {
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'reviews', namespace: 'default' },
      spec: { hosts: ['reviews'] },
      source: { file: 'vs.yaml', line: 1 },
      origin: 'applied',
    },
  ];
  const lines = renderResources(resolveKind('vs')!, items, process.cwd()).split('\n');
  assert.match(lines[0]!, /^NAMESPACE\s+NAME\s+GATEWAYS\s+HOSTS\s+ORIGIN$/);
  assert.match(
    lines[1]!,
    /^default\s+bookinfo\s+\[bookinfo-gateway\]\s+\[\*\]\s+examples\/bookinfo\/bookinfo-gateway\.yaml:19$/,
  );
  assert.match(lines[2]!, /^default\s+reviews\s+\[reviews\]\s+applied$/);
});

test('exec picks the first ready instance of a workload, or names what is wrong', () => {
  const inst = (name: string, workloadName: string) => ({
    name,
    namespace: 'default',
    workloadName,
    serviceAccount: 'default',
    labels: {},
    ports: [],
    outboundPort: 1,
    adminPort: 2,
    appLog: '',
    sidecarLog: '',
  });
  const record = {
    instances: [inst('web-0', 'web'), inst('web-1', 'web'), inst('db-0', 'db')],
  } as unknown as MeshRecord;
  assert.equal(pickInstance(record, new Set(['default/web-1']), 'web').name, 'web-1');
  assert.equal(
    pickInstance(record, new Set(['default/web-0', 'default/web-1']), 'web-1').name,
    'web-1',
  );
  assert.throws(
    () => pickInstance(record, new Set(), 'web'),
    /no ready instance of web \(web-0, web-1 not ready\)/,
  );
  assert.throws(
    () => pickInstance(record, new Set(), 'nope'),
    /no workload or instance named nope \(workloads: db, web\)/,
  );
  assert.throws(
    () => pickInstance(record, new Set(['default/db-0']), 'db', 'other'),
    /no workload or instance/,
  );
});
