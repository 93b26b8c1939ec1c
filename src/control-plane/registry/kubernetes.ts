// Kubernetes Services as Istio's kube registry sees them: a Service selects Workload instances
// (and WorkloadEntries) in its namespace by labels; targetPort picks the instance's port.
import type { ConfigResource } from '../../config/resource.js';
import type { ServiceSpec, WorkloadEntrySpec } from '../../config/kinds.js';
import { DOMAIN_SUFFIX } from '../../config/resource.js';
import type { MeshEndpoint, MeshService, ServicePort } from '../model/service.js';
import { labelsMatch } from '../model/service.js';
import { protocolOfServicePort } from '../model/protocol.js';
import type { WorkloadInstance } from './instances.js';
import { instanceEndpoint, workloadEntryEndpoint } from './endpoint-builders.js';

type ServicePortSpec = NonNullable<ServiceSpec['ports']>[number];

export function kubernetesService(svc: ConfigResource<ServiceSpec>): MeshService {
  const { name, namespace } = svc.metadata;
  const ports: ServicePort[] = (svc.spec.ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.port,
    protocol: protocolOfServicePort(p),
  }));
  return {
    hostname: `${name}.${namespace}.${DOMAIN_SUFFIX}`,
    name,
    namespace,
    ports,
    registry: 'Kubernetes',
    resolution: 'STATIC',
    meshExternal: false,
    exportTo: exportToOf(svc.metadata.annotations),
    labels: svc.metadata.labels,
    addresses: clusterIps(svc.spec),
  };
}

/** A Service's cluster IPs, as written (none for a headless Service). */
function clusterIps(spec: ServiceSpec): string[] {
  const ips = spec.clusterIPs?.length ? spec.clusterIPs : spec.clusterIP ? [spec.clusterIP] : [];
  return ips.filter((ip) => ip !== 'None' && ip !== '');
}

/**
 * `networking.istio.io/exportTo` annotation, Istio's way to scope a Kubernetes Service; none:
 * the mesh's defaultServiceExportTo applies.
 */
function exportToOf(annotations: Readonly<Record<string, string>>): string[] {
  const raw = annotations['networking.istio.io/exportTo'];
  if (!raw) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** The instance port a Service port's targetPort names: a number or a containerPort name. */
function instancePortFor(instance: WorkloadInstance, port: ServicePortSpec) {
  const target = port.targetPort ?? port.port;
  return typeof target === 'number'
    ? instance.ports.find((p) => p.containerPort === target)
    : instance.ports.find((p) => p.name === target);
}

export function kubernetesEndpoints(
  svc: ConfigResource<ServiceSpec>,
  service: MeshService,
  instances: readonly WorkloadInstance[],
  workloadEntries: readonly ConfigResource<WorkloadEntrySpec>[],
): MeshEndpoint[] {
  const selector = svc.spec.selector;
  // A Service without a selector has endpoints managed by hand in Kubernetes; none here.
  if (!selector || Object.keys(selector).length === 0) return [];
  const out: MeshEndpoint[] = [];
  for (const instance of instances) {
    if (!instance.ready || instance.namespace !== service.namespace) continue;
    if (!labelsMatch(selector, instance.labels)) continue;
    for (const port of svc.spec.ports ?? []) {
      const target = instancePortFor(instance, port);
      if (!target) continue;
      out.push(instanceEndpoint(instance, service.hostname, port.port, target.listenPort));
    }
  }
  for (const we of workloadEntries) {
    if (we.metadata.namespace !== service.namespace) continue;
    const labels = we.spec.labels ?? {};
    if (!labelsMatch(selector, labels)) continue;
    for (const port of svc.spec.ports ?? []) {
      out.push(
        workloadEntryEndpoint(we, service.hostname, port.port, port.name, numericTarget(port)),
      );
    }
  }
  return out;
}

function numericTarget(port: ServicePortSpec): number {
  return typeof port.targetPort === 'number' ? port.targetPort : port.port;
}
