// Istio config → control plane generators → the wire (packAny/unpackAny) → the proxy's own
// compilers → a request routed through listener → route → cluster → endpoint. Asserts where
// requests land, not what the protos look like (the DESIGN's "push a request through" tests).
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import { parseConfigText } from '../src/config/parse.js';
import type { ConfigResource } from '../src/config/resource.js';
import { formatProblem } from '../src/config/resource.js';
import { generateResources } from '../src/control-plane/generate/index.js';
import type { MeshConfig } from '../src/control-plane/model/mesh-config.js';
import { DEFAULT_MESH_CONFIG } from '../src/control-plane/model/mesh-config.js';
import { MeshModel } from '../src/control-plane/model/mesh-model.js';
import type { WorkloadInstance } from '../src/control-plane/registry/instances.js';
import { Snapshot } from '../src/control-plane/server/snapshot.js';
import type { HcmConfig } from '../src/proxy/filters/network/http_connection_manager/config.js';
import {
  normalizePath,
  parseRequestTarget,
} from '../src/proxy/filters/network/http_connection_manager/path.js';
import type { ListenerConfig } from '../src/proxy/listeners/listener-config.js';
import { compileListener } from '../src/proxy/listeners/listener-config.js';
import type { RequestView } from '../src/proxy/routes/matchers.js';
import type { RouteAction } from '../src/proxy/routes/route-action.js';
import { RouteTable } from '../src/proxy/routes/route-table.js';
import type { Assignment } from '../src/proxy/upstream/assignment.js';
import { compileAssignment } from '../src/proxy/upstream/assignment.js';
import { compileCluster } from '../src/proxy/upstream/cluster-config.js';
import { ClusterManager } from '../src/proxy/upstream/cluster-manager.js';
import { unpackAny } from '../src/xds/any.js';
import { unpackAnyWithProtobufjs } from '../src/xds/wire/testing.js';
import type { InboundPort, ProxyNode } from '../src/xds/node.js';
import { nodeId } from '../src/xds/node.js';
import { TypeUrl } from '../src/xds/types.js';

type Obj = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------
// Harness: config text → model → one proxy's snapshot → decoded wire form → compiled proxy.

function parse(text: string, file = 'mesh.yaml'): ConfigResource[] {
  const { resources, problems } = parseConfigText(text, file);
  const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
  assert.deepEqual(errors, [], 'the test config must be valid');
  return resources;
}

function instance(
  name: string,
  labels: Record<string, string>,
  listenPort: number,
  opts: { namespace?: string; containerPort?: number; portName?: string; ready?: boolean } = {},
): WorkloadInstance {
  return {
    name,
    namespace: opts.namespace ?? 'default',
    workloadName: name.replace(/-\d+$/, ''),
    labels,
    serviceAccount: `bookinfo-${labels['app'] ?? 'x'}`,
    address: '127.0.0.1',
    ports: [
      {
        containerPort: opts.containerPort ?? 9080,
        name: opts.portName ?? 'http',
        listenPort,
        appPort: listenPort + 1,
      },
    ],
    ready: opts.ready ?? true,
  };
}

function sidecar(
  name: string,
  namespace: string,
  opts: { labels?: Record<string, string>; inbound?: InboundPort[] } = {},
): ProxyNode {
  return {
    id: nodeId({ type: 'sidecar', ip: '127.0.0.1', name, namespace }),
    type: 'sidecar',
    name,
    namespace,
    workloadName: name.replace(/-\d+$/, ''),
    serviceAccount: 'default',
    labels: opts.labels ?? {},
    ip: '127.0.0.1',
    outboundPort: 15001,
    inbound: opts.inbound ?? [],
    istioVersion: '',
  };
}

function router(labels: Record<string, string>): ProxyNode {
  const name = 'istio-ingressgateway-0';
  return {
    id: nodeId({ type: 'router', ip: '127.0.0.1', name, namespace: 'istio-system' }),
    type: 'router',
    name,
    namespace: 'istio-system',
    workloadName: 'istio-ingressgateway',
    serviceAccount: 'istio-ingressgateway',
    labels,
    ip: '127.0.0.1',
    inbound: [],
    istioVersion: '',
  };
}

interface Landing {
  /** `route`, `redirect` or `direct`, or `none` when no route matched (Envoy's NR). */
  readonly kind: 'forward' | 'redirect' | 'direct' | 'none';
  readonly routeName: string;
  readonly action: RouteAction | undefined;
  readonly cluster: string | undefined;
  /** `address:port` of the host the cluster's load balancer picked. */
  readonly host: string | undefined;
}

