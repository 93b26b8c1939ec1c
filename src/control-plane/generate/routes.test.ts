import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RouteTable } from '../../proxy/routes/route-table.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { MeshConfig } from '../model/mesh-config.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import type { MeshModel } from '../model/mesh-model.js';
import { gatewayServerPorts } from './gateway-servers.js';
import {
  gatewayRoute,
  inboundRouteConfig,
  serviceDomains,
  sidecarHttpProxyRoute,
} from './routes.js';
import { modelOf } from './testing.js';

type Obj = Record<string, unknown>;

const model = (text: string, meshConfig?: MeshConfig): MeshModel =>
  modelOf(text, meshConfig ? { meshConfig } : {});

function node(namespace: string, type: ProxyNode['type'] = 'sidecar', labels = {}): ProxyNode {
  return {
    id: `${type}~127.0.0.1~x-0.${namespace}~${namespace}.svc.cluster.local`,
    type,
    name: 'x-0',
    namespace,
    workloadName: 'x',
    serviceAccount: 'default',
    labels,
    ip: '127.0.0.1',
    outboundPort: 15001,
    inbound: [],
    istioVersion: '',
  };
}

/** Packs, decodes and compiles a route configuration; returns the decoded form and the table. */
function wire(resource: object): { config: Obj; table: RouteTable } {
  const config = unpackAny(packAny(TypeUrl.RouteConfiguration, resource));
  return { config, table: RouteTable.compile(config) };
}

const vhosts = (config: Obj) => config['virtual_hosts'] as Obj[];

const SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080}, {name: http-admin, port: 9090}, {name: tcp-db, port: 5432}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: api, namespace: bookinfo}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{number: 80, name: http, protocol: HTTP}]
`;

test('service domains: FQDN, name.ns.svc, name.ns everywhere, the bare name at home; with and without port', () => {
  const m = model(SERVICES);
  const reviews = m.services.get('reviews.bookinfo.svc.cluster.local');
  assert.ok(reviews);
  assert.deepEqual(serviceDomains(reviews, 9080, 'bookinfo'), [
    'reviews.bookinfo.svc.cluster.local',
    'reviews.bookinfo.svc.cluster.local:9080',
    'reviews.bookinfo.svc',
    'reviews.bookinfo.svc:9080',
    'reviews.bookinfo',
    'reviews.bookinfo:9080',
    'reviews',
    'reviews:9080',
  ]);
  assert.ok(!serviceDomains(reviews, 9080, 'frontend').includes('reviews'));
  assert.ok(serviceDomains(reviews, 9080, 'frontend').includes('reviews.bookinfo:9080'));
  const api = m.services.get('api.example.com');
  assert.ok(api);
  assert.deepEqual(serviceDomains(api, 80, 'bookinfo'), ['api.example.com', 'api.example.com:80']);
});

test('http_proxy: a virtual host per HTTP service port, unique domains, then the catch-all', () => {
  const { config, table } = wire(sidecarHttpProxyRoute(node('bookinfo'), model(SERVICES)).resource);
  assert.equal(config['name'], 'http_proxy');
  assert.deepEqual(
    vhosts(config).map((v) => v['name']),
    [
      'api.example.com:80',
      'ratings.bookinfo.svc.cluster.local:9080',
      'reviews.bookinfo.svc.cluster.local:9080',
      'reviews.bookinfo.svc.cluster.local:9090',
      'allow_any',
    ],
  );
  // The TCP port gets no virtual host; the port-less names belong to the first HTTP port.
  const admin = vhosts(config)[3];
  assert.deepEqual(admin?.['domains'], [
    'reviews.bookinfo.svc.cluster.local:9090',
    'reviews.bookinfo.svc:9090',
    'reviews.bookinfo:9090',
    'reviews:9090',
  ]);
  assert.equal(table.findVirtualHost('reviews')?.name, 'reviews.bookinfo.svc.cluster.local:9080');
  assert.equal(
    table.findVirtualHost('reviews:9090')?.name,
    'reviews.bookinfo.svc.cluster.local:9090',
  );
  assert.equal(table.findVirtualHost('reviews:5432')?.name, 'allow_any');
});

test('the catch-all: PassthroughCluster for ALLOW_ANY, a 502 for REGISTRY_ONLY', () => {
  const allow = vhosts(wire(sidecarHttpProxyRoute(node('x'), model(SERVICES)).resource).config).at(
    -1,
  );
  assert.deepEqual(allow, {
    name: 'allow_any',
    domains: ['*'],
    routes: [
      {
        name: 'allow_any',
        match: { prefix: '/' },
        route: { cluster: 'PassthroughCluster', timeout: '0s' },
      },
    ],
  });
  const strict = model(SERVICES, {
    ...DEFAULT_MESH_CONFIG,
    outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
  });
  const block = vhosts(wire(sidecarHttpProxyRoute(node('x'), strict).resource).config).at(-1);
  assert.deepEqual(block, {
    name: 'block_all',
    domains: ['*'],
    routes: [{ name: 'block_all', match: { prefix: '/' }, direct_response: { status: 502 } }],
  });
});

test('regression: an exact VirtualService host beats wildcards, and the longest wildcard wins', () => {
  const vs = (name: string, host: string, subset: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: bookinfo}
spec:
  hosts: ["${host}"]
  http: [{route: [{destination: {host: ratings.bookinfo.svc.cluster.local, subset: ${subset}}}]}]
`;
  const m = model(
    [
      SERVICES,
      vs('wide', '*.svc.cluster.local', 'wide'),
      vs('narrow', '*.bookinfo.svc.cluster.local', 'narrow'),
      vs('exact', 'ratings', 'exact'),
    ].join('---\n'),
  );
  const { table } = wire(sidecarHttpProxyRoute(node('bookinfo'), m).resource);
  const cluster = (authority: string) => {
    const hit = table.route({
      method: 'GET',
      scheme: 'http',
      authority,
      path: '/',
      query: '',
      headers: {},
    });
    return hit?.route.action.kind === 'forward' ? hit.route.action.pickCluster() : undefined;
  };
  assert.equal(cluster('ratings:9080'), 'outbound|9080|exact|ratings.bookinfo.svc.cluster.local');
  // wide comes first in the config; narrow is more specific and wins.
  assert.equal(cluster('reviews:9080'), 'outbound|9080|narrow|ratings.bookinfo.svc.cluster.local');
});

