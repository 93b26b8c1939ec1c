// The frozen snapshot the generators read: services, endpoints and routing rules indexed for
// lookup. Built once per config or instance change; no locks, no I/O, never mutated.
import type { ConfigResource } from '../../config/resource.js';
import type {
  DestinationRuleSpec,
  GatewaySpec,
  ServiceEntrySpec,
  ServiceSpec,
  VirtualServiceSpec,
  WorkloadEntrySpec,
} from '../../config/kinds.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { kubernetesEndpoints, kubernetesService } from '../registry/kubernetes.js';
import { fromServiceEntry } from '../registry/service-entries.js';
import { hostMatches, isWildcard, resolveHost } from './hosts.js';
import type { MeshConfig } from './mesh-config.js';
import type { MeshEndpoint, MeshService } from './service.js';
import { labelsMatch } from './service.js';

/** A VirtualService with its hosts and gateways resolved to full names. */
export interface BoundVirtualService {
  readonly resource: ConfigResource<VirtualServiceSpec>;
  readonly namespace: string;
  readonly hosts: readonly string[];
  /** `mesh` or `namespace/name` of a Gateway. */
  readonly gateways: readonly string[];
  readonly spec: VirtualServiceSpec;
}

export interface BoundDestinationRule {
  readonly resource: ConfigResource<DestinationRuleSpec>;
  readonly host: string;
  readonly spec: DestinationRuleSpec;
}

export interface ModelInput {
  readonly resources: readonly ConfigResource[];
  readonly instances: readonly WorkloadInstance[];
  readonly meshConfig: MeshConfig;
}

const MESH_GATEWAY = 'mesh';

function ofKind<S>(resources: readonly ConfigResource[], kind: string): ConfigResource<S>[] {
  return resources.filter((r) => r.kind === kind) as ConfigResource<S>[];
}

function endpointKey(hostname: string, port: number): string {
  return `${hostname}|${port}`;
}

export class MeshModel {
  readonly services: ReadonlyMap<string, MeshService>;
  readonly virtualServices: readonly BoundVirtualService[];
  readonly destinationRules: readonly BoundDestinationRule[];
  readonly gateways: readonly ConfigResource<GatewaySpec>[];
  readonly instances: readonly WorkloadInstance[];
  private readonly endpoints: ReadonlyMap<string, readonly MeshEndpoint[]>;

  private constructor(
    readonly meshConfig: MeshConfig,
    parts: {
      services: Map<string, MeshService>;
      endpoints: Map<string, MeshEndpoint[]>;
      virtualServices: BoundVirtualService[];
      destinationRules: BoundDestinationRule[];
      gateways: ConfigResource<GatewaySpec>[];
      instances: readonly WorkloadInstance[];
    },
  ) {
    this.services = parts.services;
    this.endpoints = parts.endpoints;
    this.virtualServices = parts.virtualServices;
    this.destinationRules = parts.destinationRules;
    this.gateways = parts.gateways;
    this.instances = parts.instances;
    Object.freeze(this);
  }

  static build(input: ModelInput): MeshModel {
    const { resources, instances } = input;
    const workloadEntries = ofKind<WorkloadEntrySpec>(resources, 'WorkloadEntry');
    const services = new Map<string, MeshService>();
    const endpoints = new Map<string, MeshEndpoint[]>();
    const addEndpoints = (list: readonly MeshEndpoint[]) => {
      for (const ep of list) {
        const key = endpointKey(ep.hostname, ep.servicePort);
        const bucket = endpoints.get(key);
        if (bucket) bucket.push(ep);
        else endpoints.set(key, [ep]);
      }
    };
    for (const svc of ofKind<ServiceSpec>(resources, 'Service')) {
      const service = kubernetesService(svc);
      services.set(service.hostname, service);
      addEndpoints(kubernetesEndpoints(svc, service, instances, workloadEntries));
    }
    // Kubernetes Services win over ServiceEntries for the same host, as in Istio.
    for (const se of ofKind<ServiceEntrySpec>(resources, 'ServiceEntry')) {
      const result = fromServiceEntry(se, instances, workloadEntries);
      for (const s of result.services) if (!services.has(s.hostname)) services.set(s.hostname, s);
      addEndpoints(
        result.endpoints.filter((ep) => services.get(ep.hostname)?.registry === 'ServiceEntry'),
      );
    }
    for (const list of endpoints.values()) list.sort(compareEndpoints);
    return new MeshModel(input.meshConfig, {
      services,
      endpoints,
      virtualServices: ofKind<VirtualServiceSpec>(resources, 'VirtualService').map(
        bindVirtualService,
      ),
      destinationRules: ofKind<DestinationRuleSpec>(resources, 'DestinationRule').map((r) => ({
        resource: r,
        host: resolveHost(r.spec.host ?? '', r.metadata.namespace),
        spec: r.spec,
      })),
      gateways: ofKind<GatewaySpec>(resources, 'Gateway'),
      instances,
    });
  }

