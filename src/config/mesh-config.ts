// Istio's MeshConfig (istio.mesh.v1alpha1): the fields skiff reads, their defaults (Istio's), a
// validator that reports by field path, and the merge of one MeshConfig over another as istiod's
// ApplyMeshConfig does. Where it comes from (the `istio` ConfigMap, --mesh-config) is elsewhere.
import { durationProblem } from './checks/duration.js';
import { isObject } from './checks/common.js';
import { isDnsLabel } from './checks/names.js';
import type { FieldPath } from './locate.js';
import { KNOWN_MESH_FIELDS, KNOWN_PROXY_CONFIG_FIELDS } from './mesh-config-fields.js';

export type OutboundTrafficMode = 'ALLOW_ANY' | 'REGISTRY_ONLY';
export type AccessLogEncoding = 'TEXT' | 'JSON';
/** MeshConfig.ProxyPathNormalization.NormalizationType (DEFAULT reads as BASE). */
export type PathNormalization = 'NONE' | 'BASE' | 'MERGE_SLASHES' | 'DECODE_AND_MERGE_SLASHES';
const PATH_NORMALIZATIONS = [
  'DEFAULT',
  'NONE',
  'BASE',
  'MERGE_SLASHES',
  'DECODE_AND_MERGE_SLASHES',
];

/** One of MeshConfig.extensionProviders, as written (`name` plus one provider-kind key). */
export interface ExtensionProvider {
  readonly name: string;
  readonly [providerKind: string]: unknown;
}

export interface MeshConfig {
  /** Where mesh-wide config lives (DestinationRules, Sidecars applying to every namespace). */
  readonly rootNamespace: string;
  readonly trustDomain: string;
  readonly trustDomainAliases: readonly string[];
  /** Auto mTLS: ISTIO_MUTUAL to endpoints with sidecars when no DestinationRule sets tls (true). */
  readonly enableAutoMtls: boolean;
  /** ALLOW_ANY: unknown destinations pass through; REGISTRY_ONLY: they get 502 (BlackHole). */
  readonly outboundTrafficPolicy: { readonly mode: OutboundTrafficMode };
  /** Default connect timeout of generated clusters (Istio's 10s). */
  readonly connectTimeout: string;
  /** Retries of HTTP routes without `retries` (Istio's: 2 attempts, its retryOn list). */
  readonly defaultHttpRetryPolicy: { readonly attempts: number; readonly retryOn: string };
  /** exportTo of resources that set none (`*`, `.` or `~`). */
  readonly defaultServiceExportTo: readonly string[];
  readonly defaultVirtualServiceExportTo: readonly string[];
  readonly defaultDestinationRuleExportTo: readonly string[];
  /** ProxyConfig defaults, validated and kept as written (proxyMetadata merged). */
  readonly defaultConfig: Readonly<Record<string, unknown>>;
  /** Telemetry and authorization providers, merged by name over Istio's defaults. */
  readonly extensionProviders: readonly ExtensionProvider[];
  readonly defaultProviders: Readonly<Record<string, unknown>>;
  /** Tracing on every proxy (Istio's default true); spans go where the Telemetry API says. */
  readonly enableTracing: boolean;
  /** Every proxy's access log file ('' = none, Istio's default); `/dev/stdout` is common. */
  readonly accessLogFile: string;
  readonly accessLogEncoding: AccessLogEncoding;
  /** A text format, or (JSON encoding) a JSON map of keys to operators; '' = Istio's default. */
  readonly accessLogFormat: string;
  /** How proxies normalise request paths before routing and authorization (Istio's BASE). */
  readonly pathNormalization: { readonly normalization: PathNormalization };
}

/** Istio's retryOn when a retry policy names none (pilot's DefaultRetryPolicy). */
export const DEFAULT_RETRY_ON =
  'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes';

/** Istio's defaults (pkg/config/mesh DefaultMeshConfig), for the fields skiff reads. */
export const DEFAULT_MESH_CONFIG: MeshConfig = Object.freeze<MeshConfig>({
  rootNamespace: 'istio-system',
  trustDomain: 'cluster.local',
  trustDomainAliases: [],
  enableAutoMtls: true,
  outboundTrafficPolicy: { mode: 'ALLOW_ANY' },
  connectTimeout: '10s',
  defaultHttpRetryPolicy: { attempts: 2, retryOn: DEFAULT_RETRY_ON },
  defaultServiceExportTo: ['*'],
  defaultVirtualServiceExportTo: ['*'],
  defaultDestinationRuleExportTo: ['*'],
  defaultConfig: {},
  extensionProviders: [
    { name: 'prometheus', prometheus: {} },
    { name: 'stackdriver', stackdriver: {} },
    { name: 'envoy', envoyFileAccessLog: { path: '/dev/stdout' } },
  ],
  defaultProviders: {},
  enableTracing: true,
  accessLogFile: '',
  accessLogEncoding: 'TEXT',
  accessLogFormat: '',
  pathNormalization: { normalization: 'BASE' },
});

