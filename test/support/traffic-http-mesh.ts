// The mesh test/traffic-http.test.ts runs: echo apps (two versions), two shadows for mirrors,
// three clients (two label sets, two namespaces), one Service and VirtualService per feature.

/** What an echo app records of a request (and answers with). */
export interface Seen {
  readonly key: string;
  readonly version: string;
  readonly method: string;
  readonly url: string;
  readonly headers: Record<string, string | undefined>;
  readonly body: string;
  /** When the app received it (Date.now()). */
  readonly at: number;
}

/**
 * An app that echoes each request as JSON and keeps those with an x-test-key (GET /__seen?key=).
 * Query parameters make it misbehave: the first `fail` requests of a key answer `failStatus`
 * with `fh` headers, or `how=reset` / `how=hang` (with `failv`, only the app of that VERSION
 * fails); `h=name:value` adds a response header.
 * With ROLE=shadow, paths containing /failing hang (a mirror that never answers).
 */
export const ECHO_APP = `
import http from 'node:http';
const version = process.env.VERSION;
const seen = [];
const counts = new Map();
function header(list, out) {
  for (const h of list) { const i = h.indexOf(':'); if (i > 0) out[h.slice(0, i)] = h.slice(i + 1); }
  return out;
}
function handle(req, res) {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const u = new URL(req.url, 'http://x');
    if (u.pathname === '/__seen') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen.filter((r) => r.key === u.searchParams.get('key'))));
      return;
    }
    const key = req.headers['x-test-key'] ?? '';
    const record = { key, version, method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString(), at: Date.now() };
    if (key) { seen.push(record); if (seen.length > 20000) seen.shift(); }
    if (process.env.ROLE === 'shadow' && u.pathname.includes('/failing')) return;
    const n = (counts.get(key) ?? 0) + 1;
    counts.set(key, n);
    const failv = u.searchParams.get('failv');
    if (key && n <= Number(u.searchParams.get('fail') ?? 0) && (!failv || failv === version)) {
      const how = u.searchParams.get('how');
      if (how === 'reset') return req.socket.destroy();
      if (how === 'hang') return;
      res.writeHead(Number(u.searchParams.get('failStatus') ?? 503), header(u.searchParams.getAll('fh'), {}));
      res.end('failed on purpose');
      return;
    }
    res.writeHead(200, header(u.searchParams.getAll('h'), { 'content-type': 'application/json' }));
    res.end(JSON.stringify(record));
  });
}
const servers = [process.env.PORT_HTTP, process.env.PORT_ALT].filter(Boolean).map((p) => {
  const s = http.createServer(handle);
  s.keepAliveTimeout = 60_000;
  s.listen(Number(p), '127.0.0.1');
  return s;
});
process.on('SIGTERM', () => { for (const s of servers) s.closeAllConnections(); process.exit(0); });
`;

const workload = (
  name: string,
  ns: string,
  labels: string,
  command: string,
  env: string,
  ports: string,
) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: ${ns}, labels: { ${labels} } }
spec:
  command: [node, ${command}]
  env: { ${env} }
  ${ports}`;

const ECHO_PORTS =
  'ports: [{ name: http, containerPort: 9080 }, { name: alt, containerPort: 9081 }]';
const SHADOW_PORTS = 'ports: [{ name: http, containerPort: 9080 }]';

const service = (name: string, app: string, extraPorts = '') => `
apiVersion: v1
kind: Service
metadata: { name: ${name} }
spec:
  selector: { app: ${app} }
  ports: [{ name: http, port: 9080, targetPort: http }${extraPorts}]`;

const vs = (name: string, body: string, ns = 'default') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name}, namespace: ${ns} }
spec:
${body}`;

const routeTo = (label: string, subset = 'v1') =>
  `headers: { response: { set: { x-route: ${label} } } }
      route: [{ destination: { host: echo, subset: ${subset} } }]`;

