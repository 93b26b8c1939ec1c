// skiff-secure's extra config: mTLS on every hop (a mesh-wide PeerAuthentication STRICT, so the
// client sidecar originates ISTIO_MUTUAL and the echo sidecar refuses plaintext) and an ALLOW
// AuthorizationPolicy on echo with a few rules, the first of which every benchmark request matches.
import { SERVICE_HOST } from './types.js';

/** mTLS off mesh-wide: the client sidecar's auto mTLS then sends plaintext (Istio's rule). */
export const PLAINTEXT_YAML = `# Written by skiff's benchmark (skiff-plaintext, skiff-rules).
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: DISABLE }
`;

/** The client Workload's identity (its default service account) as a SPIFFE principal. */
export const CLIENT_PRINCIPAL = 'cluster.local/ns/default/sa/default';

export function secureYaml(): string {
  return `# Written by skiff's benchmark (skiff-secure).
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: { name: default, namespace: istio-system }
spec:
  mtls: { mode: STRICT }
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: ${SERVICE_HOST}-allow, namespace: default }
spec:
  selector: { matchLabels: { app: echo } }
  action: ALLOW
  rules:
    - from: [{ source: { principals: ["${CLIENT_PRINCIPAL}"] } }]
      to: [{ operation: { methods: [GET, HEAD], paths: ["/", "/api/*", "*.json"] } }]
    - from: [{ source: { namespaces: [default] } }]
      to: [{ operation: { methods: [POST], paths: ["/api/*"] } }]
      when: [{ key: "request.headers[x-tenant]", values: ["tenant-*"] }]
    - from: [{ source: { notPrincipals: ["*/sa/blocked"] } }]
      to: [{ operation: { paths: ["/health"] } }]
`;
}

/** What a sidecar's admin server shows (telemetry.ts reads it for every variant). */
interface SidecarDump {
  readonly label: string;
  readonly configDump: string;
}

/**
 * What is wrong with skiff-secure's sidecars: both must hold TLS transport sockets (the client's
 * to originate mTLS, echo's to require it) and the inbound one the RBAC filter.
 */
export function checkSecure(sidecars: readonly SidecarDump[]): string[] {
  const problems: string[] = [];
  for (const s of sidecars) {
    if (!s.configDump.includes('"envoy.transport_sockets.tls"'))
      problems.push(`the ${s.label} sidecar has no TLS transport socket (no mTLS)`);
    if (s.label === 'inbound' && !s.configDump.includes('"envoy.filters.http.rbac"'))
      problems.push('the inbound sidecar has no envoy.filters.http.rbac filter');
  }
  return problems;
}