const managers: ClusterManager[] = [];
after(async () => {
  await Promise.all(managers.map((m) => m.close()));
});

/** One proxy as the data plane builds it from what the control plane sent. */
class CompiledProxy {
  readonly listeners = new Map<string, ListenerConfig>();
  readonly routes = new Map<string, RouteTable>();
  readonly clusters = new ClusterManager();
  /** The decoded resources, as the proxy's xDS client hands them over. */
  readonly wire = new Map<string, Map<string, Obj>>();

  constructor(readonly snapshot: Snapshot) {
    managers.push(this.clusters);
    for (const type of snapshot.types()) {
      const decoded = new Map<string, Obj>();
      for (const [name, any] of snapshot.resources(type)) {
        const object = unpackAny(any);
        // Proxies decode with src/xds/wire: it must give what protobufjs gives, resource by resource.
        assert.deepStrictEqual(object, unpackAnyWithProtobufjs(any), `${type} ${name}`);
        decoded.set(name, object);
      }
      this.wire.set(type, decoded);
    }
    const of = (type: string) => this.wire.get(type) ?? new Map<string, Obj>();
    this.clusters.applyClusters([...of(TypeUrl.Cluster).values()].map(compileCluster));
    const assignments = new Map<string, Assignment>();
    for (const [name, cla] of of(TypeUrl.ClusterLoadAssignment))
      assignments.set(name, compileAssignment(cla));
    this.clusters.applyAssignments(assignments);
    for (const [name, l] of of(TypeUrl.Listener)) this.listeners.set(name, compileListener(l));
    for (const [name, r] of of(TypeUrl.RouteConfiguration))
      this.routes.set(name, RouteTable.compile(r));
  }

  static build(
    node: ProxyNode,
    model: MeshModel,
    gatewayPorts: Readonly<Record<number, number>> = {},
  ): CompiledProxy {
    const snapshot = Snapshot.build(generateResources(node, model, { gatewayPorts }));
    assert.deepEqual(snapshot.consistencyErrors(), [], 'the snapshot must be consistent');
    return new CompiledProxy(snapshot);
  }

  hcm(listener: string): HcmConfig {
    const l = this.listeners.get(listener);
    assert.ok(l, `listener ${listener} exists (have: ${[...this.listeners.keys()].join(', ')})`);
    const chain = l.filterChains[0];
    assert.ok(chain?.hcm, `listener ${listener}'s first filter chain is a connection manager`);
    return chain.hcm;
  }

  table(listener: string): RouteTable {
    const routes = this.hcm(listener).routes;
    if (routes.kind === 'inline') return routes.table;
    const table = this.routes.get(routes.name);
    assert.ok(table, `RDS ${routes.name} arrived`);
    return table;
  }

  /** The request the connection manager would route, built as it builds it. */
  view(
    listener: string,
    target: string,
    headers: Record<string, string> = {},
    method = 'GET',
  ): RequestView {
    const hcm = this.hcm(listener);
    const t = parseRequestTarget(target);
    assert.ok(t, `valid request target ${target}`);
    const authority = t.authority ?? headers['host'] ?? '';
    return {
      method,
      scheme: t.scheme ?? 'http',
      authority,
      path:
        hcm.normalizePath || hcm.mergeSlashes ? normalizePath(t.path, hcm.mergeSlashes) : t.path,
      query: t.query,
      headers,
    };
  }

  /** Routes a request through the listener and picks a cluster and a host, as the router does. */
  land(
    listener: string,
    target: string,
    headers: Record<string, string> = {},
    method = 'GET',
  ): Landing {
    const req = this.view(listener, target, headers, method);
    const hit = this.table(listener).route(req);
    if (!hit)
      return {
        kind: 'none',
        routeName: '',
        action: undefined,
        cluster: undefined,
        host: undefined,
      };
    const action = hit.route.action;
    if (action.kind !== 'forward')
      return {
        kind: action.kind,
        routeName: hit.route.name,
        action,
        cluster: undefined,
        host: undefined,
      };
    const cluster = action.pickCluster();
    const host = this.clusters.get(cluster)?.chooseHost({ authority: req.authority })?.key;
    return { kind: 'forward', routeName: hit.route.name, action, cluster, host };
  }