/** Where a problem with a MeshConfig field is reported; paths are from the MeshConfig's root. */
export interface MeshConfigSink {
  error(path: FieldPath, message: string): void;
  warn(path: FieldPath, message: string): void;
}

/** A MeshConfig as written: only the fields it sets (what ApplyMeshConfig lays over a base). */
export type MeshConfigOverlay = { -readonly [K in keyof MeshConfig]?: MeshConfig[K] };

const NOT_APPLIED = 'not applied by skiff yet';
const EXPORT_TO_VALUES = ['*', '.', '~'];

type FieldReader = (value: unknown, at: FieldPath, sink: MeshConfigSink) => unknown;

function stringOf(value: unknown, at: FieldPath, sink: MeshConfigSink): string | undefined {
  if (typeof value === 'string') return value;
  sink.error(at, `must be a string (got ${JSON.stringify(value)})`);
  return undefined;
}

function trustDomainProblem(domain: string): string | undefined {
  // istiod's ValidateTrustDomain: DNS labels separated by dots.
  if (domain === '') return 'trust domain must not be empty';
  if (!domain.split('.').every(isDnsLabel))
    return `trust domain "${domain}" must be DNS labels separated by dots (lower case)`;
  return undefined;
}

function exportToReader(kind: string): FieldReader {
  return (value, at, sink) => {
    if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
      sink.error(at, 'must be a list of strings');
      return undefined;
    }
    const list = value as string[];
    list.forEach((e, i) => {
      // Istio honours only these for defaults: everyone, the resource's namespace, no one.
      if (!EXPORT_TO_VALUES.includes(e))
        sink.error([...at, i], `default ${kind} exportTo "${e}" must be "*", "." or "~"`);
    });
    return [...list];
  };
}

function retryPolicyReader(value: unknown, at: FieldPath, sink: MeshConfigSink): unknown {
  if (!isObject(value)) {
    sink.error(at, 'must be an HTTPRetry (attempts, retryOn, ...)');
    return undefined;
  }
  const attempts = value['attempts'] ?? 0;
  if (typeof attempts !== 'number' || !Number.isInteger(attempts) || attempts < 0) {
    sink.error([...at, 'attempts'], 'attempts must be a non-negative integer');
    return undefined;
  }
  const retryOn = value['retryOn'] ?? DEFAULT_RETRY_ON;
  if (typeof retryOn !== 'string') {
    sink.error([...at, 'retryOn'], 'retryOn must be a string');
    return undefined;
  }
  for (const k of Object.keys(value)) {
    if (k === 'attempts' || k === 'retryOn') continue;
    if (k === 'perTryTimeout' && typeof value[k] === 'string') {
      const problem = durationProblem(value[k]);
      if (problem) sink.error([...at, k], problem);
    }
    sink.warn([...at, k], NOT_APPLIED);
  }
  return { attempts, retryOn: retryOn || DEFAULT_RETRY_ON };
}

/** ProxyConfig.gatewayTopology: numTrustedProxies applies (gateways' xff_num_trusted_hops). */
function gatewayTopologyCheck(v: unknown, at: FieldPath, sink: MeshConfigSink): void {
  if (!isObject(v)) {
    sink.error(at, 'must be a GatewayTopology (numTrustedProxies, ...)');
    return;
  }
  for (const [k, x] of Object.entries(v)) {
    if (k !== 'numTrustedProxies') sink.warn([...at, k], NOT_APPLIED);
    else if (typeof x !== 'number' || !Number.isInteger(x) || x < 0)
      sink.error([...at, k], 'numTrustedProxies must be a non-negative integer');
  }
}

/** ProxyConfig.tracing: `sampling` (percent) and max_path_tag_length apply; tracers are legacy. */
function tracingProxyConfigCheck(v: unknown, at: FieldPath, sink: MeshConfigSink): void {
  if (!isObject(v)) return void sink.error(at, 'must be a mapping (sampling, ...)');
  for (const [k, x] of Object.entries(v)) {
    if (k === 'sampling') {
      if (typeof x !== 'number' || x < 0 || x > 100)
        sink.error([...at, k], 'sampling must be a percentage between 0 and 100');
    } else if (k !== 'max_path_tag_length' && k !== 'maxPathTagLength')
      sink.warn([...at, k], `${NOT_APPLIED} (declare tracers in extensionProviders)`);
  }
}