  endpointsOf(hostname: string, port: number): readonly MeshEndpoint[] {
    return this.endpoints.get(endpointKey(hostname, port)) ?? [];
  }

  /** Services a proxy in `namespace` may reach (exportTo: `*`, `.` = own namespace, names). */
  servicesVisibleTo(namespace: string): MeshService[] {
    const out: MeshService[] = [];
    for (const svc of this.services.values())
      if (isExportedTo(svc.exportTo, svc.namespace, namespace)) out.push(svc);
    return out.sort((a, b) => (a.hostname < b.hostname ? -1 : a.hostname > b.hostname ? 1 : 0));
  }

  /** VirtualServices bound to a gateway (`mesh` for sidecars), visible from `namespace`. */
  virtualServicesFor(gateway: string, namespace: string): BoundVirtualService[] {
    return this.virtualServices.filter(
      (vs) =>
        vs.gateways.includes(gateway) &&
        (gateway !== MESH_GATEWAY ||
          isExportedTo(vs.spec.exportTo ?? ['*'], vs.namespace, namespace)),
    );
  }

  /**
   * The DestinationRule for a host as seen from a proxy's namespace: Istio looks in the proxy's
   * namespace, then the service's, then the root namespace (and nowhere else); within one, an
   * exact host beats a wildcard and a longer wildcard a shorter one.
   */
  destinationRuleFor(hostname: string, proxyNamespace: string): BoundDestinationRule | undefined {
    const service = this.services.get(hostname);
    const order = [proxyNamespace, service?.namespace, this.meshConfig.rootNamespace];
    const candidates = this.destinationRules.filter(
      (dr) =>
        order.includes(dr.resource.metadata.namespace) &&
        hostMatches(dr.host, hostname) &&
        isExportedTo(dr.spec.exportTo ?? ['*'], dr.resource.metadata.namespace, proxyNamespace),
    );
    const rank = (dr: BoundDestinationRule): number => {
      const nsRank = order.indexOf(dr.resource.metadata.namespace);
      const specificity = isWildcard(dr.host) ? 1000 - dr.host.length : 0;
      return nsRank * 10000 + specificity;
    };
    let best: BoundDestinationRule | undefined;
    for (const dr of candidates) if (!best || rank(dr) < rank(best)) best = dr;
    return best;
  }

  /** Gateways whose selector matches a router's labels. */
  gatewaysSelecting(labels: Readonly<Record<string, string>>): ConfigResource<GatewaySpec>[] {
    return this.gateways.filter((gw) => {
      const selector = gw.spec.selector ?? {};
      return Object.keys(selector).length > 0 && labelsMatch(selector, labels);
    });
  }
}

function bindVirtualService(r: ConfigResource<VirtualServiceSpec>): BoundVirtualService {
  const namespace = r.metadata.namespace;
  const gateways = (r.spec.gateways?.length ? r.spec.gateways : [MESH_GATEWAY]).map((g) =>
    g === MESH_GATEWAY || g.includes('/') ? g : `${namespace}/${g}`,
  );
  return {
    resource: r,
    namespace,
    hosts: (r.spec.hosts ?? []).map((h) => resolveHost(h, namespace)),
    gateways,
    spec: r.spec,
  };
}

function isExportedTo(exportTo: readonly string[], ownNamespace: string, viewer: string): boolean {
  if (exportTo.length === 0) return true;
  return exportTo.some((e) => e === '*' || e === viewer || (e === '.' && ownNamespace === viewer));
}

function compareEndpoints(a: MeshEndpoint, b: MeshEndpoint): number {
  const ka = `${a.address}:${a.port}`;
  const kb = `${b.address}:${b.port}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

export { MESH_GATEWAY };