const MATCHY = vs(
  'matchy',
  `  hosts: [matchy, matchy.example.com]
  gateways: [mesh, ingress]
  http:
    - name: first
      match: [{ uri: { exact: /first } }]
      ${routeTo('first')}
    - name: never
      match: [{ uri: { exact: /first } }]
      ${routeTo('never')}
    - match: [{ uri: { exact: /exact } }]
      ${routeTo('exact')}
    - match: [{ uri: { prefix: /prefix/ } }]
      ${routeTo('prefix')}
    - match: [{ uri: { regex: "/regex/[0-9]+" } }]
      ${routeTo('regex')}
    - match: [{ uri: { prefix: /ICASE }, ignoreUriCase: true }]
      ${routeTo('icase')}
    - match: [{ uri: { prefix: /m }, method: { exact: POST } }]
      ${routeTo('method')}
    - match: [{ uri: { prefix: /scheme-https }, scheme: { exact: https } }]
      ${routeTo('scheme-https')}
    - match: [{ uri: { prefix: /scheme }, scheme: { exact: http } }]
      ${routeTo('scheme')}
    - match: [{ uri: { prefix: /auth }, authority: { prefix: "matchy.default" } }]
      ${routeTo('authority')}
    - match: [{ uri: { prefix: /h }, headers: { x-h: { exact: a } } }]
      ${routeTo('hdr-exact')}
    - match: [{ uri: { prefix: /h }, headers: { x-h: { prefix: pre } } }]
      ${routeTo('hdr-prefix')}
    - match: [{ uri: { prefix: /h }, headers: { x-h: { regex: "r[0-9]+" } } }]
      ${routeTo('hdr-regex')}
    - match: [{ uri: { prefix: /without }, withoutHeaders: { x-skip: { exact: "1" } } }]
      ${routeTo('without')}
    - match: [{ uri: { prefix: /both }, headers: { x-and: { exact: "1" } } }]
      ${routeTo('both')}
    - match: [{ uri: { prefix: /either-one } }, { uri: { prefix: /either-two } }]
      ${routeTo('either')}
    - match:
        - { uri: { prefix: /mixed }, method: { exact: PUT }, headers: { x-m: { exact: "1" } } }
        - { uri: { prefix: /mixed }, queryParams: { m: { exact: "2" } } }
      ${routeTo('mixed')}
    - match: [{ uri: { prefix: /q }, queryParams: { q: { exact: a } } }]
      ${routeTo('qp-exact')}
    - match: [{ uri: { prefix: /q }, queryParams: { q: { prefix: pre } } }]
      ${routeTo('qp-prefix')}
    - match: [{ uri: { prefix: /q }, queryParams: { q: { regex: "r[0-9]" } } }]
      ${routeTo('qp-regex')}
    - match: [{ port: 9081 }]
      ${routeTo('port')}
    - match: [{ uri: { prefix: /gw }, gateways: [mesh] }]
      ${routeTo('gw-mesh')}
    - match: [{ uri: { prefix: /gw }, gateways: [ingress] }]
      headers: { response: { set: { x-route: gw-ingress } } }
      # The gateway's port is 80: a service with two ports needs the destination port named.
      route: [{ destination: { host: echo, subset: v1, port: { number: 9080 } } }]
    - match: [{ uri: { prefix: /src }, sourceLabels: { version: b } }]
      ${routeTo('src-labels')}
    - match: [{ uri: { prefix: /src }, sourceNamespace: other }]
      ${routeTo('src-namespace')}
    - ${routeTo('default')}`,
);

const FAULTS = vs(
  'faults',
  `  hosts: [faults]
  http:
    - match: [{ uri: { prefix: /abort } }]
      fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /half } }]
      fault: { abort: { httpStatus: 500, percentage: { value: 50 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /grpc } }]
      fault: { abort: { grpcStatus: UNAVAILABLE, percentage: { value: 100 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /delayhalf } }]
      fault: { delay: { fixedDelay: 1ms, percent: 50 } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /delay } }]
      fault: { delay: { fixedDelay: 200ms, percentage: { value: 100 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /hang } }]
      fault: { delay: { fixedDelay: 3600s, percentage: { value: 100 } } }
      route: [{ destination: { host: echo, subset: v1 } }]
    - route: [{ destination: { host: echo, subset: v1 } }]`,
);