test('regression: a port none of whose VirtualService matches apply keeps its default route', () => {
  const m = model(`${SERVICES}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews-admin, namespace: bookinfo}
spec:
  hosts: [reviews]
  http: [{match: [{port: 9090}], route: [{destination: {host: reviews, subset: admin}}]}]
`);
  const { table } = wire(sidecarHttpProxyRoute(node('bookinfo'), m).resource);
  const cluster = (authority: string) => {
    const hit = table.route({
      method: 'GET',
      scheme: 'http',
      authority,
      path: '/',
      query: '',
      headers: {},
    });
    return hit?.route.action.kind === 'forward' ? hit.route.action.pickCluster() : undefined;
  };
  assert.equal(cluster('reviews:9090'), 'outbound|9090|admin|reviews.bookinfo.svc.cluster.local');
  // Was a virtual host without routes: every request to port 9080 got 404 (no route).
  assert.equal(cluster('reviews:9080'), 'outbound|9080||reviews.bookinfo.svc.cluster.local');
});

const GATEWAYS = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: public, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*.example.com", "bookinfo/reviews.internal"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: bookinfo}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/public]
  http: [{match: [{uri: {prefix: /cart}}], route: [{destination: {host: ratings}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop-more, namespace: bookinfo}
spec:
  hosts: [shop.example.com]
  gateways: [istio-system/public]
  http: [{route: [{destination: {host: reviews, port: {number: 9080}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: everything, namespace: bookinfo}
spec:
  hosts: ["*"]
  gateways: [istio-system/public]
  http: [{route: [{destination: {host: reviews, port: {number: 9080}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: internal, namespace: other}
spec:
  hosts: [reviews.internal]
  gateways: [istio-system/public]
  http: [{route: [{destination: {host: reviews.bookinfo.svc.cluster.local, port: {number: 9080}}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only, namespace: bookinfo}
spec:
  hosts: [mesh.example.com]
  http: [{route: [{destination: {host: reviews, port: {number: 9080}}}]}]
`;

test('gateway routes: VirtualService hosts the servers accept, narrowed, merged in order', () => {
  const m = model(SERVICES + '---\n' + GATEWAYS);
  const [server] = gatewayServerPorts(
    node('istio-system', 'router', { istio: 'ingressgateway' }),
    m,
    {},
  );
  assert.ok(server);
  const { config } = wire(gatewayRoute(server, m).resource);
  assert.equal(config['name'], 'http.80');
  assert.deepEqual(
    vhosts(config).map((v) => [v['name'], v['domains'], (v['routes'] as Obj[]).length]),
    [
      ['shop.example.com:80', ['shop.example.com', 'shop.example.com:80'], 2],
      // "*" meets "*.example.com": the narrower one names the virtual host.
      ['*.example.com:80', ['*.example.com', '*.example.com:80'], 1],
    ],
  );
  // reviews.internal is admitted from the bookinfo namespace only; "internal" lives in other.
  // mesh-only is not bound to the gateway.
});

test('the inbound route config sends everything to inbound|<port>||', () => {
  const { config, table } = wire(inboundRouteConfig(9080));
  assert.equal(config['name'], 'inbound|9080||');
  const hit = table.route({
    method: 'GET',
    scheme: 'http',
    authority: 'anything',
    path: '/x',
    query: '',
    headers: {},
  });
  assert.ok(hit?.route.action.kind === 'forward');
  assert.equal(hit.route.action.pickCluster(), 'inbound|9080||');
  assert.equal(hit.route.action.timeoutMs, 0);
});

/** Where a request for `authority` lands in a sidecar's http_proxy route table. */
function landing(
  m: MeshModel,
  proxy: ProxyNode,
  authority: string,
  path = '/',
): string | undefined {
  const view = m.forProxy(proxy);
  const { table } = wire(sidecarHttpProxyRoute(proxy, view).resource);
  const hit = table.route({
    method: 'GET',
    scheme: 'http',
    authority,
    path,
    query: '',
    headers: {},
  });
  if (!hit) return undefined;
  const action = hit.route.action;
  if (action.kind === 'forward') return action.pickCluster();
  return action.kind;
}

test('several VirtualServices for one host: the first with routes for the port wins', () => {
  const vs = (name: string, match: string, subset: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: bookinfo}
spec:
  hosts: [reviews]
  http: [{${match}route: [{destination: {host: reviews, subset: ${subset}}}]}]
`;
  const m = model(
    [
      SERVICES,
      vs('admin-only', 'match: [{port: 9090}], ', 'admin'),
      vs('first', '', 'first'),
      vs('second', '', 'second'),
    ].join('---\n'),
  );
  const me = node('bookinfo');
  // 9080: admin-only has no route for it, so the next one naming the host routes it.
  assert.equal(
    landing(m, me, 'reviews:9080'),
    'outbound|9080|first|reviews.bookinfo.svc.cluster.local',
  );
  assert.equal(
    landing(m, me, 'reviews:9090'),
    'outbound|9090|admin|reviews.bookinfo.svc.cluster.local',
  );
});

test("VirtualService exportTo: another namespace's private one does not apply", () => {
  const m = model(`${SERVICES}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: bookinfo}
spec:
  hosts: [ratings]
  exportTo: ["."]
  http: [{route: [{destination: {host: ratings, subset: private}}]}]
`);
  assert.equal(
    landing(m, node('bookinfo'), 'ratings.bookinfo:9080'),
    'outbound|9080|private|ratings.bookinfo.svc.cluster.local',
  );
  assert.equal(
    landing(m, node('elsewhere'), 'ratings.bookinfo:9080'),
    'outbound|9080||ratings.bookinfo.svc.cluster.local',
  );
});

test('a ServiceEntry answers to its addresses too (the VIP and VIP:port domains)', () => {
  const m = model(`
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: db, namespace: x}
spec:
  hosts: [db.example.com]
  addresses: [10.1.2.3, 10.9.0.0/16, "2001:db8::1"]
  resolution: NONE
  ports: [{number: 8080, name: http, protocol: HTTP}]
`);
  const svc = m.services.get('db.example.com');
  assert.ok(svc);
  assert.deepEqual(serviceDomains(svc, 8080, 'x'), [
    'db.example.com',
    'db.example.com:8080',
    '10.1.2.3',
    '10.1.2.3:8080',
    '[2001:db8::1]',
    '[2001:db8::1]:8080',
  ]);
  assert.equal(landing(m, node('x'), '10.1.2.3:8080'), 'outbound|8080||db.example.com');
});

test('a Sidecar: only imported hosts get virtual hosts; its egressProxy takes what is unknown', () => {
  const m = model(`${SERVICES}---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: bookinfo}
spec:
  egress: [{hosts: ["./ratings.bookinfo.svc.cluster.local", "./api.example.com"]}]
  outboundTrafficPolicy:
    mode: ALLOW_ANY
    egressProxy: {host: api.example.com, port: {number: 80}}
`);
  const me = node('bookinfo');
  const names = vhosts(wire(sidecarHttpProxyRoute(me, m.forProxy(me)).resource).config).map(
    (v) => v['name'],
  );
  assert.deepEqual(names, [
    'api.example.com:80',
    'ratings.bookinfo.svc.cluster.local:9080',
    'allow_any',
  ]);
  assert.equal(landing(m, me, 'reviews:9080'), 'outbound|80||api.example.com');
  assert.equal(landing(m, me, 'somewhere.else'), 'outbound|80||api.example.com');
  // Without the Sidecar, a proxy elsewhere gets it all and passes the unknown through.
  assert.equal(landing(m, node('other'), 'somewhere.else'), 'PassthroughCluster');
});

test('a Sidecar egress listener with a port routes that port with its own VirtualServices', () => {
  const m = model(`${SERVICES}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews, namespace: bookinfo}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews, subset: vs}}]}]
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: default, namespace: bookinfo}
spec:
  egress:
  - port: {number: 9090, protocol: HTTP, name: admin}
    hosts: ["./reviews.bookinfo.svc.cluster.local"]
  - hosts: ["./ratings.bookinfo.svc.cluster.local"]
`);
  const me = node('bookinfo');
  // 9090's listener imports reviews and its VirtualService; 9080 is the catch-all's: not imported.
  assert.equal(
    landing(m, me, 'reviews:9090'),
    'outbound|9090|vs|reviews.bookinfo.svc.cluster.local',
  );
  assert.equal(landing(m, me, 'reviews:9080'), 'PassthroughCluster');
});
