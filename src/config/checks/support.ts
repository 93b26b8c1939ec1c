// What skiff validates but does not apply yet: each use gets a warning, so nobody believes a
// rule is in force when it is not. The table shrinks as features land.
import type { KindName } from '../kinds.js';
import type { FieldPath } from '../locate.js';
import type { Reporter } from '../report.js';
import { isObject } from './common.js';

/** Field paths under `spec` (`*` = every list item or map entry) that have no effect yet. */
const NOT_APPLIED: Partial<Record<KindName, readonly string[]>> = {
  VirtualService: [
    'http.*.fault',
    'http.*.mirror',
    'http.*.mirrors',
    'http.*.mirrorPercentage',
    'http.*.mirrorPercent',
    'http.*.corsPolicy',
    'http.*.headers',
    'http.*.route.*.headers',
    'http.*.delegate',
    'http.*.match.*.sourceLabels',
    'http.*.match.*.sourceNamespace',
    'http.*.rewrite.uriRegexRewrite',
    'http.*.redirect.derivePort',
    'tcp',
    'tls',
  ],
  DestinationRule: [
    'trafficPolicy.outlierDetection',
    'trafficPolicy.tls',
    'trafficPolicy.loadBalancer.consistentHash',
    'trafficPolicy.loadBalancer.localityLbSetting',
    'trafficPolicy.loadBalancer.warmupDurationSecs',
    'trafficPolicy.tunnel',
    'trafficPolicy.proxyProtocol',
    'subsets.*.trafficPolicy.outlierDetection',
    'subsets.*.trafficPolicy.tls',
    'subsets.*.trafficPolicy.loadBalancer.consistentHash',
    'workloadSelector',
  ],
  Gateway: ['servers.*.tls'],
  ServiceEntry: ['subjectAltNames'],
};

/** Kinds that are validated but not yet applied at all. */
const KIND_NOT_APPLIED: ReadonlySet<KindName> = new Set<KindName>([
  'Sidecar',
  'WorkloadGroup',
  'PeerAuthentication',
  'RequestAuthentication',
  'AuthorizationPolicy',
  'Telemetry',
]);

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
