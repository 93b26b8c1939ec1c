import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCluster } from '../../proxy/upstream/cluster-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { MeshModel } from '../model/mesh-model.js';
import { buildClusters } from './clusters.js';
import { modelOf as model } from './testing.js';

type Obj = Record<string, unknown>;
const MAX = 4294967295;

function node(namespace: string, inbound: ProxyNode['inbound'] = []): ProxyNode {
  return {
    id: `sidecar~127.0.0.1~x-0.${namespace}~${namespace}.svc.cluster.local`,
    type: 'sidecar',
    name: 'x-0',
    namespace,
    workloadName: 'x',
    serviceAccount: 'default',
    labels: {},
    ip: '127.0.0.1',
    outboundPort: 15001,
    inbound,
    istioVersion: '',
  };
}

/** Clusters as the proxy receives them: packed, decoded, and by name. */
function clusters(m: MeshModel, n = node('default')): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const { name, resource } of buildClusters(n, m)) {
    const decoded = unpackAny(packAny(TypeUrl.Cluster, resource));
    compileCluster(decoded); // the proxy accepts it
    out.set(name, decoded);
  }
  return out;
}

function thresholds(c: Obj | undefined): Obj {
  const t = ((c?.['circuit_breakers'] as Obj)['thresholds'] as Obj[])[0];
  assert.ok(t);
  return t;
}

const REVIEWS = `
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  ports: [{name: http, port: 9080}, {name: http-admin, port: 9090}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  trafficPolicy:
    loadBalancer: {simple: RANDOM}
    connectionPool:
      tcp: {maxConnections: 100, connectTimeout: 500ms}
      http: {http1MaxPendingRequests: 10, http2MaxRequests: 50, maxRetries: 4, maxRequestsPerConnection: 1}
    portLevelSettings:
    - port: {number: 9090}
      loadBalancer: {simple: LEAST_CONN}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer: {simple: ROUND_ROBIN}
  - name: v3
    labels: {version: v3}
    trafficPolicy:
      portLevelSettings:
      - port: {number: 9080}
        connectionPool: {tcp: {maxConnections: 7}}
`;
const name = (port: number, subset = '') =>
  `outbound|${port}|${subset}|reviews.default.svc.cluster.local`;

test('one EDS cluster per service port and per subset, with Istio metadata', () => {
  const c = clusters(model(REVIEWS));
  for (const port of [9080, 9090])
    for (const subset of ['', 'v1', 'v2', 'v3'])
      assert.ok(c.has(name(port, subset)), name(port, subset));
  const v2 = c.get(name(9080, 'v2'));
  assert.equal(v2?.['type'], 'EDS');
  assert.deepEqual(v2?.['eds_cluster_config'], {
    eds_config: { ads: {}, resource_api_version: 'V3' },
    service_name: name(9080, 'v2'),
  });
  assert.deepEqual((v2?.['metadata'] as Obj)['filter_metadata'], {
    istio: {
      services: [
        { host: 'reviews.default.svc.cluster.local', name: 'reviews', namespace: 'default' },
      ],
      default_original_port: 9080,
      subset: 'v2',
    },
  });
});

test('the rule’s traffic policy: circuit breakers, connect timeout, lb policy, requests per connection', () => {
  const c = clusters(model(REVIEWS));
  const main = c.get(name(9080));
  assert.deepEqual(thresholds(main), {
    max_connections: 100,
    max_pending_requests: 10,
    max_requests: 50,
    max_retries: 4,
    track_remaining: true,
  });
  assert.equal(main?.['connect_timeout'], '0.5s');
  assert.equal(main?.['lb_policy'], 'RANDOM');
  // Istio puts it in the typed HttpProtocolOptions, not the deprecated cluster field.
  const hpo = (main?.['typed_extension_protocol_options'] as Obj)[
    'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
  ] as Obj;
  assert.deepEqual(hpo['common_http_protocol_options'], { max_requests_per_connection: 1 });
  // A subset without its own policy inherits the rule's.
  assert.deepEqual(thresholds(c.get(name(9080, 'v1'))), thresholds(main));
  assert.equal(c.get(name(9080, 'v1'))?.['lb_policy'], 'RANDOM');
  // A subset's policy overrides field by field: its lb, the rule's connection pool.
  assert.equal(c.get(name(9080, 'v2'))?.['lb_policy'], 'ROUND_ROBIN');
  assert.equal(thresholds(c.get(name(9080, 'v2')))['max_connections'], 100);
});

test('regression: port-level settings replace the rule’s fields wholesale (Istio)', () => {
  const c = clusters(model(REVIEWS));
  const admin = c.get(name(9090));
  assert.equal(admin?.['lb_policy'], 'LEAST_REQUEST');
  // The connection pool is not inherited from the rule's top level: defaults apply.
  assert.deepEqual(thresholds(admin), {
    max_connections: MAX,
    max_pending_requests: MAX,
    max_requests: MAX,
    max_retries: MAX,
    track_remaining: true,
  });
  assert.equal(admin?.['connect_timeout'], '10s');
  assert.equal(admin?.['typed_extension_protocol_options'], undefined);
});

