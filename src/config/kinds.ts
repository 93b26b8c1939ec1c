// The kinds skiff reads: their names, spec types, type guards, and how an apiVersion + kind maps
// to one of them (every served version of a kind is the same kind to the rest of skiff).
import type { IWasmPlugin } from '@kubernetes-models/istio/extensions.istio.io/v1alpha1/WasmPlugin';
import type { IDestinationRule } from '@kubernetes-models/istio/networking.istio.io/v1/DestinationRule';
import type { IGateway } from '@kubernetes-models/istio/networking.istio.io/v1/Gateway';
import type { IServiceEntry } from '@kubernetes-models/istio/networking.istio.io/v1/ServiceEntry';
import type { ISidecar } from '@kubernetes-models/istio/networking.istio.io/v1/Sidecar';
import type { IVirtualService } from '@kubernetes-models/istio/networking.istio.io/v1/VirtualService';
import type { IWorkloadEntry } from '@kubernetes-models/istio/networking.istio.io/v1/WorkloadEntry';
import type { IWorkloadGroup } from '@kubernetes-models/istio/networking.istio.io/v1/WorkloadGroup';
import type { IEnvoyFilter } from '@kubernetes-models/istio/networking.istio.io/v1alpha3/EnvoyFilter';
import type { IProxyConfig } from '@kubernetes-models/istio/networking.istio.io/v1beta1/ProxyConfig';
import type { IAuthorizationPolicy } from '@kubernetes-models/istio/security.istio.io/v1/AuthorizationPolicy';
import type { IPeerAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/PeerAuthentication';
import type { IRequestAuthentication } from '@kubernetes-models/istio/security.istio.io/v1/RequestAuthentication';
import type { ITelemetry } from '@kubernetes-models/istio/telemetry.istio.io/v1/Telemetry';
import { hasIstioModel } from './istio-models.js';
import type { ConfigResource } from './resource.js';

export const Kind = {
  VirtualService: 'VirtualService',
  DestinationRule: 'DestinationRule',
  Gateway: 'Gateway',
  ServiceEntry: 'ServiceEntry',
  WorkloadEntry: 'WorkloadEntry',
  WorkloadGroup: 'WorkloadGroup',
  Sidecar: 'Sidecar',
  EnvoyFilter: 'EnvoyFilter',
  ProxyConfig: 'ProxyConfig',
  PeerAuthentication: 'PeerAuthentication',
  RequestAuthentication: 'RequestAuthentication',
  AuthorizationPolicy: 'AuthorizationPolicy',
  Telemetry: 'Telemetry',
  WasmPlugin: 'WasmPlugin',
  Service: 'Service',
  Secret: 'Secret',
  ConfigMap: 'ConfigMap',
  Workload: 'Workload',
} as const;
export type KindName = (typeof Kind)[keyof typeof Kind];

// Istio specs, typed by @kubernetes-models/istio (v1 where served; every version has the same shape).
export type VirtualServiceSpec = NonNullable<IVirtualService['spec']>;
export type DestinationRuleSpec = NonNullable<IDestinationRule['spec']>;
export type GatewaySpec = NonNullable<IGateway['spec']>;
export type ServiceEntrySpec = NonNullable<IServiceEntry['spec']>;
export type WorkloadEntrySpec = NonNullable<IWorkloadEntry['spec']>;
export type WorkloadGroupSpec = NonNullable<IWorkloadGroup['spec']>;
export type SidecarSpec = NonNullable<ISidecar['spec']>;
export type EnvoyFilterSpec = NonNullable<IEnvoyFilter['spec']>;
export type ProxyConfigSpec = NonNullable<IProxyConfig['spec']>;
export type PeerAuthenticationSpec = NonNullable<IPeerAuthentication['spec']>;
export type RequestAuthenticationSpec = NonNullable<IRequestAuthentication['spec']>;
export type AuthorizationPolicySpec = NonNullable<IAuthorizationPolicy['spec']>;
export type TelemetrySpec = NonNullable<ITelemetry['spec']>;
export type WasmPluginSpec = NonNullable<IWasmPlugin['spec']>;

/** A port of a Kubernetes Service, with Kubernetes' defaults applied (protocol TCP, targetPort = port). */
export interface ServicePort {
  readonly name?: string;
  readonly port: number;
  /** A number, or the name of a container port (a Workload's `ports[].name`). */
  readonly targetPort: number | string;
  readonly protocol: 'TCP' | 'UDP' | 'SCTP';
  readonly appProtocol?: string;
  readonly nodePort?: number;
}

/** Kubernetes `v1 Service`: the fields skiff uses (others are accepted and ignored). */
export interface ServiceSpec {
  /** Absent: a Service without a selector (its endpoints come from elsewhere). */
  readonly selector?: Readonly<Record<string, string>>;
  readonly ports: readonly ServicePort[];
  readonly type: 'ClusterIP' | 'NodePort' | 'LoadBalancer' | 'ExternalName';
  readonly clusterIP?: string;
  readonly clusterIPs?: readonly string[];
  readonly externalName?: string;
}

/** Kubernetes `v1 Secret` (types kubernetes.io/tls and Opaque); not a spec in Kubernetes, but kept as one. */
export interface SecretSpec {
  readonly type: string;
  /** Base64 values, as written. */
  readonly data: Readonly<Record<string, string>>;
  readonly stringData: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
}

/** Kubernetes `v1 ConfigMap` (only Istio's mesh config, `istio-system/istio`, is kept). */
export interface ConfigMapSpec {
  readonly data: Readonly<Record<string, string>>;
  readonly immutable?: boolean;
}

export interface WorkloadPort {
  readonly name?: string;
  readonly containerPort: number;
}

/** skiff's own `skiff.dev/v1alpha1 Workload`, defaults applied: a local process the launcher runs. */
export interface WorkloadSpec {
  readonly serviceAccount: string;
  /** argv; run from the folder of the manifest that declares it. */
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly replicas: number;
  readonly ports: readonly WorkloadPort[];
}

export interface KindSpecs {
  VirtualService: VirtualServiceSpec;
  DestinationRule: DestinationRuleSpec;
  Gateway: GatewaySpec;
  ServiceEntry: ServiceEntrySpec;
  WorkloadEntry: WorkloadEntrySpec;
  WorkloadGroup: WorkloadGroupSpec;
  Sidecar: SidecarSpec;
  EnvoyFilter: EnvoyFilterSpec;
  ProxyConfig: ProxyConfigSpec;
  PeerAuthentication: PeerAuthenticationSpec;
  RequestAuthentication: RequestAuthenticationSpec;
  AuthorizationPolicy: AuthorizationPolicySpec;
  Telemetry: TelemetrySpec;
  WasmPlugin: WasmPluginSpec;
  Service: ServiceSpec;
  Secret: SecretSpec;
  ConfigMap: ConfigMapSpec;
  Workload: WorkloadSpec;
}

export function isKind<K extends KindName>(
  r: ConfigResource,
  kind: K,
): r is ConfigResource<KindSpecs[K]> {
  return r.kind === kind;
}

/** The decoded contents of a Secret: `data` (base64) overlaid by `stringData`, as Kubernetes merges them. */
export function secretData(spec: SecretSpec): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(spec.data)) out[k] = Buffer.from(v, 'base64');
  for (const [k, v] of Object.entries(spec.stringData)) out[k] = Buffer.from(v, 'utf8');
  return out;
}

