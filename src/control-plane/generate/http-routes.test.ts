import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import { RouteTable } from '../../proxy/routes/route-table.js';
import { packAny, unpackAny } from '../../xds/any.js';
import { TypeUrl } from '../../xds/types.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import { MeshModel } from '../model/mesh-model.js';
import type { RouteContext } from './http-routes.js';
import { defaultRoute, destinationCluster, translateHttpRoutes } from './http-routes.js';

type Obj = Record<string, unknown>;

const SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: multi}
spec:
  ports: [{name: http, port: 8000}, {name: http-alt, port: 8001}]
`;

/** Translates the http routes of the one VirtualService in `vs`, then packs and decodes them. */
function routes(vs: string, ctx: { port?: number; gateway?: string } = {}): Obj[] {
  const { resources, problems } = parseConfigText(SERVICES + '---\n' + vs, 'vs.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  const model = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const bound = model.virtualServices[0];
  assert.ok(bound);
  const rc: RouteContext = { model, port: ctx.port ?? 9080, gateway: ctx.gateway ?? 'mesh' };
  return onTheWire(translateHttpRoutes(bound, rc));
}

/** Routes as the proxy receives them, after checking that the proxy compiles them. */
function onTheWire(list: Obj[]): Obj[] {
  const config = { name: 'r', virtual_hosts: [{ name: 'v', domains: ['*'], routes: list }] };
  const decoded = unpackAny(packAny(TypeUrl.RouteConfiguration, config));
  RouteTable.compile(decoded);
  const vhosts = decoded['virtual_hosts'] as Obj[];
  return (vhosts[0]?.['routes'] as Obj[] | undefined) ?? [];
}

function vs(http: string, extra = ''): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: reviews}
spec:
  hosts: [reviews]
${extra}  http:
${http
  .split('\n')
  .map((l) => `  ${l}`)
  .join('\n')}
`;
}

const action = (r: Obj | undefined) => (r?.['route'] ?? {}) as Obj;
const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

