// Validates one parsed document: what kind it is, then schema (types, unknown fields), then
// meaning (istiod's rules); yields a resource when nothing is wrong, and every problem found.
import { checkAuthorizationPolicy } from './checks/authorization.js';
import { checkPeerAuthentication, checkRequestAuthentication } from './checks/authentication.js';
import type { CheckContext } from './checks/common.js';
import { CONFIG_MAP_FIELDS, checkMeshConfigMap, normalizeConfigMap } from './checks/config-map.js';
import { isObject } from './checks/common.js';
import { checkDestinationRule } from './checks/destination-rule.js';
import { checkGateway } from './checks/gateway.js';
import {
  checkSecret,
  checkService,
  normalizeSecret,
  normalizeService,
  SECRET_FIELDS,
  SERVICE_SPEC,
} from './checks/kubernetes.js';
import { checkMetadata } from './checks/metadata.js';
import type { NameRule } from './checks/metadata.js';
import {
  checkServiceEntry,
  checkWorkloadEntry,
  checkWorkloadGroup,
} from './checks/service-entry.js';
import { checkSidecar } from './checks/sidecar.js';
import { checkSupport } from './checks/support.js';
import { checkTelemetry } from './checks/telemetry.js';
import { checkVirtualService } from './checks/virtual-service.js';
import { checkWorkload, normalizeWorkload, WORKLOAD_SPEC } from './checks/workload.js';
import { checkUnknownFields, unknownFieldMessage } from './fields.js';
import { classifyKind, Kind } from './kinds.js';
import { isMeshConfigMap } from './mesh-config.js';
import type { KindClass, KindName } from './kinds.js';
import type { Locator } from './locate.js';
import { Reporter } from './report.js';
import type { ConfigProblem, ConfigResource } from './resource.js';
import { checkIstioSchema } from './schema.js';
import { checkShape } from './shape.js';

export interface DocumentInput {
  /** The document as plain JSON values. */
  readonly value: unknown;
  readonly file: string;
  readonly locator: Locator;
  readonly defaultNamespace: string;
}

export interface DocumentResult {
  /** Present when the document has no errors and is a kind skiff keeps. */
  readonly resource?: ConfigResource;
  readonly problems: readonly ConfigProblem[];
}

// The meaning checks of the Istio kinds; the schema has passed when they run, so specs conform to their types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const ISTIO_CHECKS: Partial<Record<KindName, (spec: any, ctx: CheckContext) => void>> = {
  VirtualService: checkVirtualService,
  DestinationRule: checkDestinationRule,
  Gateway: checkGateway,
  ServiceEntry: checkServiceEntry,
  WorkloadEntry: checkWorkloadEntry,
  WorkloadGroup: checkWorkloadGroup,
  Sidecar: checkSidecar,
  AuthorizationPolicy: checkAuthorizationPolicy,
  PeerAuthentication: checkPeerAuthentication,
  RequestAuthentication: checkRequestAuthentication,
  Telemetry: checkTelemetry,
};

const TOP_LEVEL = ['apiVersion', 'kind', 'metadata', 'spec', 'status'];

function nameRule(kind: string): NameRule {
  // Gateway names become listener and route names (istiod wants a DNS label); Service names are DNS-1035.
  if (kind === Kind.Gateway) return 'label';
  if (kind === Kind.Service) return '1035';
  return 'subdomain';
}

/**
 * Drops null-valued keys, as the Kubernetes API server prunes them before validation (a field
 * set to null is unset). Null list items stay: the schema checks reject them.
 */
function pruneNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(pruneNulls);
  if (!isObject(value)) return value;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = pruneNulls(v);
  return out;
}

/**
 * Schema, then meaning (only when the types are right, so the meaning checks can trust them);
 * returns how to build the resource's spec once there are no errors.
 */
