// A realistic rule set for the outbound sidecar to carry while it is measured: 20 Services,
// each with a DestinationRule (subsets) and a VirtualService of regex and header matches, and
// `echo`'s own VirtualService with 19 regex/header routes that do not match before the one that
// does — so every benchmark request walks them.
import { SERVICE_HOST, SERVICE_PORT } from './types.js';

export const RULE_SERVICES = 20;

function service(i: number): string {
  return `apiVersion: v1
kind: Service
metadata: { name: svc-${i} }
spec:
  selector: { app: svc-${i} }
  ports: [{ name: http, port: ${SERVICE_PORT} }]
`;
}

function destinationRule(host: string): string {
  return `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: ${host} }
spec:
  host: ${host}
  trafficPolicy:
    connectionPool: { http: { maxRequestsPerConnection: 0 } }
  subsets:
    - { name: v1, labels: { version: v1 } }
    - { name: v2, labels: { version: v2 } }
`;
}

/** Routes that do not match the benchmark's `GET /`: regex paths, headers, a query parameter. */
function decoyRoutes(host: string, n: number): string {
  const routes: string[] = [];
  for (let i = 0; i < n; i++) {
    routes.push(`    - match:
        - uri: { regex: '/api/v${i}/[a-z]+/[0-9]{1,6}(/.*)?' }
        - headers: { x-tenant: { regex: 'tenant-${i}-[a-f0-9]{8}' } }
        - queryParams: { canary: { exact: 'c${i}' } }
      route:
        - { destination: { host: ${host}, subset: v2 }, weight: 10 }
        - { destination: { host: ${host}, subset: v1 }, weight: 90 }`);
  }
  return routes.join('\n');
}

function virtualService(host: string, decoys: number, last: string): string {
  return `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${host} }
spec:
  hosts: [${host}]
  http:
${decoyRoutes(host, decoys)}
    - match: [{ uri: { regex: '/.*' } }]
      route: [{ destination: { host: ${last} } }]
`;
}

/** The YAML of the rule set: 20 VirtualServices and 20 DestinationRules (19 + echo's). */
export function rulesYaml(): string {
  const docs: string[] = [];
  for (let i = 0; i < RULE_SERVICES - 1; i++) {
    docs.push(service(i), destinationRule(`svc-${i}`), virtualService(`svc-${i}`, 3, `svc-${i}`));
  }
  docs.push(
    destinationRule(SERVICE_HOST),
    virtualService(SERVICE_HOST, RULE_SERVICES - 1, SERVICE_HOST),
  );
  return `# Written by skiff's benchmark: the rule set of the skiff-rules target.\n${docs.join('---\n')}`;
}