export const SKIFF_API_VERSION = 'skiff.dev/v1alpha1';

/** Istio kinds skiff parses and validates but does not act on. */
const UNSUPPORTED_ISTIO: ReadonlySet<string> = new Set([
  Kind.EnvoyFilter,
  Kind.ProxyConfig,
  Kind.WasmPlugin,
]);
const ISTIO_GROUPS = [
  'networking.istio.io',
  'security.istio.io',
  'telemetry.istio.io',
  'extensions.istio.io',
];
const ISTIO_KINDS: ReadonlySet<string> = new Set(
  Object.values(Kind).filter(
    (k) => k !== Kind.Service && k !== Kind.Secret && k !== Kind.ConfigMap && k !== Kind.Workload,
  ),
);

/** What skiff does with a document of a given apiVersion and kind. */
export type KindClass =
  /** An Istio kind; `gvk` keys the schema tables; `supported` false: parsed, validated, then warned about. */
  | {
      readonly type: 'istio';
      readonly kind: KindName;
      readonly gvk: string;
      readonly supported: boolean;
    }
  | {
      readonly type: 'kubernetes';
      readonly kind: typeof Kind.Service | typeof Kind.Secret | typeof Kind.ConfigMap;
    }
  | { readonly type: 'skiff'; readonly kind: typeof Kind.Workload }
  /** A kind skiff does not run (Deployment, Ingress, ...): a warning, no resource. */
  | { readonly type: 'ignored' }
  /** An Istio or skiff kind (or version) that does not exist: an error. */
  | { readonly type: 'unknown'; readonly message: string };

export function classifyKind(apiVersion: string, kind: string): KindClass {
  if (
    apiVersion === 'v1' &&
    (kind === Kind.Service || kind === Kind.Secret || kind === Kind.ConfigMap)
  )
    return { type: 'kubernetes', kind };
  const slash = apiVersion.indexOf('/');
  const group = slash < 0 ? '' : apiVersion.slice(0, slash);
  if (group === 'skiff.dev') {
    if (kind === Kind.Workload && apiVersion === SKIFF_API_VERSION) return { type: 'skiff', kind };
    return {
      type: 'unknown',
      message: `unknown skiff kind ${apiVersion} ${kind} (skiff defines ${SKIFF_API_VERSION} Workload)`,
    };
  }
  if (ISTIO_GROUPS.includes(group)) {
    if (ISTIO_KINDS.has(kind) && hasIstioModel(apiVersion, kind)) {
      const k = kind as KindName;
      return {
        type: 'istio',
        kind: k,
        gvk: `${apiVersion}/${kind}`,
        supported: !UNSUPPORTED_ISTIO.has(k),
      };
    }
    const versions = ['v1', 'v1beta1', 'v1alpha3', 'v1alpha1']
      .map((v) => `${group}/${v}`)
      .filter((v) => hasIstioModel(v, kind));
    if (versions.length > 0) {
      return {
        type: 'unknown',
        message: `${kind} is not served at ${apiVersion} (use ${versions.join(' or ')})`,
      };
    }
    return { type: 'unknown', message: `unknown Istio kind ${kind} in ${group}` };
  }
  // install.istio.io (IstioOperator) configures an Istio installation, not the mesh.
  if (group.endsWith('istio.io') && group !== 'install.istio.io') {
    return { type: 'unknown', message: `unknown Istio API group ${group} (kind ${kind})` };
  }
  return { type: 'ignored' };
}
