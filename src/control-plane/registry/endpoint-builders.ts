// Endpoints from the two kinds of workload skiff knows: launched instances and WorkloadEntries.
import type { ConfigResource } from '../../config/resource.js';
import type { WorkloadEntrySpec } from '../../config/kinds.js';
import type { MeshEndpoint } from '../model/service.js';
import type { WorkloadInstance } from './instances.js';

const TLS_MODE_LABEL = 'security.istio.io/tlsMode';
const REGION_LABEL = 'topology.kubernetes.io/region';
const ZONE_LABEL = 'topology.kubernetes.io/zone';

/** Locality `region/zone/subzone` from Kubernetes topology labels (or Istio's locality label). */
function localityOf(labels: Readonly<Record<string, string>>): string {
  const explicit = labels['istio-locality'];
  if (explicit) return explicit.replaceAll('.', '/');
  const region = labels[REGION_LABEL];
  if (!region) return '';
  const zone = labels[ZONE_LABEL];
  return zone ? `${region}/${zone}` : region;
}

/**
 * Istio's getTLSModeFromWorkloadEntry: the `security.istio.io/tlsMode` label when present, else
 * `istio` when the entry names a service account (a proxy with an identity fronts it).
 */
function tlsModeOf(spec: WorkloadEntrySpec): 'istio' | 'disabled' {
  const label = spec.labels?.[TLS_MODE_LABEL];
  if (label !== undefined) return label === 'istio' ? 'istio' : 'disabled';
  return spec.serviceAccount ? 'istio' : 'disabled';
}

/**
 * A launched instance's tlsMode, as Istio's sidecar injection template labels pods: its own
 * `security.istio.io/tlsMode` label, else `istio`. A gateway (router) has no sidecar and no such
 * label (Istio's gateway template sets none): in local mode it serves its ports itself, its
 * listen port being its app port.
 */
function instanceTlsMode(instance: WorkloadInstance, listenPort: number): 'istio' | 'disabled' {
  const label = instance.labels[TLS_MODE_LABEL];
  if (label !== undefined) return label === 'istio' ? 'istio' : 'disabled';
  const port = instance.ports.find((p) => p.listenPort === listenPort);
  return port && port.appPort === port.listenPort ? 'disabled' : 'istio';
}

/** A launched instance: its sidecar's inbound listener is the endpoint. */
export function instanceEndpoint(
  instance: WorkloadInstance,
  hostname: string,
  servicePort: number,
  listenPort: number,
): MeshEndpoint {
  return {
    hostname,
    servicePort,
    address: instance.address,
    port: listenPort,
    labels: instance.labels,
    namespace: instance.namespace,
    serviceAccount: instance.serviceAccount,
    workloadName: instance.workloadName,
    instanceName: instance.name,
    locality: localityOf(instance.labels),
    weight: 1,
    tlsMode: instanceTlsMode(instance, listenPort),
  };
}

/** A WorkloadEntry as an endpoint: its `ports` map (by service port name) overrides the target. */
export function workloadEntryEndpoint(
  we: ConfigResource<WorkloadEntrySpec>,
  hostname: string,
  servicePort: number,
  portName: string | undefined,
  defaultPort: number,
): MeshEndpoint {
  const labels = we.spec.labels ?? {};
  const mapped = portName ? we.spec.ports?.[portName] : undefined;
  return {
    hostname,
    servicePort,
    address: we.spec.address ?? '',
    port: mapped ?? defaultPort,
    labels,
    namespace: we.metadata.namespace,
    serviceAccount: we.spec.serviceAccount ?? 'default',
    workloadName: labels['app'] ?? we.metadata.name,
    instanceName: we.metadata.name,
    locality: we.spec.locality ?? localityOf(labels),
    weight: we.spec.weight ?? 1,
    tlsMode: tlsModeOf(we.spec),
  };
}