const CORS = vs(
  'cors',
  `  hosts: [cors]
  http:
    - match: [{ uri: { prefix: /ignore } }]
      corsPolicy:
        allowOrigins: [{ exact: "https://app.example" }]
        allowMethods: [GET]
        unmatchedPreflights: IGNORE
      route: [{ destination: { host: echo, subset: v1 } }]
    - corsPolicy:
        allowOrigins:
          - { exact: "https://app.example" }
          - { prefix: "https://pre." }
          - { regex: "https://[a-z]+\\\\.rx\\\\.example" }
        allowMethods: [GET, POST, PATCH]
        allowHeaders: [x-custom, content-type]
        exposeHeaders: [x-exposed]
        maxAge: 1h
        allowCredentials: true
      route: [{ destination: { host: echo, subset: v1 } }]`,
);

const HEADERS = vs(
  'headers',
  `  hosts: [headers]
  http:
    - match: [{ uri: { prefix: /weighted } }]
      headers: { request: { set: { x-order: route } }, response: { set: { x-order: route } } }
      route:
        - destination: { host: echo, subset: v1 }
          weight: 50
          headers:
            request: { set: { x-dest: v1, x-order: dest } }
            response: { add: { x-dest-resp: v1 } }
        - destination: { host: echo, subset: v2 }
          weight: 50
          headers:
            request: { set: { x-dest: v2, x-order: dest } }
            response: { add: { x-dest-resp: v2 }, set: { x-order: dest } }
    - headers:
        request:
          set:
            x-set: set-by-mesh
            x-client-ip: "%DOWNSTREAM_REMOTE_ADDRESS_WITHOUT_PORT%"
            x-both: route
          add: { x-add: added }
          remove: [x-remove]
        response:
          set: { x-resp-set: "yes", x-resp-both: route }
          add: { x-resp-add: more }
          remove: [x-resp-remove]
      route:
        - destination: { host: echo, subset: v1 }
          headers:
            request:
              set: { x-single-dest: "1", x-both: dest }
              add: { x-dest-add: dest-added }
              remove: [x-dest-remove]
            response:
              set: { x-resp-dest-set: dest, x-resp-both: dest }
              add: { x-resp-dest-add: dest-more }
              remove: [x-resp-dest-remove]`,
);

const MIRROR = vs(
  'mirror',
  `  hosts: [mirror]
  http:
    - match: [{ uri: { prefix: /all } }]
      mirror: { host: shadow, subset: a }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /failing } }]
      mirror: { host: shadow, subset: a }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /half } }]
      mirror: { host: shadow, subset: a }
      mirrorPercentage: { value: 50 }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /legacy } }]
      mirror: { host: shadow, subset: a }
      mirrorPercent: 25
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /many } }]
      mirrors:
        - destination: { host: shadow, subset: a }
        - destination: { host: shadow, subset: b }
          percentage: { value: 50 }
      route: [{ destination: { host: echo, subset: v1 } }]`,
);

const REDIRECT = vs(
  'redirect',
  `  hosts: [redirect]
  http:
    - match: [{ uri: { prefix: /uri } }]
      redirect: { uri: /new }
    - match: [{ uri: { exact: /authority } }]
      redirect: { authority: other.example }
    - match: [{ uri: { exact: /port } }]
      redirect: { port: 8443 }
    - match: [{ uri: { exact: /derive-request } }]
      redirect: { uri: /x, authority: other.example, derivePort: FROM_REQUEST_PORT }
    - match: [{ uri: { exact: /derive-default } }]
      redirect: { uri: /x, authority: other.example, derivePort: FROM_PROTOCOL_DEFAULT }
    - match: [{ uri: { exact: /scheme } }]
      redirect: { scheme: https }
    - match: [{ uri: { exact: /code } }]
      redirect: { uri: /x, redirectCode: 307 }
    - match: [{ uri: { exact: /direct-string } }]
      directResponse: { status: 418, body: { string: "short and stout" } }
    - match: [{ uri: { exact: /direct-bytes } }]
      directResponse: { status: 200, body: { bytes: "${Buffer.from('bytes!').toString('base64')}" } }`,
);