function proxyConfigReader(value: unknown, at: FieldPath, sink: MeshConfigSink): unknown {
  if (!isObject(value)) {
    sink.error(at, 'must be a ProxyConfig (a mapping)');
    return undefined;
  }
  for (const [k, v] of Object.entries(value)) {
    if (!KNOWN_PROXY_CONFIG_FIELDS.has(k)) {
      sink.warn([...at, k], 'unknown ProxyConfig field: ignored, as istiod ignores it');
      continue;
    }
    if (
      k === 'proxyMetadata' &&
      (!isObject(v) || Object.values(v).some((x) => typeof x !== 'string'))
    )
      sink.error([...at, k], 'proxyMetadata must map names to strings');
    else if (k === 'tracing') tracingProxyConfigCheck(v, [...at, k], sink);
    else if (k === 'gatewayTopology') gatewayTopologyCheck(v, [...at, k], sink);
    else sink.warn([...at, k], NOT_APPLIED);
  }
  return { ...value };
}

/** Provider kinds skiff uses: Prometheus metrics, Zipkin and OpenTelemetry tracing, file logs. */
const APPLIED_PROVIDER_KINDS: ReadonlySet<string> = new Set([
  'prometheus',
  'zipkin',
  'opentelemetry',
  'envoyFileAccessLog',
  'envoyExtAuthzHttp',
]);

function providersReader(value: unknown, at: FieldPath, sink: MeshConfigSink): unknown {
  if (!Array.isArray(value)) {
    sink.error(at, 'must be a list of providers');
    return undefined;
  }
  const names = new Set<string>();
  const out: ExtensionProvider[] = [];
  value.forEach((p: unknown, i) => {
    const here = [...at, i];
    if (!isObject(p) || typeof p['name'] !== 'string' || p['name'] === '') {
      sink.error(here, 'a provider needs a name');
      return;
    }
    const name = p['name'];
    if (names.has(name)) sink.error([...here, 'name'], `duplicate provider name "${name}"`);
    names.add(name);
    const kinds = Object.keys(p).filter((k) => k !== 'name');
    if (kinds.length !== 1)
      sink.error(
        here,
        `provider "${name}" must set exactly one provider kind (found ${kinds.length})`,
      );
    out.push({ ...p, name });
    for (const kind of kinds) {
      if (!APPLIED_PROVIDER_KINDS.has(kind)) sink.warn([...here, kind], NOT_APPLIED);
    }
  });
  return out;
}

/** accessLogFormat: with JSON encoding, a JSON object of strings (Istio falls back to its default). */
function accessLogFormatReader(v: unknown, at: FieldPath, sink: MeshConfigSink): unknown {
  const s = stringOf(v, at, sink);
  if (s === undefined || !s.trim().startsWith('{')) return s;
  let parsed: unknown;
  try {
    parsed = JSON.parse(s);
  } catch (e) {
    sink.warn(at, `looks like JSON but does not parse (${(e as Error).message})`);
    return s;
  }
  if (!isObject(parsed)) sink.warn(at, 'a JSON access log format must be an object');
  return s;
}

/**
 * The fields skiff reads: each reader checks the value and returns it normalised (undefined when
 * it is wrong). A new MeshConfig feature adds its reader here and its field to MeshConfig.
 */