test('uri exact/prefix/regex become path/prefix/safe_regex; no uri is prefix "/"', () => {
  const r = routes(
    vs(`
- match:
  - uri: {exact: /a}
  - uri: {prefix: /b}
  - uri: {regex: "/c/[0-9]+"}
    ignoreUriCase: true
  - headers: {x: {exact: y}}
  route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(
    r.map((x) => x['match']),
    [
      { path: '/a' },
      { prefix: '/b' },
      { safe_regex: { regex: '/c/[0-9]+' }, case_sensitive: false },
      { prefix: '/', headers: [{ name: 'x', string_match: { exact: 'y' } }] },
      { prefix: '/' },
    ],
  );
});

test('headers, method, authority and scheme are header matchers; an empty match means present', () => {
  const [r] = routes(
    vs(`
- match:
  - headers:
      End-User: {prefix: jas}
      x-any: {}
    method: {exact: POST}
    authority: {regex: "reviews(:9080)?"}
    scheme: {exact: http}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual((r?.['match'] as Obj)['headers'], [
    { name: 'end-user', string_match: { prefix: 'jas' } },
    { name: 'x-any', present_match: true },
    { name: ':method', string_match: { exact: 'POST' } },
    { name: ':authority', string_match: { safe_regex: { regex: 'reviews(:9080)?' } } },
    { name: ':scheme', string_match: { exact: 'http' } },
  ]);
});

test('regression: withoutHeaders treats a missing header as empty, as Istio does', () => {
  const [r] = routes(
    vs(`
- match:
  - withoutHeaders:
      x-canary: {exact: "true"}
      x-debug: {}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual((r?.['match'] as Obj)['headers'], [
    {
      name: 'x-canary',
      string_match: { exact: 'true' },
      invert_match: true,
      treat_missing_header_as_empty: true,
    },
    { name: 'x-debug', present_match: true, invert_match: true },
  ]);
});

test('regression: an empty query parameter match means present (was an empty string_match the proxy refused)', () => {
  const [r] = routes(
    vs(`
- match:
  - queryParams:
      debug: {}
      v: {exact: "2"}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual((r?.['match'] as Obj)['query_parameters'], [
    { name: 'debug', present_match: true },
    { name: 'v', string_match: { exact: '2' } },
  ]);
});

test('each match clause is a route, in order, named route.match; a route carries its VirtualService', () => {
  const r = routes(
    vs(`
- name: first
  match:
  - {name: a, uri: {prefix: /a}}
  - {uri: {prefix: /b}}
  route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(
    r.map((x) => x['name']),
    ['first.a', 'first', undefined],
  );
  assert.deepEqual(r[0]?.['metadata'], {
    filter_metadata: {
      istio: { config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews' },
    },
  });
});

test('matches for another port or another gateway are left out', () => {
  const text = vs(
    `
- match: [{port: 9080, uri: {prefix: /p}}]
  route: [{destination: {host: reviews}}]
- match: [{gateways: [gw], uri: {prefix: /g}}]
  route: [{destination: {host: reviews}}]
- match: [{gateways: [mesh], uri: {prefix: /m}}]
  route: [{destination: {host: reviews}}]`,
    '  gateways: [mesh, gw]\n',
  );
  const paths = (port: number, gateway: string) =>
    routes(text, { port, gateway }).map((x) => (x['match'] as Obj)['prefix']);
  assert.deepEqual(paths(9080, 'mesh'), ['/p', '/m']);
  assert.deepEqual(paths(9999, 'mesh'), ['/m']);
  assert.deepEqual(paths(8080, 'default/gw'), ['/g']);
});

test("a destination's port: as written, else the service's only port, else the request's", () => {
  const text = vs(`
- route:
  - {destination: {host: reviews}, weight: 40}
  - {destination: {host: multi, port: {number: 8001}}, weight: 30}
  - {destination: {host: multi}, weight: 30}`);
  const [r] = routes(text, { port: 8000 });
  assert.deepEqual((action(r)['weighted_clusters'] as Obj)['clusters'], [
    { name: REVIEWS, weight: 40 },
    { name: 'outbound|8001||multi.default.svc.cluster.local', weight: 30 },
    { name: 'outbound|8000||multi.default.svc.cluster.local', weight: 30 },
  ]);
});

test('destinationCluster resolves short names in the VirtualService namespace', () => {
  const { resources } = parseConfigText(SERVICES, 's.yaml');
  const model = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const ctx: RouteContext = { model, port: 80, gateway: 'mesh' };
  assert.equal(
    destinationCluster({ host: 'reviews', subset: 'v1' }, 'default', ctx),
    'outbound|9080|v1|reviews.default.svc.cluster.local',
  );
  // Unknown service: the request's port.
  assert.equal(
    destinationCluster({ host: 'ghost' }, 'other', ctx),
    'outbound|80||ghost.other.svc.cluster.local',
  );
  assert.equal(
    destinationCluster({ host: 'api.example.com', port: { number: 443 } }, 'default', ctx),
    'outbound|443||api.example.com',
  );
});

test('a zero weight drops a destination when others remain; one destination is a plain cluster', () => {
  const [split] = routes(
    vs(`
- route:
  - {destination: {host: reviews, subset: v1}, weight: 100}
  - {destination: {host: reviews, subset: v2}, weight: 0}`),
  );
  assert.equal(action(split)['cluster'], 'outbound|9080|v1|reviews.default.svc.cluster.local');
  const [single] = routes(vs(`- route: [{destination: {host: reviews}}]`));
  assert.equal(action(single)['cluster'], REVIEWS);
});

test('timeouts: "0s" (none) unless the VirtualService sets one', () => {
  const [plain, timed] = routes(
    vs(`
- match: [{uri: {prefix: /a}}]
  route: [{destination: {host: reviews}}]
- timeout: 1m30s
  route: [{destination: {host: reviews}}]`),
  );
  assert.equal(action(plain)['timeout'], '0s');
  assert.equal(action(timed)['timeout'], '90s');
});

const ISTIO_DEFAULT_RETRY = {
  retry_on: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
  num_retries: 2,
  retry_host_predicate: [
    {
      name: 'envoy.retry_host_predicates.previous_hosts',
      typed_config: {
        '@type':
          'type.googleapis.com/envoy.extensions.retry.host.previous_hosts.v3.PreviousHostsPredicate',
      },
    },
  ],
  host_selection_retry_max_attempts: 5,
};

test("regression: Istio's default retry policy has no retriable status codes (503 dropped in 1.24)", () => {
  const [r] = routes(vs(`- route: [{destination: {host: reviews}}]`));
  assert.deepEqual(action(r)['retry_policy'], ISTIO_DEFAULT_RETRY);
  const { resources } = parseConfigText(SERVICES, 's.yaml');
  const model = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const [d] = onTheWire([defaultRoute(REVIEWS, { model, port: 9080, gateway: 'mesh' })]);
  assert.deepEqual(d, {
    name: 'default',
    match: { prefix: '/' },
    route: { cluster: REVIEWS, timeout: '0s', retry_policy: ISTIO_DEFAULT_RETRY },
  });
});

test('retries: attempts, retryOn with status codes, perTryTimeout, backoff, previous hosts', () => {
  const [r] = routes(
    vs(`
- retries:
    attempts: 3
    retryOn: "5xx, 409,reset"
    perTryTimeout: 250ms
    backoff: 50ms
    retryIgnorePreviousHosts: false
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(action(r)['retry_policy'], {
    retry_on: '5xx,reset,retriable-status-codes',
    num_retries: 3,
    retriable_status_codes: [409],
    per_try_timeout: '0.25s',
    retry_back_off: { base_interval: '0.05s' },
    host_selection_retry_max_attempts: 5,
  });
});

test('regression: retries without attempts, or attempts 0, disable retries (Istio)', () => {
  const [none, zero, onlyAttempts] = routes(
    vs(`
- match: [{uri: {prefix: /a}}]
  retries: {}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /b}}]
  retries: {attempts: 0}
  route: [{destination: {host: reviews}}]
- retries: {attempts: 5}
  route: [{destination: {host: reviews}}]`),
  );
  assert.equal(action(none)['retry_policy'], undefined);
  assert.equal(action(zero)['retry_policy'], undefined);
  // attempts alone keeps Istio's default conditions.
  assert.deepEqual(action(onlyAttempts)['retry_policy'], {
    ...ISTIO_DEFAULT_RETRY,
    num_retries: 5,
  });
});

test('rewrites, redirects and direct responses', () => {
  const [rewrite, redirect, plain, direct, bytes] = routes(
    vs(`
- match: [{uri: {prefix: /old}}]
  rewrite: {uri: /new, authority: reviews.internal}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /moved}}]
  redirect: {uri: /here, authority: example.com, port: 8443, scheme: https, redirectCode: 307}
- match: [{uri: {prefix: /plain}}]
  redirect: {uri: /there}
- match: [{uri: {exact: /teapot}}]
  directResponse: {status: 418, body: {string: "short and stout"}}
- directResponse: {status: 503, body: {bytes: "b2ZmbGluZQ=="}}`),
  );
  assert.equal(action(rewrite)['prefix_rewrite'], '/new');
  assert.equal(action(rewrite)['host_rewrite_literal'], 'reviews.internal');
  assert.deepEqual(redirect?.['redirect'], {
    path_redirect: '/here',
    host_redirect: 'example.com',
    port_redirect: 8443,
    scheme_redirect: 'https',
    response_code: 'TEMPORARY_REDIRECT',
  });
  assert.equal(redirect?.['route'], undefined);
  // Istio's default redirect code is 301.
  assert.deepEqual(plain?.['redirect'], {
    path_redirect: '/there',
    response_code: 'MOVED_PERMANENTLY',
  });
  assert.deepEqual(direct?.['direct_response'], {
    status: 418,
    body: { inline_string: 'short and stout' },
  });
  // Istio sends bytes as inline_bytes (base64 in the JSON form).
  assert.deepEqual(bytes?.['direct_response'], {
    status: 503,
    body: { inline_bytes: 'b2ZmbGluZQ==' },
  });
});

const perFilter = (r: Obj | undefined, name: string) =>
  ((r?.['typed_per_filter_config'] ?? {}) as Obj)[name] as Obj | undefined;

test('fault: delay and abort as the fault filter’s per-route config, percentages over a million', () => {
  const [r, grpc, legacy, none] = routes(
    vs(`
- match: [{uri: {prefix: /a}}]
  fault:
    delay: {fixedDelay: 1.5s, percentage: {value: 12.5}}
    abort: {httpStatus: 503, percentage: {value: 100}}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /g}}]
  fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 50}}}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /l}}]
  fault: {delay: {fixedDelay: 1s, percent: 30}}
  route: [{destination: {host: reviews}}]
- route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(perFilter(r, 'envoy.filters.http.fault'), {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.fault.v3.HTTPFault',
    delay: { fixed_delay: '1.5s', percentage: { numerator: 125000, denominator: 'MILLION' } },
    abort: { http_status: 503, percentage: { numerator: 1000000, denominator: 'MILLION' } },
  });
  assert.deepEqual(perFilter(grpc, 'envoy.filters.http.fault')?.['abort'], {
    grpc_status: 14,
    percentage: { numerator: 500000, denominator: 'MILLION' },
  });
  // The deprecated integer percent is over a hundred (HUNDRED, the default, is not on the wire).
  assert.deepEqual(perFilter(legacy, 'envoy.filters.http.fault')?.['delay'], {
    fixed_delay: '1s',
    percentage: { numerator: 30, denominator: 'HUNDRED' },
  });
  assert.equal(none?.['typed_per_filter_config'], undefined);
});

test('corsPolicy: the CORS filter’s per-route policy, as Istio writes it', () => {
  const [r, ignore] = routes(
    vs(`
- match: [{uri: {prefix: /a}}]
  corsPolicy:
    allowOrigins: [{exact: "https://a.example"}, {prefix: "https://b."}, {regex: "https://.*\\\\.c"}]
    allowMethods: [GET, POST]
    allowHeaders: [x-a, x-b]
    exposeHeaders: [x-c]
    maxAge: 24h
    allowCredentials: true
  route: [{destination: {host: reviews}}]
- corsPolicy: {allowOrigins: [{exact: "https://a.example"}], unmatchedPreflights: IGNORE}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(perFilter(r, 'envoy.filters.http.cors'), {
    '@type': 'type.googleapis.com/envoy.extensions.filters.http.cors.v3.CorsPolicy',
    allow_origin_string_match: [
      { exact: 'https://a.example' },
      { prefix: 'https://b.' },
      { safe_regex: { regex: 'https://.*\\.c' } },
    ],
    allow_methods: 'GET,POST',
    allow_headers: 'x-a,x-b',
    expose_headers: 'x-c',
    max_age: '86400',
    allow_credentials: true,
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
    forward_not_matching_preflights: true,
  });
  assert.equal(
    perFilter(ignore, 'envoy.filters.http.cors')?.['forward_not_matching_preflights'],
    false,
  );
});

test('headers: route level on the route, destination level on the route or the cluster weight', () => {
  const [single, weighted] = routes(
    vs(`
- match: [{uri: {prefix: /s}}]
  headers:
    request: {set: {x-set: "1", ":authority": rewritten}, add: {x-add: "2"}, remove: [x-rm]}
    response: {set: {x-rs: "3"}, add: {x-ra: "4"}, remove: [x-rrm]}
  route:
  - destination: {host: reviews}
    headers: {request: {set: {x-dest: d}}}
- route:
  - destination: {host: reviews, subset: v1}
    weight: 50
    headers: {request: {add: {x-v: "1"}}, response: {remove: [x-internal]}}
  - destination: {host: reviews, subset: v2}
    weight: 50
    headers: {request: {set: {host: v2.internal}}}`),
  );
  assert.deepEqual(single?.['request_headers_to_add'], [
    { header: { key: 'x-set', value: '1' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'x-add', value: '2' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    { header: { key: 'x-dest', value: 'd' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
  ]);
  assert.deepEqual(single?.['request_headers_to_remove'], ['x-rm']);
  assert.deepEqual(single?.['response_headers_to_add'], [
    { header: { key: 'x-rs', value: '3' }, append_action: 'OVERWRITE_IF_EXISTS_OR_ADD' },
    { header: { key: 'x-ra', value: '4' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
  ]);
  assert.deepEqual(single?.['response_headers_to_remove'], ['x-rrm']);
  // An :authority set is a host rewrite, not a header.
  assert.equal(action(single)['host_rewrite_literal'], 'rewritten');
  const clusters = (action(weighted)['weighted_clusters'] as Obj)['clusters'] as Obj[];
  assert.deepEqual(clusters[0], {
    name: 'outbound|9080|v1|reviews.default.svc.cluster.local',
    weight: 50,
    request_headers_to_add: [
      { header: { key: 'x-v', value: '1' }, append_action: 'APPEND_IF_EXISTS_OR_ADD' },
    ],
    response_headers_to_remove: ['x-internal'],
  });
  assert.deepEqual(clusters[1], {
    name: 'outbound|9080|v2|reviews.default.svc.cluster.local',
    weight: 50,
    host_rewrite_literal: 'v2.internal',
  });
});

test('mirror / mirrors / mirrorPercentage / mirrorPercent → request_mirror_policies', () => {
  const [one, many, legacy, off] = routes(
    vs(`
- match: [{uri: {prefix: /one}}]
  mirror: {host: reviews, subset: v3}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /many}}]
  mirrors:
  - {destination: {host: reviews, subset: v2}, percentage: {value: 25}}
  - {destination: {host: multi, port: {number: 8001}}}
  route: [{destination: {host: reviews}}]
- match: [{uri: {prefix: /legacy}}]
  mirror: {host: reviews}
  mirrorPercent: 40
  route: [{destination: {host: reviews}}]
- mirror: {host: reviews}
  mirrorPercentage: {value: 0}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(action(one)['request_mirror_policies'], [
    {
      cluster: 'outbound|9080|v3|reviews.default.svc.cluster.local',
      runtime_fraction: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
      trace_sampled: false,
    },
  ]);
  assert.deepEqual(
    (action(many)['request_mirror_policies'] as Obj[]).map((m) => [
      m['cluster'],
      m['runtime_fraction'],
    ]),
    [
      [
        'outbound|9080|v2|reviews.default.svc.cluster.local',
        { default_value: { numerator: 250000, denominator: 'MILLION' } },
      ],
      [
        'outbound|8001||multi.default.svc.cluster.local',
        { default_value: { numerator: 100, denominator: 'HUNDRED' } },
      ],
    ],
  );
  assert.deepEqual((action(legacy)['request_mirror_policies'] as Obj[])[0]?.['runtime_fraction'], {
    default_value: { numerator: 40, denominator: 'HUNDRED' },
  });
  assert.equal(action(off)['request_mirror_policies'], undefined, 'an explicit 0% mirrors nothing');
});

test('redirect derivePort and port: the request port or none, never a scheme’s default', () => {
  const [fromRequest, fromDefault, port80, https443] = routes(
    vs(`
- match: [{uri: {prefix: /a}}]
  redirect: {uri: /x, derivePort: FROM_REQUEST_PORT}
- match: [{uri: {prefix: /b}}]
  redirect: {uri: /x, derivePort: FROM_PROTOCOL_DEFAULT}
- match: [{uri: {prefix: /c}}]
  redirect: {authority: h, port: 80}
- redirect: {scheme: https, port: 443, redirectCode: 302}`),
  );
  assert.equal((fromRequest?.['redirect'] as Obj)['port_redirect'], 9080);
  assert.equal((fromDefault?.['redirect'] as Obj)['port_redirect'], undefined);
  assert.equal((port80?.['redirect'] as Obj)['port_redirect'], undefined);
  assert.deepEqual(https443?.['redirect'], { scheme_redirect: 'https', response_code: 'FOUND' });
});

test('rewrite uriRegexRewrite → regex_rewrite', () => {
  const [r] = routes(
    vs(`
- rewrite: {uriRegexRewrite: {match: "^/service/([^/]+)(/.*)$", rewrite: "\\\\2/instance/\\\\1"}}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual(action(r)['regex_rewrite'], {
    pattern: { regex: '^/service/([^/]+)(/.*)$' },
    substitution: '\\2/instance/\\1',
  });
  assert.equal(action(r)['prefix_rewrite'], undefined);
});

test('retryRemoteLocalities: the previous_priorities retry priority', () => {
  const [r] = routes(
    vs(`
- retries: {attempts: 2, retryOn: 5xx, retryRemoteLocalities: true}
  route: [{destination: {host: reviews}}]`),
  );
  assert.deepEqual((action(r)['retry_policy'] as Obj)['retry_priority'], {
    name: 'envoy.retry_priorities.previous_priorities',
    typed_config: {
      '@type':
        'type.googleapis.com/envoy.extensions.retry.priority.previous_priorities.v3.PreviousPrioritiesConfig',
      update_frequency: 2,
    },
  });
});

test('sourceLabels and sourceNamespace: a route only for the proxies they name', () => {
  const text =
    SERVICES +
    '---\n' +
    vs(`
- match: [{sourceLabels: {app: productpage, version: v1}}]
  route: [{destination: {host: reviews, subset: v1}}]
- match: [{sourceNamespace: other}]
  route: [{destination: {host: reviews, subset: v2}}]
- match: [{sourceLabels: {app: productpage}, gateways: [mesh]}]
  route: [{destination: {host: reviews, subset: v3}}]
- route: [{destination: {host: reviews}}]`);
  const { resources } = parseConfigText(text, 'vs.yaml');
  const model = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const clusters = (labels: Record<string, string>, namespace: string) => {
    const view = model.forProxy({ type: 'sidecar', namespace, labels });
    const bound = view.virtualServices.find((v) => v.resource.metadata.name === 'reviews');
    assert.ok(bound);
    return translateHttpRoutes(bound, { model: view, port: 9080, gateway: 'mesh' }).map(
      (r) => (r['route'] as Obj)['cluster'],
    );
  };
  const sub = (s: string) => `outbound|9080|${s}|reviews.default.svc.cluster.local`;
  assert.deepEqual(clusters({ app: 'productpage', version: 'v1' }, 'default'), [
    sub('v1'),
    sub('v3'),
    sub(''),
  ]);
  assert.deepEqual(clusters({ app: 'productpage', version: 'v2' }, 'default'), [
    sub('v3'),
    sub(''),
  ]);
  // A match with gateways ignores its sourceLabels (Istio's sourceMatchHTTP).
  assert.deepEqual(clusters({ app: 'ratings' }, 'default'), [sub('v3'), sub('')]);
  assert.deepEqual(clusters({ app: 'ratings' }, 'other'), [sub('v2'), sub('v3'), sub('')]);
});

test('delegate: the delegate’s routes under the root’s match, hosts resolved in its namespace', () => {
  const text = `${SERVICES}---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: root}
spec:
  hosts: [reviews]
  http:
  - name: api
    match: [{uri: {prefix: /api}}]
    timeout: 3s
    delegate: {name: leaf, namespace: team}
  - route: [{destination: {host: reviews}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: leaf, namespace: team}
spec:
  http:
  - name: v2
    match: [{uri: {prefix: /api/v2}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v2}}]
  - name: outside
    match: [{uri: {prefix: /api/v3}}, {uri: {prefix: /other}}]
    route: [{destination: {host: reviews.default.svc.cluster.local, subset: v3}}]
  - route: [{destination: {host: reviews}}]
    timeout: 1s
`;
  const { resources, problems } = parseConfigText(text, 'vs.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  const model = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const root = model.virtualServices.find((v) => v.resource.metadata.name === 'root');
  assert.ok(root);
  const list = onTheWire(translateHttpRoutes(root, { model, port: 9080, gateway: 'mesh' }));
  assert.deepEqual(
    list.map((r) => [
      r['name'],
      (r['match'] as Obj)['prefix'],
      action(r)['cluster'],
      action(r)['timeout'],
    ]),
    [
      // /other cannot narrow the root's /api: Istio drops that whole delegate route.
      ['api-v2', '/api/v2', 'outbound|9080|v2|reviews.default.svc.cluster.local', '3s'],
      // A short host in the delegate is the delegate namespace's.
      ['api', '/api', 'outbound|9080||reviews.team.svc.cluster.local', '1s'],
      [undefined, '/', REVIEWS, '0s'],
    ],
  );
});