const REWRITE = vs(
  'rewrite',
  `  hosts: [rewrite]
  http:
    - match: [{ uri: { prefix: /old/ } }]
      rewrite: { uri: /new/ }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /auth } }]
      rewrite: { authority: rewritten.example }
      route: [{ destination: { host: echo, subset: v1 } }]
    - match: [{ uri: { prefix: /rx/ } }]
      rewrite: { uriRegexRewrite: { match: "^/rx/([^/]+)/(.*)$", rewrite: "/\\\\2/from/\\\\1" } }
      route: [{ destination: { host: echo, subset: v1 } }]`,
);

const DELEGATE = [
  vs(
    'delegated',
    `  hosts: [delegated]
  http:
    - name: team
      match: [{ uri: { prefix: /team } }]
      delegate: { name: team-routes, namespace: team }
    - ${routeTo('root-default')}`,
  ),
  vs(
    'team-routes',
    `  http:
    - match: [{ uri: { prefix: /team/v2 } }]
      headers: { response: { set: { x-route: delegate-v2 } } }
      route: [{ destination: { host: echo.default.svc.cluster.local, subset: v2 } }]
    - headers: { response: { set: { x-route: delegate-rest } } }
      route: [{ destination: { host: echo.default.svc.cluster.local, subset: v1 } }]`,
    'team',
  ),
];

const retryRoute = (path: string, retries: string, extra = '') => `
    - match: [{ uri: { prefix: ${path} } }]
      retries: ${retries}
      ${extra}route: [{ destination: { host: echo, subset: v1 } }]`;

const RETRY = vs(
  'retry',
  `  hosts: [retry]
  http:${[
    retryRoute('/5xx', '{ attempts: 3, retryOn: 5xx, backoff: 10ms }'),
    retryRoute('/none', '{ attempts: 0 }'),
    retryRoute('/gateway-error', '{ attempts: 2, retryOn: gateway-error }'),
    retryRoute('/4xx', '{ attempts: 2, retryOn: retriable-4xx }'),
    retryRoute('/codes', '{ attempts: 2, retryOn: "418" }'),
    retryRoute('/headers', '{ attempts: 2, retryOn: retriable-headers }'),
    retryRoute(
      '/grpc',
      '{ attempts: 2, retryOn: "cancelled,deadline-exceeded,internal,resource-exhausted,unavailable" }',
    ),
    retryRoute('/reset', '{ attempts: 2, retryOn: reset }'),
    retryRoute('/pertry', '{ attempts: 2, retryOn: 5xx, perTryTimeout: 300ms }'),
    retryRoute(
      '/remote',
      '{ attempts: 2, retryOn: 5xx, retryRemoteLocalities: true, backoff: 5ms }',
    ),
    retryRoute('/timeout', '{ attempts: 0 }', 'timeout: 300ms\n      '),
    retryRoute('/backoff', '{ attempts: 1, retryOn: 5xx, backoff: 500ms }'),
    retryRoute('/nobackoff', '{ attempts: 1, retryOn: 5xx }'),
  ].join('')}`,
);

const EXT = (livePort: number, closedPort: number) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ext }
spec:
  hosts: [ext.example.test]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints:
    - { address: 127.0.0.1, ports: { http: ${closedPort} } }
    - { address: 127.0.0.1, ports: { http: ${livePort} } }
---${vs(
  'ext',
  `  hosts: [ext.example.test]
  http:
    - match: [{ uri: { prefix: /cf } }]
      retries: { attempts: 2, retryOn: connect-failure }
      route: [{ destination: { host: ext.example.test } }]
    - match: [{ uri: { prefix: /nf } }]
      retries: { attempts: 0 }
      route: [{ destination: { host: ext.example.test } }]
`,
)}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: live }
spec:
  hosts: [live.example.test]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${livePort} } }]
