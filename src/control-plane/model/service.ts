// The registry's view of the mesh: services (from Kubernetes Services and ServiceEntries) and
// their endpoints (Workload instances, WorkloadEntries, ServiceEntry endpoints).
import type { Protocol } from './protocol.js';

export interface ServicePort {
  readonly name: string;
  readonly port: number;
  readonly protocol: Protocol;
}

/** Istio's resolution kinds: endpoints from the registry (STATIC), DNS names, or passthrough. */
export type Resolution = 'STATIC' | 'DNS' | 'DNS_ROUND_ROBIN' | 'NONE';

export interface MeshService {
  /** FQDN, e.g. `reviews.default.svc.cluster.local`, or a ServiceEntry host. */
  readonly hostname: string;
  /** Kubernetes name, or the ServiceEntry host. */
  readonly name: string;
  readonly namespace: string;
  readonly ports: readonly ServicePort[];
  readonly registry: 'Kubernetes' | 'ServiceEntry';
  readonly resolution: Resolution;
  readonly meshExternal: boolean;
  /** Namespaces that may see the service (`*` all, `.` its own, `~` none); empty: the mesh default. */
  readonly exportTo: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** Virtual IPs (a ServiceEntry's `addresses`, a Service's clusterIP): also names of the service. */
  readonly addresses: readonly string[];
}

export interface MeshEndpoint {
  readonly hostname: string;
  /** The service port this endpoint serves. */
  readonly servicePort: number;
  readonly address: string;
  readonly port: number;
  readonly labels: Readonly<Record<string, string>>;
  readonly namespace: string;
  readonly serviceAccount: string;
  readonly workloadName: string;
  /** Instance (pod-like) name, or the WorkloadEntry's name. */
  readonly instanceName: string;
  readonly locality: string;
  readonly weight: number;
  /** `istio` when a sidecar fronts the endpoint (mTLS capable), else `disabled`. */
  readonly tlsMode: 'istio' | 'disabled';
}

export function portByNumber(svc: MeshService, port: number): ServicePort | undefined {
  return svc.ports.find((p) => p.port === port);
}

/** Label selector semantics of Kubernetes: every selector pair present in labels. */
export function labelsMatch(
  selector: Readonly<Record<string, string>>,
  labels: Readonly<Record<string, string>>,
): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