const READERS: Readonly<Partial<Record<keyof MeshConfig, FieldReader>>> = {
  rootNamespace: (v, at, sink) => {
    const s = stringOf(v, at, sink);
    if (s !== undefined && !isDnsLabel(s)) sink.error(at, `"${s}" is not a namespace name`);
    return s;
  },
  trustDomain: (v, at, sink) => {
    const s = stringOf(v, at, sink);
    const problem = s === undefined ? undefined : trustDomainProblem(s);
    if (problem) sink.error(at, problem);
    return s;
  },
  trustDomainAliases: (v, at, sink) => {
    if (!Array.isArray(v)) return void sink.error(at, 'must be a list of trust domains');
    v.forEach((d: unknown, i) => {
      const problem = typeof d === 'string' ? trustDomainProblem(d) : 'must be a string';
      if (problem) sink.error([...at, i], problem);
    });
    return [...(v as string[])];
  },
  outboundTrafficPolicy: (v, at, sink) => {
    if (!isObject(v)) return void sink.error(at, 'must be a mapping with mode');
    for (const k of Object.keys(v))
      if (k !== 'mode') sink.warn([...at, k], 'unknown field: ignored, as istiod ignores it');
    const mode = v['mode'] ?? 'ALLOW_ANY';
    if (mode !== 'ALLOW_ANY' && mode !== 'REGISTRY_ONLY')
      return void sink.error(
        [...at, 'mode'],
        `mode must be ALLOW_ANY or REGISTRY_ONLY (got ${JSON.stringify(mode)})`,
      );
    return { mode };
  },
  connectTimeout: (v, at, sink) => {
    const s = stringOf(v, at, sink);
    const problem = s === undefined ? undefined : durationProblem(s);
    if (problem) sink.error(at, problem);
    return problem ? undefined : s;
  },
  defaultHttpRetryPolicy: retryPolicyReader,
  defaultServiceExportTo: exportToReader('Service'),
  defaultVirtualServiceExportTo: exportToReader('VirtualService'),
  defaultDestinationRuleExportTo: exportToReader('DestinationRule'),
  defaultConfig: proxyConfigReader,
  extensionProviders: providersReader,
  enableAutoMtls: (v, at, sink) =>
    typeof v === 'boolean' ? v : void sink.error(at, 'must be true or false'),
  enableTracing: (v, at, sink) =>
    typeof v === 'boolean' ? v : void sink.error(at, 'must be true or false'),
  accessLogFile: stringOf,
  accessLogEncoding: (v, at, sink) => {
    if (v === 'TEXT' || v === 'JSON') return v;
    return void sink.error(at, `must be TEXT or JSON (got ${JSON.stringify(v)})`);
  },
  accessLogFormat: accessLogFormatReader,
  pathNormalization: (v, at, sink) => {
    if (!isObject(v)) return void sink.error(at, 'must be a mapping with normalization');
    for (const k of Object.keys(v))
      if (k !== 'normalization')
        sink.warn([...at, k], 'unknown field: ignored, as istiod ignores it');
    const n = v['normalization'] ?? 'DEFAULT';
    if (typeof n !== 'string' || !PATH_NORMALIZATIONS.includes(n))
      return void sink.error(
        [...at, 'normalization'],
        `normalization must be one of ${PATH_NORMALIZATIONS.join(', ')} (got ${JSON.stringify(n)})`,
      );
    return { normalization: n === 'DEFAULT' ? 'BASE' : n };
  },
  defaultProviders: (v, at, sink) => {
    if (!isObject(v))
      return void sink.error(at, 'must be a mapping (metrics, tracing, accessLogging)');
    return { ...v };
  },
};

/**
 * Checks a MeshConfig as written (a mapping from YAML) and returns what it sets. Errors for wrong
 * types and values; warnings for fields skiff does not apply yet, and for unknown fields (which
 * istiod ignores, for version skew).
 */
export function readMeshConfig(value: unknown, sink: MeshConfigSink): MeshConfigOverlay {
  const out: Record<string, unknown> = {};
  if (value === null || value === undefined) return out;
  if (!isObject(value)) {
    sink.error([], 'a MeshConfig must be a mapping');
    return out;
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === null) continue; // unset, as protobuf's JSON reads null
    const reader = READERS[key as keyof MeshConfig];
    if (reader) {
      const read = reader(v, [key], sink);
      if (read !== undefined) out[key] = read;
    } else if (KNOWN_MESH_FIELDS.has(key)) sink.warn([key], NOT_APPLIED);
    else sink.warn([key], 'unknown MeshConfig field: ignored, as istiod ignores it');
  }
  return out as MeshConfigOverlay;
}

/**
 * istiod's ApplyMeshConfig: the overlay's fields replace the base's, except defaultConfig (merged
 * field by field, proxyMetadata key by key), extensionProviders (merged by name) and
 * trustDomainAliases (united).
 */
export function applyMeshConfig(base: MeshConfig, overlay: MeshConfigOverlay): MeshConfig {
  const merged: Record<string, unknown> = { ...base, ...overlay };
  if (overlay.defaultConfig) {
    const baseMeta = base.defaultConfig['proxyMetadata'];
    const newMeta = overlay.defaultConfig['proxyMetadata'];
    const pc: Record<string, unknown> = { ...base.defaultConfig, ...overlay.defaultConfig };
    if (isObject(baseMeta) || isObject(newMeta))
      pc['proxyMetadata'] = {
        ...(isObject(baseMeta) ? baseMeta : {}),
        ...(isObject(newMeta) ? newMeta : {}),
      };
    merged['defaultConfig'] = pc;
  }
  if (overlay.extensionProviders) {
    const providers = [...base.extensionProviders];
    for (const p of overlay.extensionProviders) {
      const i = providers.findIndex((e) => e.name === p.name);
      if (i >= 0) providers[i] = p;
      else providers.push(p);
    }
    merged['extensionProviders'] = providers;
  }
  if (overlay.trustDomainAliases)
    merged['trustDomainAliases'] = [
      ...new Set([...overlay.trustDomainAliases, ...base.trustDomainAliases]),
    ].sort();
  return Object.freeze(merged as unknown as MeshConfig);
}

/** Istio reads its mesh config from this ConfigMap (key `mesh`) in istiod's namespace. */
export const MESH_CONFIG_MAP = { name: 'istio', namespace: 'istio-system', key: 'mesh' } as const;

export function isMeshConfigMap(name: string, namespace: string): boolean {
  return name === MESH_CONFIG_MAP.name && namespace === MESH_CONFIG_MAP.namespace;
}
