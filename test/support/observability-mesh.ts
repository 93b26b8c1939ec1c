// The mesh test/observability-prometheus.test.ts runs: two versions of `web` behind the ingress
// gateway (x-version: v2 picks v2, else v1). v1 answers at once, 500 when asked (x-fail: 1), and
// asks for metrics merging (prometheus.io/* annotations) of its own /metrics; v2 sleeps 150 ms.

/** An app that counts what it served, answers VERSION, fails on x-fail: 1, sleeps DELAY_MS. */
export const WEB_APP = `
import http from 'node:http';
const version = process.env.VERSION;
const delay = Number(process.env.DELAY_MS ?? 0);
let served = 0;
const server = http.createServer((req, res) => {
  if (req.url === '/metrics') {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end('# HELP web_app_requests_total Requests the app served.\\n' +
      '# TYPE web_app_requests_total counter\\n' +
      'web_app_requests_total ' + served + '\\n');
    return;
  }
  served++;
  const fail = req.headers['x-fail'] === '1';
  setTimeout(() => {
    res.writeHead(fail ? 500 : 200, { 'content-type': 'text/plain' });
    res.end(fail ? 'failed on purpose' : version);
  }, delay);
});
server.keepAliveTimeout = 60_000;
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.closeAllConnections(); process.exit(0); });
`;

/** How long v2 takes to answer: its durations land in Istio's (100, 250] ms bucket. */
export const V2_DELAY_MS = 150;

export const MESH = `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata:
  name: web-v1
  labels: { app: web, version: v1 }
  annotations:
    prometheus.io/scrape: "true"
    prometheus.io/port: "8080"
    prometheus.io/path: /metrics
spec:
  command: [node, web.mjs]
  env: { VERSION: v1, DELAY_MS: "0" }
  ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata:
  name: web-v2
  labels: { app: web, version: v2 }
spec:
  command: [node, web.mjs]
  env: { VERSION: v2, DELAY_MS: "${V2_DELAY_MS}" }
  ports: [{ name: http, containerPort: 8080 }]
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: web }
spec:
  host: web
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: web-gateway }
spec:
  selector: { istio: ingressgateway }
  servers:
    - port: { number: 80, name: http, protocol: HTTP }
      hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: web }
spec:
  hosts: ["*"]
  gateways: [web-gateway]
  http:
    - match: [{ headers: { x-version: { exact: v2 } } }]
      route: [{ destination: { host: web, subset: v2 } }]
    - route: [{ destination: { host: web, subset: v1 } }]
`;