  /** Endpoints (`address:port`) of a cluster, sorted. */
  hostsOf(cluster: string): string[] {
    const c = this.clusters.get(cluster);
    assert.ok(c, `cluster ${cluster} exists`);
    return c.hosts.map((h) => h.key).sort();
  }
}

function model(
  text: string,
  instances: readonly WorkloadInstance[],
  meshConfig: MeshConfig = DEFAULT_MESH_CONFIG,
): MeshModel {
  return MeshModel.build({ resources: parse(text), instances, meshConfig });
}

const fqdn = (name: string, ns = 'default') => `${name}.${ns}.svc.cluster.local`;
const outbound = (port: number, subset: string, name: string, ns = 'default') =>
  `outbound|${port}|${subset}|${fqdn(name, ns)}`;

// ---------------------------------------------------------------------------------------------
// The mesh most tests share: a Bookinfo-like set of services with routing rules.

const MESH = `
apiVersion: v1
kind: Service
metadata: {name: productpage, labels: {app: productpage}}
spec:
  selector: {app: productpage}
  ports: [{name: http, port: 9080, targetPort: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080, targetPort: http}]
---
apiVersion: v1
kind: Service
metadata: {name: ratings}
spec:
  selector: {app: ratings}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: httpbin}
spec:
  selector: {app: httpbin}
  ports:
  - {name: http, port: 8000, targetPort: 8080}
  - {name: http-admin, port: 9000, targetPort: 9090}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: v3, labels: {version: v3}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
  http:
  - name: jason
    match: [{headers: {end-user: {exact: jason}}}]
    route: [{destination: {host: reviews, subset: v2}}]
  - name: testers
    match: [{headers: {end-user: {prefix: test-}}, withoutHeaders: {x-canary: {}}}]
    route: [{destination: {host: reviews, subset: v3}}]
  - name: split
    route:
    - {destination: {host: reviews, subset: v1}, weight: 80}
    - {destination: {host: reviews, subset: v2}, weight: 20}
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ratings}
spec:
  host: ratings.default.svc.cluster.local
  subsets:
  - {name: v1, labels: {version: v1}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ratings}
spec:
  hosts: [ratings]
  http:
  - name: health
    match: [{uri: {exact: /health}, method: {exact: GET}}]
    directResponse: {status: 200, body: {string: "ok"}}
  - name: moved
    match: [{uri: {prefix: /old/}}]
    redirect: {uri: /new/, redirectCode: 308}
  - name: api
    match: [{uri: {prefix: /API/}, ignoreUriCase: true}]
    rewrite: {uri: /v1/}
    timeout: 2.5s
    retries: {attempts: 4, perTryTimeout: 500ms, retryOn: "gateway-error,503"}
    route: [{destination: {host: ratings, subset: v1}}]
  - name: by-id
    match: [{uri: {regex: "/ratings/[0-9]+"}}]
    route: [{destination: {host: ratings, subset: v1}}]
  - name: debug
    match: [{queryParams: {debug: {exact: "1"}}}]
    route: [{destination: {host: ratings, subset: v1}}]
  - name: rest
    route: [{destination: {host: ratings}}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: httpbin}
spec:
  host: httpbin
  subsets:
  - {name: admin, labels: {role: admin}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: httpbin}
spec:
  hosts: [httpbin]
  http:
  - name: admin-port
    match: [{port: 9000}]
    route: [{destination: {host: httpbin, subset: admin}}]
  - name: main
    route: [{destination: {host: httpbin}}]
`;

const INSTANCES: WorkloadInstance[] = [
  instance('productpage-v1-0', { app: 'productpage', version: 'v1' }, 20100),
  instance('reviews-v1-0', { app: 'reviews', version: 'v1' }, 20200),
  instance('reviews-v2-0', { app: 'reviews', version: 'v2' }, 20210),
  instance('reviews-v2-1', { app: 'reviews', version: 'v2' }, 20220),
  instance('reviews-v3-0', { app: 'reviews', version: 'v3' }, 20230),
  // Not ready yet: not an endpoint.
  instance('reviews-v3-1', { app: 'reviews', version: 'v3' }, 20240, { ready: false }),
  instance('ratings-v1-0', { app: 'ratings', version: 'v1' }, 20300),
  instance('ratings-v2-0', { app: 'ratings', version: 'v2' }, 20310),
  // Another namespace's reviews: a Service selects only its own namespace's instances.
  instance('reviews-v1-0', { app: 'reviews', version: 'v1' }, 20400, { namespace: 'other' }),
  { ...instance('httpbin-0', { app: 'httpbin' }, 20500, { containerPort: 8080 }) },
  {
    ...instance('httpbin-admin-0', { app: 'httpbin', role: 'admin' }, 20510),
    ports: [
      { containerPort: 8080, name: 'http', listenPort: 20510, appPort: 20511 },
      { containerPort: 9090, name: 'admin', listenPort: 20512, appPort: 20513 },
    ],
  },
];

