// What skiff validates but does not apply yet: each use gets a warning, so nobody believes a
// rule is in force when it is not. The table shrinks as features land.
import type { KindName } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { isObject } from './common.js';

/** Field paths under `spec` (`*` = every list item or map entry) that have no effect yet. */
const NOT_APPLIED: Partial<Record<KindName, readonly string[]>> = {
  VirtualService: [
    // Local mode's client connections all come from loopback: source subnets have no address
    // to tell them apart by (tcp[] and tls[] routes, destinationSubnets too, are applied).
    'tcp.*.match.*.sourceSubnet',
  ],
  DestinationRule: [
    // tls (DISABLE, SIMPLE, MUTUAL, ISTIO_MUTUAL, credentialName) is applied (cluster-tls.ts).
    'trafficPolicy.tunnel',
    'trafficPolicy.proxyProtocol',
  ],
  // PASSTHROUGH, SIMPLE and MUTUAL with a credentialName, and ISTIO_MUTUAL, are applied (HTTPS
  // servers); OPTIONAL_MUTUAL, certificates from files and certificate pinning are not yet.
  Gateway: [
    'servers.*.tls.mode=OPTIONAL_MUTUAL',
    'servers.*.tls.serverCertificate',
    'servers.*.tls.privateKey',
    'servers.*.tls.caCertificates',
    'servers.*.tls.verifyCertificateSpki',
    'servers.*.tls.verifyCertificateHash',
  ],
  ServiceEntry: ['subjectAltNames'],
  // jwtRules are applied (generate/jwt-authn.ts); Gateway API attachment binds to no skiff proxy.
  RequestAuthentication: ['targetRef', 'targetRefs'],
  // metrics, tracing and accessLogging are applied (generate/telemetry-metrics.ts, tracing.ts,
  // access-log.ts); Gateway API attachment binds to no skiff proxy.
  Telemetry: ['targetRef', 'targetRefs'],
  // Local mode has one HTTP proxy listener and loopback listeners: no bind addresses, no capture.
  Sidecar: [
    'inboundConnectionPool',
    'ingress.*.connectionPool',
    'ingress.*.tls',
    'ingress.*.bind',
    'egress.*.bind',
    'egress.*.captureMode',
  ],
};

/** Kinds that are validated but not yet applied at all. */
const KIND_NOT_APPLIED: ReadonlySet<KindName> = new Set<KindName>(['WorkloadGroup']);

function visit(
  value: unknown,
  parts: readonly string[],
  at: FieldPath,
  found: (path: FieldPath) => void,
): void {
  if (parts.length === 0) {
    if (value !== undefined) found(at);
    return;
  }
  const [head, ...rest] = parts;
  if (head === '*') {
    if (Array.isArray(value)) value.forEach((v, i) => visit(v, rest, [...at, i], found));
    else if (isObject(value))
      for (const [k, v] of Object.entries(value)) visit(v, rest, [...at, k], found);
    return;
  }
  // `key!=VALUE` (last part): only a value other than VALUE is not applied.
  const ne = head?.indexOf('!=') ?? -1;
  if (head !== undefined && ne > 0) {
    const key = head.slice(0, ne);
    if (isObject(value) && key in value && value[key] !== head.slice(ne + 2)) found([...at, key]);
    return;
  }
  // `key=VALUE` (last part): only that value is not applied.
  const eq = head?.indexOf('=') ?? -1;
  if (head !== undefined && eq > 0) {
    const key = head.slice(0, eq);
    if (isObject(value) && key in value && value[key] === head.slice(eq + 1)) found([...at, key]);
    return;
  }
  if (isObject(value) && head !== undefined && head in value)
    visit(value[head], rest, [...at, head], found);
}

export function checkSupport(kind: KindName, spec: unknown, report: Reporter): void {
  if (KIND_NOT_APPLIED.has(kind)) {
    report.documentWarning(`${kind} is validated but not applied by skiff yet`);
    return;
  }
  for (const pattern of NOT_APPLIED[kind] ?? []) {
    visit(spec, pattern.split('.'), ['spec'], (path) =>
      report.warn(path, 'not applied by skiff yet', 'key'),
    );
  }
}