---${vs(
  'live',
  `  hosts: [live.example.test]
  http:
    - match: [{ uri: { exact: /reset } }]
      retries: { attempts: 2, retryOn: reset }
      route: [{ destination: { host: live.example.test } }]
    - match: [{ uri: { exact: /reset-none } }]
      retries: { attempts: 0 }
      route: [{ destination: { host: live.example.test } }]`,
)}`;

/** Response headers that show what the client's sidecar recorded for the request. */
const FLAG_HEADERS = `headers:
        response:
          set: { x-flags: "%RESPONSE_FLAGS%", x-details: "%RESPONSE_CODE_DETAILS%" }`;

const flagRoute = (path: string, host: string, extra = '') => `
    - match: [{ uri: { prefix: ${path} } }]
      ${FLAG_HEADERS}
      ${extra}route: [{ destination: { host: ${host} } }]`;

const serviceEntry = (name: string, host: string, ports: number[], protocol = 'HTTP') => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name} }
spec:
  hosts: [${host}]
  location: MESH_EXTERNAL
  resolution: STATIC
  ports: [{ number: 80, name: ${protocol.toLowerCase()}, protocol: ${protocol} }]
  endpoints:
${ports.map((p) => `    - { address: 127.0.0.1, ports: { ${protocol.toLowerCase()}: ${p} } }`).join('\n')}`;

/**
 * Response flags and details through %RESPONSE_FLAGS% / %RESPONSE_CODE_DETAILS% in route
 * response headers; an HTTP/2 upstream that refuses streams; a circuit breaker of one request.
 */
const FLAGS = (o: { livePort: number; closedPort: number; h2Port: number }) =>
  [
    serviceEntry('closed', 'closed.example.test', [o.closedPort]),
    serviceEntry('held', 'held.example.test', [o.livePort]),
    serviceEntry('h2', 'h2.example.test', [o.h2Port], 'HTTP2'),
    `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: held }
spec:
  host: held.example.test
  trafficPolicy: { connectionPool: { http: { http2MaxRequests: 1 } } }`,
    vs(
      'flags',
      `  hosts: [flags]
  http:${[
    flagRoute('/uh', 'nohost'),
    flagRoute('/ut', 'echo', 'timeout: 300ms\n      retries: { attempts: 0 }\n      '),
    flagRoute('/urx', 'echo', 'retries: { attempts: 1, retryOn: 5xx }\n      '),
    flagRoute(
      '/di',
      'echo',
      'fault: { delay: { fixedDelay: 1ms, percentage: { value: 100 } } }\n      ',
    ),
    flagRoute(
      '/fi',
      'echo',
      'fault: { abort: { httpStatus: 503, percentage: { value: 100 } } }\n      ',
    ),
    flagRoute('/uf', 'closed.example.test', 'retries: { attempts: 0 }\n      '),
    flagRoute('/uc', 'live.example.test', 'retries: { attempts: 0 }\n      '),
    flagRoute('/uo', 'held.example.test', 'retries: { attempts: 0 }\n      '),
    flagRoute('/', 'echo'),
  ].join('')}`,
    ),
    vs(
      'h2',
      `  hosts: [h2.example.test]
  http:${[
    flagRoute(
      '/refused-none',
      'h2.example.test',
      'retries: { attempts: 2, retryOn: connect-failure }\n      ',
    ),
    flagRoute(
      '/refused',
      'h2.example.test',
      'retries: { attempts: 2, retryOn: refused-stream }\n      ',
    ),
  ].join('')}`,
    ),
  ].join('\n---');

/** Two localities of one service, and a client in the first (retryRemoteLocalities). */
const LOCALITY = [
  workload(
    'loc-near',
    'default',
    'app: loc, version: near, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1',
    'echo.mjs',
    'VERSION: near',
    SHADOW_PORTS,
  ),
  workload(
    'loc-far',
    'default',
    'app: loc, version: far, topology.kubernetes.io/region: r2, topology.kubernetes.io/zone: z2',
    'echo.mjs',
    'VERSION: far',
    SHADOW_PORTS,
  ),
  workload(
    'client-loc',
    'default',
    'app: client-loc, topology.kubernetes.io/region: r1, topology.kubernetes.io/zone: z1',
    'idle.mjs',
    '',
    '',
  ),
  service('loc', 'loc'),
  // Istio's locality failover (localities as priorities) needs outlier detection; this one
  // never ejects within the test.
  `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: loc }
spec:
  host: loc
  trafficPolicy:
    outlierDetection: { consecutive5xxErrors: 100000, interval: 1h, baseEjectionTime: 1s }`,
  vs(
    'loc',
    `  hosts: [loc]
  http:
    - match: [{ uri: { prefix: /remote } }]
      retries: { attempts: 2, retryOn: 5xx, retryRemoteLocalities: true }
      route: [{ destination: { host: loc } }]
    - retries: { attempts: 2, retryOn: 5xx }
      route: [{ destination: { host: loc } }]`,
  ),
];