const OUT = 'virtualOutbound';

describe('sidecar: listener → route → cluster → endpoint', () => {
  const m = model(MESH, INSTANCES);
  const productpage = CompiledProxy.build(
    sidecar('productpage-v1-0', 'default', {
      labels: { app: 'productpage', version: 'v1' },
      inbound: [{ containerPort: 9080, name: 'http', listenPort: 20100, appPort: 20101 }],
    }),
    m,
  );

  test("resources carry Istio's names", () => {
    // outbound_tunnel: the internal listener CONNECT tunnels to HTTP and TLS ports run through.
    assert.deepEqual([...productpage.listeners.keys()].sort(), [
      '127.0.0.1_20100',
      'outbound_tunnel',
      OUT,
    ]);
    assert.deepEqual([...productpage.routes.keys()], ['http_proxy']);
    const outboundHcm = productpage.hcm(OUT);
    assert.deepEqual(outboundHcm.routes, { kind: 'rds', name: 'http_proxy' });
    assert.equal(outboundHcm.allowAbsoluteUrl, true);
    assert.equal(outboundHcm.normalizePath, true);
    const clusters = productpage.clusters.all().map((c) => c.config.name);
    for (const name of [
      outbound(9080, '', 'reviews'),
      outbound(9080, 'v1', 'reviews'),
      outbound(9080, 'v2', 'reviews'),
      outbound(9080, 'v3', 'reviews'),
      outbound(8000, 'admin', 'httpbin'),
      outbound(9000, 'admin', 'httpbin'),
      'inbound|9080||',
      'PassthroughCluster',
      'BlackHoleCluster',
    ])
      assert.ok(clusters.includes(name), `cluster ${name}`);
    assert.ok(productpage.clusters.warm(), 'every EDS cluster got its assignment');
  });

  test('every name of a service resolves from its own namespace', () => {
    for (const authority of [
      'reviews',
      'reviews:9080',
      'reviews.default',
      'reviews.default:9080',
      'reviews.default.svc',
      'reviews.default.svc.cluster.local',
      'reviews.default.svc.cluster.local:9080',
      'REVIEWS.Default:9080',
    ]) {
      const hit = productpage.land(OUT, `http://${authority}/reviews/0`, { 'end-user': 'jason' });
      assert.equal(hit.cluster, outbound(9080, 'v2', 'reviews'), authority);
    }
    const noVs = productpage.land(OUT, 'http://productpage:9080/');
    assert.equal(noVs.cluster, outbound(9080, '', 'productpage'));
    assert.equal(noVs.host, '127.0.0.1:20100');
  });

  test('the bare short name does not resolve from another namespace', () => {
    const frontend = CompiledProxy.build(sidecar('web-0', 'frontend'), m);
    const bare = frontend.land(OUT, 'http://reviews:9080/', { 'end-user': 'jason' });
    assert.equal(bare.cluster, 'PassthroughCluster');
    for (const authority of ['reviews.default:9080', 'reviews.default.svc.cluster.local']) {
      const hit = frontend.land(OUT, `http://${authority}/`, { 'end-user': 'jason' });
      assert.equal(hit.cluster, outbound(9080, 'v2', 'reviews'), authority);
    }
  });

  test('a header rule picks its subset; other users get the weighted split', () => {
    assert.equal(
      productpage.land(OUT, 'http://reviews:9080/', { 'end-user': 'jason' }).cluster,
      outbound(9080, 'v2', 'reviews'),
    );
    assert.equal(
      productpage.land(OUT, 'http://reviews:9080/', { 'end-user': 'test-1' }).cluster,
      outbound(9080, 'v3', 'reviews'),
    );
    // withoutHeaders: the x-canary header (any value) takes the request out of the testers rule.
    const canary = productpage.land(OUT, 'http://reviews:9080/', {
      'end-user': 'test-1',
      'x-canary': '',
    });
    assert.equal(canary.routeName, 'split');
    // exact means exact: neither a longer name nor another case is jason.
    for (const user of ['jason2', 'Jason', '']) {
      assert.equal(
        productpage.land(OUT, 'http://reviews:9080/', { 'end-user': user }).routeName,
        'split',
      );
    }
  });

  test('weights 80/20 split the picks 80/20', () => {
    const counts = new Map<string, number>();
    const picks = 10_000;
    for (let i = 0; i < picks; i++) {
      const c = productpage.land(OUT, 'http://reviews:9080/').cluster ?? 'none';
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    assert.deepEqual([...counts.keys()].sort(), [
      outbound(9080, 'v1', 'reviews'),
      outbound(9080, 'v2', 'reviews'),
    ]);
    // Binomial(10000, 0.8) has a standard deviation of 0.4%; ±3% is more than 7 of them.
    const v1 = (counts.get(outbound(9080, 'v1', 'reviews')) ?? 0) / picks;
    assert.ok(Math.abs(v1 - 0.8) < 0.03, `v1 share ${v1}`);
  });

  test('a subset cluster has only its subset’s ready endpoints; the service cluster has all', () => {
    assert.deepEqual(productpage.hostsOf(outbound(9080, 'v1', 'reviews')), ['127.0.0.1:20200']);
    assert.deepEqual(productpage.hostsOf(outbound(9080, 'v2', 'reviews')), [
      '127.0.0.1:20210',
      '127.0.0.1:20220',
    ]);
    assert.deepEqual(productpage.hostsOf(outbound(9080, 'v3', 'reviews')), ['127.0.0.1:20230']);
    assert.deepEqual(productpage.hostsOf(outbound(9080, '', 'reviews')), [
      '127.0.0.1:20200',
      '127.0.0.1:20210',
      '127.0.0.1:20220',
      '127.0.0.1:20230',
    ]);
    // Least request (Istio's default) over the two v2 hosts lands on both: with no request in
    // flight it is a random pick, and 64 picks all on one host would be a 2^-63 event.
    const landed = new Set<string>();
    for (let i = 0; i < 64; i++)
      landed.add(productpage.land(OUT, 'http://reviews/', { 'end-user': 'jason' }).host ?? '');
    assert.deepEqual([...landed].sort(), ['127.0.0.1:20210', '127.0.0.1:20220']);
  });

  test('unknown hosts pass through to the authority (ALLOW_ANY)', () => {
    const hit = productpage.land(OUT, 'http://example.com:8081/x?y=1');
    assert.equal(hit.cluster, 'PassthroughCluster');
    assert.equal(hit.host, 'example.com:8081');
    assert.equal(productpage.land(OUT, 'http://example.com/').host, 'example.com:80');
    if (hit.action?.kind !== 'forward') assert.fail('a forward action');
    assert.equal(hit.action.timeoutMs, 0);
  });

  test('REGISTRY_ONLY answers 502 for unknown hosts and still routes known ones', () => {
    const strict = model(MESH, INSTANCES, {
      ...DEFAULT_MESH_CONFIG,
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
    });
    const proxy = CompiledProxy.build(sidecar('productpage-v1-0', 'default'), strict);
    const hit = proxy.land(OUT, 'http://example.com/');
    assert.equal(hit.kind, 'direct');
    if (hit.action?.kind !== 'direct') assert.fail('a direct response');
    assert.equal(hit.action.status, 502);
    assert.equal(proxy.land(OUT, 'http://ratings:9080/').cluster, outbound(9080, '', 'ratings'));
  });

  test('uri exact/prefix/regex, method, query parameters and ignoreUriCase', () => {
    const land = (target: string, method = 'GET') =>
      productpage.land(OUT, `http://ratings:9080${target}`, {}, method);
    assert.equal(land('/health').routeName, 'health');
    assert.equal(land('/health', 'POST').routeName, 'rest');
    assert.equal(land('/health/').routeName, 'rest');
    assert.equal(land('/old/page').routeName, 'moved');
    assert.equal(land('/api/x').routeName, 'api');
    assert.equal(land('/Api/x').routeName, 'api');
    // safe_regex is a full match: a prefix of the path is not enough.
    assert.equal(land('/ratings/42').routeName, 'by-id');
    assert.equal(land('/ratings/42/stars').routeName, 'rest');
    assert.equal(land('/ratings/x').routeName, 'rest');
    assert.equal(land('/anything?debug=1').routeName, 'debug');
    assert.equal(land('/anything?a=b&debug=1').routeName, 'debug');
    assert.equal(land('/anything?debug=0').routeName, 'rest');
    // The connection manager normalises the path before routing (normalize_path: true).
    assert.equal(land('/x/../health').routeName, 'health');
    assert.equal(land('/%68ealth').routeName, 'health');
  });

  test('direct responses, redirects, rewrites, timeouts and retries', () => {
    const land = (target: string) => productpage.land(OUT, `http://ratings:9080${target}`);
    const direct = land('/health').action;
    assert.deepEqual(direct, { kind: 'direct', status: 200, body: 'ok' });
    const redirect = land('/old/a').action;
    if (redirect?.kind !== 'redirect') assert.fail('a redirect');
    assert.equal(redirect.status, 308);
    assert.equal(redirect.path, '/new/');

    const api = land('/API/ratings');
    if (api.action?.kind !== 'forward') assert.fail('a forward action');
    assert.equal(api.cluster, outbound(9080, 'v1', 'ratings'));
    assert.deepEqual(api.action.rewrite, { matched: '/API/', replacement: '/v1/' });
    assert.equal(api.action.timeoutMs, 2500);
    assert.equal(api.action.retry?.numRetries, 4);
    assert.equal(api.action.retry?.perTryTimeoutMs, 500);
    assert.deepEqual([...(api.action.retry?.on ?? [])].sort(), [
      'gateway-error',
      'retriable-status-codes',
    ]);
    assert.deepEqual([...(api.action.retry?.retriableStatusCodes ?? [])], [503]);

    // Without timeout and retries in the VirtualService: no timeout, Istio's default retries.
    const rest = land('/other');
    if (rest.action?.kind !== 'forward') assert.fail('a forward action');
    assert.equal(rest.cluster, outbound(9080, '', 'ratings'));
    assert.equal(rest.action.timeoutMs, 0);
    const retry = rest.action.retry;
    assert.ok(retry);
    assert.equal(retry.numRetries, 2);
    assert.deepEqual([...retry.on].sort(), [
      'cancelled',
      'connect-failure',
      'refused-stream',
      'retriable-status-codes',
      'unavailable',
    ]);
    // Istio ≥ 1.24 no longer retries 503 by default.
    assert.equal(retry.retriableStatusCodes.size, 0);
    assert.equal(retry.avoidPreviousHosts, true);
    assert.equal(retry.hostSelectionMaxAttempts, 5);
  });

  test('the port in the authority picks the route; a destination without port keeps it', () => {
    const main = productpage.land(OUT, 'http://httpbin:8000/get');
    assert.equal(main.routeName, 'main');
    assert.equal(main.cluster, outbound(8000, '', 'httpbin'));
    assert.ok(['127.0.0.1:20500', '127.0.0.1:20510'].includes(main.host ?? ''));
    const admin = productpage.land(OUT, 'http://httpbin:9000/stats');
    assert.equal(admin.routeName, 'admin-port');
    assert.equal(admin.cluster, outbound(9000, 'admin', 'httpbin'));
    // targetPort 9090 is the admin instance's second port; the plain instance has none.
    assert.equal(admin.host, '127.0.0.1:20512');
    // The bare name goes to the first port's virtual host (the port-less domain is its).
    assert.equal(productpage.land(OUT, 'http://httpbin/').cluster, outbound(8000, '', 'httpbin'));
  });

  test('the inbound listener hands everything to the app on 127.0.0.1:<appPort>', () => {
    const hit = productpage.land('127.0.0.1_20100', '/productpage?u=1', {
      host: 'productpage:9080',
    });
    assert.equal(hit.cluster, 'inbound|9080||');
    assert.equal(hit.host, '127.0.0.1:20101');
    if (hit.action?.kind !== 'forward') assert.fail('a forward action');
    assert.equal(hit.action.timeoutMs, 0);
    const listener = productpage.listeners.get('127.0.0.1_20100');
    assert.equal(listener?.port, 20100);
    assert.equal(listener?.direction, 'INBOUND');
  });
});

// ---------------------------------------------------------------------------------------------
// Gateways.

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: bookinfo-gateway}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 8080, name: http, protocol: HTTP}
    hosts: ["*"]
  - port: {number: 80, name: http-web, protocol: HTTP}
    hosts: ["web/*.example.com", "./bookinfo.example.com"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo}
