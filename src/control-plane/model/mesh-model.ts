// The model: a frozen snapshot of services, endpoints and rules indexed for lookup, and its view
// from one proxy (forProxy): what that proxy's Sidecar imports, the DestinationRules that apply
// to it, its outbound traffic policy. Built once per config or instance change; no I/O.
import type { ConfigResource } from '../../config/resource.js';
import type {
  DestinationRuleSpec,
  GatewaySpec,
  PeerAuthenticationSpec,
  ServiceEntrySpec,
  ServiceSpec,
  SecretSpec,
  SidecarSpec,
  TelemetrySpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '../../config/kinds.js';
import type { ProxyNode } from '../../xds/node.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { kubernetesEndpoints, kubernetesService } from '../registry/kubernetes.js';
import { fromServiceEntry } from '../registry/service-entries.js';
import type { BoundDestinationRule } from './destination-rules.js';
import { DestinationRuleIndex } from './destination-rules.js';
import type { MeshConfig } from './mesh-config.js';
import { meshConfigIn } from './mesh-config.js';
import type { MeshEndpoint, MeshService } from './service.js';
import { PeerAuthenticationIndex } from './peer-authentication.js';
import { labelsMatch } from './service.js';
import type { RequestAuthenticationResource } from './request-authentication.js';
import { requestAuthenticationsFor } from './request-authentication.js';
import type { AuthorizationPolicyResource, ProxyAuthorization } from './authorization.js';
import { authorizationFor } from './authorization.js';
import type { SidecarScope } from './sidecar-scope.js';
import type { TelemetryChain, TelemetryProxy } from './telemetry.js';
import { telemetryChain } from './telemetry.js';
import { buildSidecarScope, sidecarFor } from './sidecar-scope.js';
import type { BoundVirtualService } from './virtual-services.js';
import { MESH_GATEWAY, bindVirtualService, virtualServicesSeenBy } from './virtual-services.js';
import { effectiveExportTo, isExportedTo } from './visibility.js';

export type { BoundDestinationRule } from './destination-rules.js';
export type { BoundVirtualService } from './virtual-services.js';
export { MESH_GATEWAY };

export interface ModelInput {
  readonly resources: readonly ConfigResource[];
  readonly instances: readonly WorkloadInstance[];
  /** The base mesh config (Istio's defaults, or --mesh-config's); the `istio` ConfigMap overlays it. */
  readonly meshConfig: MeshConfig;
  /** JWKS the control plane fetched for jwtRules (jwksUri or OpenID discovery), by jwksSourceKey. */
  readonly jwks?: ReadonlyMap<string, string>;
}

/** The proxy a view is for. */
export type ProxyIdentity = Pick<ProxyNode, 'type' | 'namespace' | 'labels'>;

/** Everything built once per model and shared by its proxy views. */
interface Indexes {
  /** hostname → every service of that name (one per namespace), Kubernetes first. */
  readonly byHost: ReadonlyMap<string, ReadonlyMap<string, MeshService>>;
  /** `namespace|hostname|port` → endpoints. */
  readonly endpoints: ReadonlyMap<string, readonly MeshEndpoint[]>;
  readonly virtualServices: readonly BoundVirtualService[];
  readonly destinationRules: DestinationRuleIndex;
  readonly sidecars: readonly ConfigResource<SidecarSpec>[];
  readonly gateways: readonly ConfigResource<GatewaySpec>[];
  readonly instances: readonly WorkloadInstance[];
  readonly telemetries: readonly ConfigResource<TelemetrySpec>[];
  /** Kubernetes Secrets by `namespace/name` (Gateway credentialName). */
  readonly secrets: ReadonlyMap<string, ConfigResource<SecretSpec>>;
  /** PeerAuthentication by level (mTLS modes of workloads and namespaces). */
  readonly peerAuthentication: PeerAuthenticationIndex;
  readonly requestAuthentications: readonly RequestAuthenticationResource[];
  readonly authorizationPolicies: readonly AuthorizationPolicyResource[];
  readonly jwks: ReadonlyMap<string, string>;
  /** Sidecar scopes by `namespace|sidecar`, computed on first use (Istio computes them per push). */
  readonly scopes: Map<string, SidecarScope>;
}

/** A proxy's view: its scope (sidecars) and the services it sees, by hostname. */
interface View {
  readonly proxy: ProxyIdentity;
  readonly services: ReadonlyMap<string, MeshService>;
  readonly scope: SidecarScope | undefined;
}

function ofKind<S>(resources: readonly ConfigResource[], kind: string): ConfigResource<S>[] {
  return resources.filter((r) => r.kind === kind) as ConfigResource<S>[];
}

function endpointKey(namespace: string, hostname: string, port: number): string {
  return `${namespace}|${hostname}|${port}`;
}

function byHostname(a: MeshService, b: MeshService): number {
  return a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0;
}

export class MeshModel {
  /** hostname → the service this view resolves it to (the whole mesh: Kubernetes first). */
  readonly services: ReadonlyMap<string, MeshService>;
  readonly virtualServices: readonly BoundVirtualService[];
  /** Every DestinationRule, host resolved (unmerged). */
  readonly destinationRules: readonly BoundDestinationRule[];
  readonly gateways: readonly ConfigResource<GatewaySpec>[];
  readonly instances: readonly WorkloadInstance[];

  private constructor(
    /** In a proxy's view, with its Sidecar's outboundTrafficPolicy. */
    readonly meshConfig: MeshConfig,
    private readonly ix: Indexes,
    private readonly view: View | undefined,
  ) {
    this.services = view?.services ?? preferredServices(ix.byHost);
    const imported = view?.scope ? new Set(view.scope.virtualServices) : undefined;
    this.virtualServices = imported
      ? ix.virtualServices.filter((vs) => !vs.gateways.includes(MESH_GATEWAY) || imported.has(vs))
      : ix.virtualServices;
    this.destinationRules = ix.destinationRules.all;
    this.gateways = ix.gateways;
    this.instances = ix.instances;
    Object.freeze(this);
  }

  static build(input: ModelInput): MeshModel {
    const { resources, instances } = input;
    const meshConfig = meshConfigIn(resources, input.meshConfig);
    const workloadEntries = ofKind<WorkloadEntrySpec>(resources, 'WorkloadEntry');
    const byHost = new Map<string, Map<string, MeshService>>();
    const endpoints = new Map<string, MeshEndpoint[]>();
    // One service per hostname and namespace; the first wins, and Kubernetes Services are read
    // first (a ServiceEntry cannot take over a Service's name in its namespace, as in Istio).
    const addService = (svc: MeshService, eps: readonly MeshEndpoint[]) => {
      let names = byHost.get(svc.hostname);
      if (!names) byHost.set(svc.hostname, (names = new Map()));
      if (names.has(svc.namespace)) return;
      names.set(svc.namespace, {
        ...svc,
        exportTo: effectiveExportTo(svc.exportTo, meshConfig.defaultServiceExportTo),
      });
      for (const ep of eps) {
        if (ep.hostname !== svc.hostname) continue;
        const key = endpointKey(svc.namespace, ep.hostname, ep.servicePort);
        const bucket = endpoints.get(key);
        if (bucket) bucket.push(ep);
        else endpoints.set(key, [ep]);
      }
    };
    for (const svc of ofKind<ServiceSpec>(resources, 'Service')) {
      const service = kubernetesService(svc);
      addService(service, kubernetesEndpoints(svc, service, instances, workloadEntries));
    }
    for (const se of ofKind<ServiceEntrySpec>(resources, 'ServiceEntry')) {
      const result = fromServiceEntry(se, instances, workloadEntries);
      for (const s of result.services) addService(s, result.endpoints);
    }
    for (const list of endpoints.values()) list.sort(compareEndpoints);
    const ix: Indexes = {
      byHost,
      endpoints,
      virtualServices: ofKind<VirtualServiceSpec>(resources, 'VirtualService').map((r) =>
        bindVirtualService(r, meshConfig.defaultVirtualServiceExportTo),
      ),
      destinationRules: new DestinationRuleIndex(
        ofKind<DestinationRuleSpec>(resources, 'DestinationRule'),
        {
          rootNamespace: meshConfig.rootNamespace,
          defaultExportTo: meshConfig.defaultDestinationRuleExportTo,
        },
      ),
      sidecars: ofKind<SidecarSpec>(resources, 'Sidecar'),
      gateways: ofKind<GatewaySpec>(resources, 'Gateway'),
      telemetries: ofKind<TelemetrySpec>(resources, 'Telemetry'),
      instances,
      secrets: new Map(
        ofKind<SecretSpec>(resources, 'Secret').map((r) => [
          `${r.metadata.namespace}/${r.metadata.name}`,
          r,
        ]),
      ),
      peerAuthentication: new PeerAuthenticationIndex(
        ofKind<PeerAuthenticationSpec>(resources, 'PeerAuthentication'),
        meshConfig.rootNamespace,
      ),
      requestAuthentications: ofKind(resources, 'RequestAuthentication'),
      authorizationPolicies: ofKind(resources, 'AuthorizationPolicy'),
      jwks: input.jwks ?? new Map(),
      scopes: new Map(),
    };
    return new MeshModel(meshConfig, ix, undefined);
  }

  /**
   * The model as one proxy sees it: a sidecar sees what its Sidecar resource imports (every
   * visible service without one), a gateway every service exported to its namespace; both get
   * the DestinationRules chosen for their namespace and labels.
   */
  forProxy(proxy: ProxyIdentity): MeshModel {
    if (proxy.type !== 'sidecar') {
      const services = new Map<string, MeshService>();
      for (const s of this.visibleServices(proxy.namespace)) {
        const c = services.get(s.hostname);
        if (!c || (c.registry !== 'Kubernetes' && s.registry === 'Kubernetes'))
          services.set(s.hostname, s);
      }
      return new MeshModel(this.meshConfig, this.ix, { proxy, services, scope: undefined });
    }
    const scope = this.sidecarScopeFor(proxy);
    const meshConfig: MeshConfig = {
      ...this.meshConfig,
      outboundTrafficPolicy: { mode: scope.outboundTrafficPolicy.mode },
    };
    return new MeshModel(meshConfig, this.ix, { proxy, services: scope.services, scope });
  }

  /** The Telemetry resources that apply to a proxy: mesh, namespace and workload level. */
  telemetryFor(proxy: TelemetryProxy): TelemetryChain {
    return telemetryChain(this.ix.telemetries, proxy, this.meshConfig.rootNamespace);
  }

  /** The Sidecar scope in force for this view's proxy (sidecars only). */
  get sidecarScope(): SidecarScope | undefined {
    return this.view?.scope;
  }

  /** The proxy this view is for (routes with sourceLabels / sourceNamespace apply per proxy). */
  get proxy(): ProxyIdentity | undefined {
    return this.view?.proxy;
  }

  /** PeerAuthentication in force, by workload and namespace (peer-authentication.ts). */
  get peerAuthentication(): PeerAuthenticationIndex {
    return this.ix.peerAuthentication;
  }

  /** The RequestAuthentications that apply to a proxy (request-authentication.ts). */
  requestAuthenticationsFor(proxy: TelemetryProxy): RequestAuthenticationResource[] {
    return requestAuthenticationsFor(
      this.ix.requestAuthentications,
      proxy,
      this.meshConfig.rootNamespace,
    );
  }

  /** The AuthorizationPolicies that apply to a proxy, by action (authorization.ts). */
  authorizationFor(proxy: TelemetryProxy): ProxyAuthorization {
    return authorizationFor(this.ix.authorizationPolicies, proxy, this.meshConfig.rootNamespace);
  }

  /** A JWKS the control plane fetched (by jwksSourceKey), if the fetch succeeded. */
  fetchedJwks(key: string): string | undefined {
    return this.ix.jwks.get(key);
  }

  /** A Kubernetes Secret (Gateway credentialName), if the config has it. */
  secret(namespace: string, name: string): ConfigResource<SecretSpec> | undefined {
    return this.ix.secrets.get(`${namespace}/${name}`);
  }

  /** A delegate VirtualService (one without hosts) by name, whatever the proxy's scope. */
  delegateVirtualService(namespace: string, name: string): BoundVirtualService | undefined {
    return this.ix.virtualServices.find(
      (vs) =>
        vs.hosts.length === 0 && vs.namespace === namespace && vs.resource.metadata.name === name,
    );
  }

  /** The SidecarScope of a sidecar proxy: its Sidecar resource's imports (memoised per resource). */
  sidecarScopeFor(proxy: Pick<ProxyIdentity, 'namespace' | 'labels'>): SidecarScope {
    const sidecar = sidecarFor(this.ix.sidecars, proxy, this.meshConfig.rootNamespace);
    const key = `${proxy.namespace}|${sidecar ? `${sidecar.metadata.namespace}/${sidecar.metadata.name}` : ''}`;
    let scope = this.ix.scopes.get(key);
    if (!scope) {
      const visible = this.visibleServices(proxy.namespace);
      scope = buildSidecarScope(sidecar, proxy.namespace, {
        meshConfig: this.meshConfig,
        visible,
        visibleSet: new Set(visible),
        virtualServices: virtualServicesSeenBy(
          this.ix.virtualServices,
          MESH_GATEWAY,
          proxy.namespace,
        ),
        byHost: this.ix.byHost,
      });
      this.ix.scopes.set(key, scope);
    }
    return scope;
  }

  /** Every service (of any namespace) exported to `namespace`. */
  private visibleServices(namespace: string): MeshService[] {
    const out: MeshService[] = [];
    for (const names of this.ix.byHost.values())
      for (const s of names.values())
        if (isExportedTo(s.exportTo, s.namespace, namespace)) out.push(s);
    return out;
  }

  endpointsOf(hostname: string, port: number): readonly MeshEndpoint[] {
    const ns = this.services.get(hostname)?.namespace;
    if (ns === undefined) return [];
    return this.ix.endpoints.get(endpointKey(ns, hostname, port)) ?? [];
  }

  /**
   * Services a proxy in `namespace` reaches, one per hostname, sorted: in a proxy's view, what it
   * imports; otherwise every service exported to the namespace (its own namespace's first).
   */
  servicesVisibleTo(namespace: string): MeshService[] {
    if (this.view && this.view.proxy.namespace === namespace)
      return [...this.view.services.values()].sort(byHostname);
    const chosen = new Map<string, MeshService>();
    for (const s of this.visibleServices(namespace)) {
      const c = chosen.get(s.hostname);
      if (!c || (s.namespace === namespace && c.namespace !== namespace)) chosen.set(s.hostname, s);
    }
    return [...chosen.values()].sort(byHostname);
  }

  /**
   * VirtualServices bound to a gateway (`mesh` for sidecars) that a proxy of `namespace` sees, in
   * Istio's order (its namespace's private ones, those exported to it, public ones); in a
   * sidecar's view, only those its Sidecar imports.
   */
  virtualServicesFor(gateway: string, namespace: string): BoundVirtualService[] {
    const seen = virtualServicesSeenBy(this.ix.virtualServices, gateway, namespace);
    const scope = this.view?.scope;
    if (gateway !== MESH_GATEWAY || !scope) return seen;
    const imported = new Set(scope.virtualServices);
    return seen.filter((vs) => imported.has(vs));
  }

  /**
   * The DestinationRule a proxy of `proxyNamespace` applies to a host (Istio's lookup: its own
   * namespace, the service's, the root namespace; a matching workloadSelector in its own namespace
   * first). In a proxy's view, the proxy's labels pick workloadSelector rules.
   */
  destinationRuleFor(hostname: string, proxyNamespace: string): BoundDestinationRule | undefined {
    const service = this.services.get(hostname);
    return this.ix.destinationRules.lookup({
      hostname,
      serviceNamespace: service?.namespace,
      proxyNamespace,
      proxyLabels: this.view?.proxy.labels ?? {},
    });
  }

  /** Gateways whose selector matches a router's labels. */
  gatewaysSelecting(labels: Readonly<Record<string, string>>): ConfigResource<GatewaySpec>[] {
    return this.gateways.filter((gw) => {
      const selector = gw.spec.selector ?? {};
      return Object.keys(selector).length > 0 && labelsMatch(selector, labels);
    });
  }
}

/** One service per hostname for a view of the whole mesh: Kubernetes first, then the first read. */
function preferredServices(
  byHost: ReadonlyMap<string, ReadonlyMap<string, MeshService>>,
): Map<string, MeshService> {
  const out = new Map<string, MeshService>();
  for (const [host, names] of byHost) {
    const all = [...names.values()];
    const pick = all.find((s) => s.registry === 'Kubernetes') ?? all[0];
    if (pick) out.set(host, pick);
  }
  return out;
}

function compareEndpoints(a: MeshEndpoint, b: MeshEndpoint): number {
  const ka = `${a.address}:${a.port}`;
  const kb = `${b.address}:${b.port}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}