/** Two VirtualServices for one gateway host: Istio merges them, the first one's routes first. */
const MERGED = [
  vs(
    'merge-a',
    `  hosts: [merge.example.com]
  gateways: [ingress]
  http:
    - match: [{ uri: { prefix: /a } }]
      ${routeTo('merge-a').replace('subset: v1 }', 'subset: v1, port: { number: 9080 } }')}
    - match: [{ uri: { prefix: /both } }]
      ${routeTo('merge-a-both').replace('subset: v1 }', 'subset: v1, port: { number: 9080 } }')}`,
  ),
  vs(
    'merge-b',
    `  hosts: [merge.example.com]
  gateways: [ingress]
  http:
    - match: [{ uri: { prefix: /b } }]
      ${routeTo('merge-b').replace('subset: v1 }', 'subset: v1, port: { number: 9080 } }')}
    - match: [{ uri: { prefix: /both } }]
      ${routeTo('merge-b-both').replace('subset: v1 }', 'subset: v1, port: { number: 9080 } }')}
    - ${routeTo('merge-b-default').replace('subset: v1 }', 'subset: v1, port: { number: 9080 } }')}`,
  ),
];

const subsets = (host: string, names: [string, string][]) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host} }
spec:
  host: ${host}
  subsets:
${names.map(([n, v]) => `    - { name: ${n}, labels: { version: ${v} } }`).join('\n')}`;

const GATEWAY = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: ingress }
spec:
  selector: { istio: ingressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [matchy.example.com, merge.example.com] }]`;

export function MESH(o: { livePort: number; closedPort: number; h2Port: number }): string {
  return [
    workload('echo-v1', 'default', 'app: echo, version: v1', 'echo.mjs', 'VERSION: v1', ECHO_PORTS),
    workload('echo-v2', 'default', 'app: echo, version: v2', 'echo.mjs', 'VERSION: v2', ECHO_PORTS),
    workload(
      'shadow-a',
      'default',
      'app: shadow, version: a',
      'echo.mjs',
      'VERSION: a, ROLE: shadow',
      SHADOW_PORTS,
    ),
    workload(
      'shadow-b',
      'default',
      'app: shadow, version: b',
      'echo.mjs',
      'VERSION: b, ROLE: shadow',
      SHADOW_PORTS,
    ),
    workload('client-a', 'default', 'app: client, version: a', 'idle.mjs', '', ''),
    workload('client-b', 'default', 'app: client, version: b', 'idle.mjs', '', ''),
    workload('client-other', 'other', 'app: client', 'idle.mjs', '', ''),
    service('echo', 'echo', ', { name: http-alt, port: 9081, targetPort: alt }'),
    service('matchy', 'echo', ', { name: http-alt, port: 9081, targetPort: alt }'),
    ...[
      'faults',
      'cors',
      'headers',
      'mirror',
      'redirect',
      'rewrite',
      'delegated',
      'retry',
      'flags',
    ].map((n) => service(n, 'echo')),
    service('shadow', 'shadow'),
    service('nohost', 'nobody'),
    subsets('echo', [
      ['v1', 'v1'],
      ['v2', 'v2'],
    ]),
    subsets('shadow', [
      ['a', 'a'],
      ['b', 'b'],
    ]),
    GATEWAY,
    MATCHY,
    FAULTS,
    CORS,
    HEADERS,
    MIRROR,
    REDIRECT,
    REWRITE,
    ...DELEGATE,
    RETRY,
    EXT(o.livePort, o.closedPort),
    FLAGS(o),
    ...LOCALITY,
    ...MERGED,
  ].join('\n---');
}