test('regression: a subset’s policy overrides the rule’s port-level settings (Istio)', () => {
  const c = clusters(model(REVIEWS));
  // v2 sets loadBalancer at its top level: it beats the rule's port 9090 LEAST_CONN.
  assert.equal(c.get(name(9090, 'v2'))?.['lb_policy'], 'ROUND_ROBIN');
  // v3 has settings for 9080 only: they replace all four fields there …
  const v3 = c.get(name(9080, 'v3'));
  assert.equal(thresholds(v3)['max_connections'], 7);
  assert.equal(thresholds(v3)['max_pending_requests'], MAX);
  assert.notEqual(v3?.['lb_policy'], 'RANDOM');
  // … and on 9090 the rule's port-level settings still apply.
  assert.equal(c.get(name(9090, 'v3'))?.['lb_policy'], 'LEAST_REQUEST');
});

test('without a rule every threshold is the maximum and the connect timeout the mesh’s', () => {
  const c = clusters(
    model(`
apiVersion: v1
kind: Service
metadata: {name: plain}
spec:
  ports: [{name: http, port: 80}]
`),
  );
  const plain = c.get('outbound|80||plain.default.svc.cluster.local');
  assert.equal(thresholds(plain)['max_connections'], MAX);
  assert.equal(plain?.['connect_timeout'], '10s');
});

test('ServiceEntry resolution: DNS → STRICT_DNS, DNS_ROUND_ROBIN → LOGICAL_DNS, STATIC → EDS, NONE → ORIGINAL_DST', () => {
  const se = (n: string, host: string, resolution: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${n}}
spec:
  hosts: [${host}]
  resolution: ${resolution}
  ports: [{number: 443, name: tls, protocol: TLS}]
${extra}
`;
  const c = clusters(
    model(
      [
        se('dns', 'dns.example.com', 'DNS'),
        se('rr', 'rr.example.com', 'DNS_ROUND_ROBIN'),
        se('static', 'static.example.com', 'STATIC', '  endpoints: [{address: 10.0.0.1}]'),
        se('none', '"*.none.example.com"', 'NONE'),
      ].join('---\n'),
    ),
  );
  const dns = c.get('outbound|443||dns.example.com');
  assert.equal(dns?.['type'], 'STRICT_DNS');
  assert.equal(dns?.['dns_lookup_family'], 'V4_ONLY');
  // Envoy resolves the host itself: it is the one endpoint of the inline assignment.
  const la = dns?.['load_assignment'] as Obj;
  assert.equal(la['cluster_name'], 'outbound|443||dns.example.com');
  const groups = la['endpoints'] as { lb_endpoints: Obj[] }[];
  assert.deepEqual(
    groups.flatMap((g) => g.lb_endpoints.map((e) => e['endpoint'])),
    [{ address: { socket_address: { address: 'dns.example.com', port_value: 443 } } }],
  );
  assert.equal(c.get('outbound|443||rr.example.com')?.['type'], 'LOGICAL_DNS');
  assert.equal(c.get('outbound|443||static.example.com')?.['type'], 'EDS');
  const none = c.get('outbound|443||*.none.example.com');
  assert.equal(none?.['type'], 'ORIGINAL_DST');
  assert.equal(none?.['lb_policy'], 'CLUSTER_PROVIDED');
});

test('inbound clusters go to the app on 127.0.0.1; Istio’s two special clusters are there', () => {
  const c = clusters(
    model(''),
    node('default', [{ containerPort: 9080, name: 'http', listenPort: 31000, appPort: 31001 }]),
  );
  assert.deepEqual([...c.keys()], ['inbound|9080||', 'BlackHoleCluster', 'PassthroughCluster']);
  const inbound = c.get('inbound|9080||');
  assert.equal(inbound?.['type'], 'STATIC');
  assert.deepEqual(inbound?.['load_assignment'], {
    cluster_name: 'inbound|9080||',
    endpoints: [
      {
        lb_endpoints: [
          {
            endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 31001 } } },
          },
        ],
      },
    ],
  });
  const pass = c.get('PassthroughCluster');
  assert.equal(pass?.['type'], 'ORIGINAL_DST');
  assert.equal(pass?.['lb_policy'], 'CLUSTER_PROVIDED');
  assert.deepEqual(pass?.['original_dst_lb_config'], {
    use_http_header: true,
    http_header_name: ':authority',
  });
  assert.equal(c.get('BlackHoleCluster')?.['type'], 'STATIC');
});

test('clusters exist only for services exported to the proxy’s namespace', () => {
  const m = model(`
apiVersion: v1
kind: Service
metadata:
  name: secret
  namespace: vault
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{name: http, port: 80}]
`);
  assert.ok(clusters(m, node('vault')).has('outbound|80||secret.vault.svc.cluster.local'));
  assert.ok(!clusters(m, node('default')).has('outbound|80||secret.vault.svc.cluster.local'));
});