spec:
  hosts: ["*"]
  gateways: [bookinfo-gateway]
  http:
  - match:
    - uri: {exact: /productpage}
    - uri: {prefix: /static}
    - uri: {exact: /login}
    - uri: {exact: /logout}
    - uri: {prefix: /api/v1/products}
    route:
    - destination: {host: productpage, port: {number: 9080}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: bookinfo-host}
spec:
  hosts: [bookinfo.example.com]
  gateways: [default/bookinfo-gateway]
  http:
  - route: [{destination: {host: reviews, subset: v1}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: shop, namespace: web}
spec:
  hosts: [shop.example.com]
  gateways: [default/bookinfo-gateway]
  http:
  - route: [{destination: {host: ratings.default.svc.cluster.local}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: sneaky, namespace: other}
spec:
  hosts: [sneaky.example.com]
  gateways: [default/bookinfo-gateway]
  http:
  - route: [{destination: {host: ratings.default.svc.cluster.local}}]
`;

describe('gateway: listener → route → cluster', () => {
  const m = model(MESH + '---\n' + GATEWAY, INSTANCES);
  // Server port 80 would be served on 8080 in local mode, where the other server already is.
  const gw = CompiledProxy.build(router({ istio: 'ingressgateway' }), m, { 80: 18080 });

  test('one listener and one route config per server port, named as Istio names them', () => {
    assert.deepEqual([...gw.listeners.keys()].sort(), ['127.0.0.1_18080', '127.0.0.1_8080']);
    assert.deepEqual([...gw.routes.keys()].sort(), ['http.80', 'http.8080']);
    assert.deepEqual(gw.hcm('127.0.0.1_8080').routes, { kind: 'rds', name: 'http.8080' });
    assert.deepEqual(gw.hcm('127.0.0.1_18080').routes, { kind: 'rds', name: 'http.80' });
    assert.equal(gw.hcm('127.0.0.1_8080').useRemoteAddress, true);
    assert.equal(gw.listeners.get('127.0.0.1_18080')?.port, 18080);
  });

  test("bookinfo's paths reach productpage; anything else has no route", () => {
    for (const path of ['/productpage', '/static/x', '/login', '/logout', '/api/v1/products/1']) {
      const hit = gw.land('127.0.0.1_8080', path, { host: 'anything.example:8080' });
      assert.equal(hit.cluster, outbound(9080, '', 'productpage'), path);
      assert.equal(hit.host, '127.0.0.1:20100', path);
    }
    for (const path of ['/other', '/productpage/x', '/']) {
      assert.equal(gw.land('127.0.0.1_8080', path, { host: 'x' }).kind, 'none', path);
    }
  });

  test('server hosts filter VirtualService hosts, with their namespace restriction', () => {
    const land = (host: string) => gw.land('127.0.0.1_18080', '/', { host });
    assert.equal(land('bookinfo.example.com').cluster, outbound(9080, 'v1', 'reviews'));
    assert.equal(land('bookinfo.example.com:80').cluster, outbound(9080, 'v1', 'reviews'));
    // web/*.example.com admits the web namespace's shop.example.com …
    assert.equal(land('shop.example.com').cluster, outbound(9080, '', 'ratings'));
    // … but not the other namespace's sneaky.example.com.
    assert.equal(land('sneaky.example.com').kind, 'none');
    // The port-80 server has no "*" host: the bookinfo VirtualService is not on it.
    assert.equal(land('elsewhere.test').kind, 'none');
  });

  test('a router whose labels no Gateway selects gets no listeners', () => {
    const snapshot = Snapshot.build(
      generateResources(router({ istio: 'egressgateway' }), m, { gatewayPorts: {} }),
    );
    assert.equal(snapshot.resources(TypeUrl.Listener).size, 0);
    assert.equal(snapshot.resources(TypeUrl.RouteConfiguration).size, 0);
  });

  test('sidecars do not get gateway-only VirtualServices', () => {
    const sc = CompiledProxy.build(sidecar('productpage-v1-0', 'default'), m);
    assert.equal(sc.land(OUT, 'http://bookinfo.example.com/').cluster, 'PassthroughCluster');
  });
});

// ---------------------------------------------------------------------------------------------
// Conformance: Istio's own Bookinfo routing samples, read unchanged.

const SAMPLES = path.resolve(import.meta.dirname, '../../shared/istio-samples/bookinfo/networking');
const skipSamples = existsSync(SAMPLES)
  ? false
  : `Istio's samples are not at ${SAMPLES}: conformance cases skipped`;

const BOOKINFO_SERVICES = ['productpage', 'details', 'reviews', 'ratings']
  .map(
    (name) => `apiVersion: v1
kind: Service
metadata: {name: ${name}, labels: {app: ${name}}}
spec:
  selector: {app: ${name}}
  ports: [{name: http, port: 9080}]
`,
  )
  .join('---\n');

const BOOKINFO_INSTANCES: WorkloadInstance[] = [
  instance('productpage-v1-0', { app: 'productpage', version: 'v1' }, 21100),
  instance('details-v1-0', { app: 'details', version: 'v1' }, 21200),
  instance('reviews-v1-0', { app: 'reviews', version: 'v1' }, 21300),
  instance('reviews-v2-0', { app: 'reviews', version: 'v2' }, 21310),
  instance('reviews-v3-0', { app: 'reviews', version: 'v3' }, 21320),
  instance('ratings-v1-0', { app: 'ratings', version: 'v1' }, 21400),
];

function sample(file: string): string {
  return readFileSync(path.join(SAMPLES, file), 'utf8');
}

function bookinfo(...files: string[]): MeshModel {
  const resources = [
    ...parse(BOOKINFO_SERVICES, 'services.yaml'),
    ...files.flatMap((f) => parse(sample(f), f)),
  ];
  return MeshModel.build({
    resources,
    instances: BOOKINFO_INSTANCES,
    meshConfig: DEFAULT_MESH_CONFIG,
  });
}

describe("conformance: Istio's Bookinfo samples", { skip: skipSamples }, () => {
  const productpage = () =>
    sidecar('productpage-v1-0', 'default', { labels: { app: 'productpage' } });

  test('virtual-service-reviews-jason-v2-v3.yaml: jason sees v2, everyone else v3', () => {
    const m = bookinfo('destination-rule-all.yaml', 'virtual-service-reviews-jason-v2-v3.yaml');
    const proxy = CompiledProxy.build(productpage(), m);
    const jason = proxy.land(OUT, 'http://reviews:9080/reviews/0', { 'end-user': 'jason' });
    assert.equal(jason.cluster, outbound(9080, 'v2', 'reviews'));
    assert.equal(jason.host, '127.0.0.1:21310');
    for (const headers of [{}, { 'end-user': 'alice' }, { 'end-user': 'JASON' }] as Record<
      string,
      string
    >[]) {
      const other = proxy.land(OUT, 'http://reviews:9080/reviews/0', headers);
      assert.equal(other.cluster, outbound(9080, 'v3', 'reviews'));
      assert.equal(other.host, '127.0.0.1:21320');
    }
  });

  test('virtual-service-reviews-80-20.yaml splits 80/20 between v1 and v2', () => {
    const m = bookinfo('destination-rule-all.yaml', 'virtual-service-reviews-80-20.yaml');
    const proxy = CompiledProxy.build(productpage(), m);
    let v1 = 0;
    const picks = 10_000;
    for (let i = 0; i < picks; i++) {
      const c = proxy.land(OUT, 'http://reviews:9080/').cluster;
      if (c === outbound(9080, 'v1', 'reviews')) v1++;
      else assert.equal(c, outbound(9080, 'v2', 'reviews'));
    }
    assert.ok(Math.abs(v1 / picks - 0.8) < 0.03, `v1 share ${v1 / picks}`);
  });

  test('bookinfo-gateway.yaml: http.8080 routes the productpage paths and nothing else', () => {
    const m = bookinfo('bookinfo-gateway.yaml');
    const gw = CompiledProxy.build(router({ istio: 'ingressgateway' }), m);
    assert.deepEqual([...gw.routes.keys()], ['http.8080']);
    for (const p of ['/productpage', '/static/x', '/login', '/logout', '/api/v1/products/1']) {
      const hit = gw.land('127.0.0.1_8080', p, { host: 'localhost:8080' });
      assert.equal(hit.cluster, outbound(9080, '', 'productpage'), p);
      assert.equal(hit.host, '127.0.0.1:21100', p);
    }
    assert.equal(gw.land('127.0.0.1_8080', '/other', { host: 'localhost:8080' }).kind, 'none');
  });

  test('every networking sample yields a consistent snapshot the proxy compiles', () => {
    const files = readdirSync(SAMPLES).filter((f) => /\.ya?ml$/.test(f));
    assert.ok(files.length > 0);
    for (const file of files) {
      const m = bookinfo(file);
      // CompiledProxy.build asserts consistency; compiling throws on anything the proxy refuses.
      CompiledProxy.build(productpage(), m);
      CompiledProxy.build(router({ istio: 'ingressgateway' }), m);
    }
  });
});