function checkBody(
  kindOf: Exclude<KindClass, { type: 'ignored' | 'unknown' }>,
  doc: Record<string, unknown>,
  ctx: CheckContext & { readonly locator: Locator },
  metadataErrors: number,
): () => unknown {
  const { report } = ctx;
  const spec = doc['spec'] ?? {};
  let structural = metadataErrors;
  switch (kindOf.type) {
    case 'istio':
      // metadata was checked above, by skiff's own rules.
      structural += checkIstioSchema({ ...doc, spec, metadata: {} }, kindOf.gvk, report);
      checkUnknownFields(kindOf.gvk, spec, report);
      if (structural === 0) ISTIO_CHECKS[kindOf.kind]?.(spec, ctx);
      if (report.errorCount === 0 && kindOf.supported) checkSupport(kindOf.kind, spec, report);
      if (!kindOf.supported) {
        report.documentWarning(
          `${kindOf.kind} is not supported by skiff: it is validated but has no effect`,
        );
      }
      return () => spec;
    case 'kubernetes':
      if (kindOf.kind === Kind.ConfigMap) {
        for (const [field, shape] of Object.entries(CONFIG_MAP_FIELDS)) {
          if (doc[field] !== undefined)
            structural += checkShape(doc[field], shape, [field], report);
        }
        const sink = { at: report.atLine.bind(report) };
        if (structural === 0) checkMeshConfigMap(doc, { ...ctx, sink });
        return () => normalizeConfigMap(doc);
      }
      if (kindOf.kind === Kind.Secret) {
        for (const [field, shape] of Object.entries(SECRET_FIELDS)) {
          if (doc[field] !== undefined)
            structural += checkShape(doc[field], shape, [field], report);
        }
        if (structural === 0) checkSecret(doc, ctx);
        return () => normalizeSecret(doc);
      }
      structural += checkShape(spec, SERVICE_SPEC, ['spec'], report);
      if (structural === 0) checkService(spec, ctx);
      return () => normalizeService(spec);
    case 'skiff':
      structural += checkShape(spec, WORKLOAD_SPEC, ['spec'], report);
      if (structural === 0) checkWorkload(spec, ctx);
      return () => normalizeWorkload(spec);
  }
}

export function validateDocument(input: DocumentInput): DocumentResult {
  const { file, locator } = input;
  const value = pruneNulls(input.value);
  const doc = isObject(value) ? value : undefined;
  const meta = isObject(doc?.['metadata']) ? doc['metadata'] : {};
  const name = typeof meta['name'] === 'string' ? meta['name'] : '';
  const namespace =
    typeof meta['namespace'] === 'string' ? meta['namespace'] : input.defaultNamespace;
  const apiVersion = doc?.['apiVersion'];
  const rawKind = doc?.['kind'];
  const kindOf =
    typeof apiVersion === 'string' && typeof rawKind === 'string'
      ? classifyKind(apiVersion, rawKind)
      : undefined;
  const kind =
    kindOf && 'kind' in kindOf ? kindOf.kind : typeof rawKind === 'string' ? rawKind : '';
  const report = new Reporter({ file, kind, namespace, name, locator });

  if (!doc) {
    report.documentError('a document must be a mapping with apiVersion and kind');
    return { problems: report.problems };
  }
  if (typeof apiVersion !== 'string' || typeof rawKind !== 'string' || !kindOf) {
    if (typeof apiVersion !== 'string')
      report.error(['apiVersion'], 'apiVersion is required (a string)', 'key');
    if (typeof rawKind !== 'string') report.error(['kind'], 'kind is required (a string)', 'key');
    return { problems: report.problems };
  }
  if (kindOf.type === 'ignored') {
    report.documentWarning(`ignored: skiff does not run ${rawKind} (${apiVersion})`);
    return { problems: report.problems };
  }
  if (kindOf.type === 'unknown') {
    report.error(['kind'], kindOf.message);
    return { problems: report.problems };
  }

  // Of the ConfigMaps, skiff keeps Istio's mesh config only (as istiod reads only that one).
  if (kindOf.kind === Kind.ConfigMap && !isMeshConfigMap(name, namespace)) {
    report.documentWarning(
      "ignored: the only ConfigMap skiff reads is Istio's mesh config, istio-system/istio",
    );
    return { problems: report.problems };
  }
  const isSecret = kindOf.kind === Kind.Secret;
  const known = isSecret
    ? ['apiVersion', 'kind', 'metadata', ...Object.keys(SECRET_FIELDS)]
    : kindOf.kind === Kind.ConfigMap
      ? ['apiVersion', 'kind', 'metadata', ...Object.keys(CONFIG_MAP_FIELDS)]
      : TOP_LEVEL;
  for (const key of Object.keys(doc)) {
    if (!known.includes(key)) report.error([key], unknownFieldMessage(key, known), 'key');
  }
  const structural = checkMetadata(report, doc['metadata'], nameRule(kindOf.kind));
  const ctx: CheckContext = {
    report,
    namespace,
    name,
    labels: isObject(meta['labels']) ? (meta['labels'] as Record<string, string>) : {},
  };
  const normalize = checkBody(kindOf, doc, { ...ctx, locator }, structural);
  // Checks run field by field, not line by line: present the document's problems in line order.
  report.problems.sort((a, b) => a.line - b.line);
  if (report.errorCount > 0) return { problems: report.problems };
  const resource: ConfigResource = {
    apiVersion,
    kind: kindOf.kind,
    metadata: {
      name,
      namespace,
      labels: ctx.labels,
      annotations: isObject(meta['annotations'])
        ? (meta['annotations'] as Record<string, string>)
        : {},
    },
    spec: normalize(),
    source: { file, line: locator.documentLine },
  };
  return { resource, problems: report.problems };
}
