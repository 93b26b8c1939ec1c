// ServiceEntry → services and endpoints, as Istio's serviceentry registry builds them (pilot's
// serviceentry/conversion.go): one service per host; endpoints inline, from selected
// WorkloadEntries and Workload instances, the host itself (DNS without endpoints), or none (NONE).
import type { ConfigResource } from '../../config/resource.js';
import type { ServiceEntrySpec, WorkloadEntrySpec } from '../../config/kinds.js';
import type { MeshEndpoint, MeshService, Resolution } from '../model/service.js';
import { labelsMatch } from '../model/service.js';
import { parseProtocol } from '../model/protocol.js';
import { instanceEndpoint, workloadEntryEndpoint } from './endpoint-builders.js';
import type { WorkloadInstance } from './instances.js';

export interface ServiceEntryResult {
  readonly services: MeshService[];
  readonly endpoints: MeshEndpoint[];
}

const CANONICAL_NAME = 'service.istio.io/canonical-name';
const CANONICAL_REVISION = 'service.istio.io/canonical-revision';

/**
 * Istio gives a MESH_EXTERNAL service canonical-service labels (name and revision, from the
 * usual app labels or the entry's name) so that its telemetry names the destination.
 */
function canonicalLabels(
  name: string,
  labels: Readonly<Record<string, string>>,
): Readonly<Record<string, string>> {
  if (labels[CANONICAL_NAME] !== undefined && labels[CANONICAL_REVISION] !== undefined)
    return labels;
  return {
    ...labels,
    [CANONICAL_NAME]:
      labels[CANONICAL_NAME] ?? labels['app.kubernetes.io/name'] ?? labels['app'] ?? name,
    [CANONICAL_REVISION]:
      labels[CANONICAL_REVISION] ??
      labels['app.kubernetes.io/version'] ??
      labels['version'] ??
      'latest',
  };
}

/** `addresses` as service VIPs: IPs as written, a /32 (or /128) block as its IP; other blocks stay. */
/** A single-address block is that address (IPv4 /32, IPv6 /128); wider blocks stay CIDRs. */
function vipsOf(addresses: readonly string[]): string[] {
  return addresses.map((a) => a.replace(a.includes(':') ? /\/128$/ : /\/32$/, ''));
}

interface PortSpec {
  readonly name: string;
  readonly number: number;
  readonly targetPort: number | undefined;
}

export function fromServiceEntry(
  se: ConfigResource<ServiceEntrySpec>,
  instances: readonly WorkloadInstance[],
  workloadEntries: readonly ConfigResource<WorkloadEntrySpec>[],
): ServiceEntryResult {
  const spec = se.spec;
  const namespace = se.metadata.namespace;
  const resolution = (spec.resolution ?? 'NONE') as Resolution;
  const meshExternal = (spec.location ?? 'MESH_EXTERNAL') === 'MESH_EXTERNAL';
  const ports: PortSpec[] = (spec.ports ?? []).map((p) => ({
    name: p.name ?? '',
    number: p.number ?? 0,
    targetPort: p.targetPort || undefined,
  }));
  const servicePorts = (spec.ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.number ?? 0,
    protocol: parseProtocol(p.protocol) ?? 'Unsupported',
  }));
  const labels = meshExternal
    ? canonicalLabels(se.metadata.name, se.metadata.labels)
    : se.metadata.labels;
  const services: MeshService[] = [];
  const endpoints: MeshEndpoint[] = [];
  for (const rawHost of spec.hosts ?? []) {
    // Istio takes ServiceEntry hosts as written: a short name is not expanded (unlike the hosts
    // of VirtualServices and DestinationRules), so `localhost` is the host `localhost`.
    const hostname = rawHost.toLowerCase();
    services.push({
      hostname,
      name: hostname,
      namespace,
      ports: servicePorts,
      registry: 'ServiceEntry',
      resolution,
      meshExternal,
      exportTo: spec.exportTo ?? [],
      labels,
      addresses: vipsOf(spec.addresses ?? []),
    });
    if (resolution === 'NONE') continue; // passthrough: the request's own destination
    for (const port of ports) {
      const forHost = { se, hostname, port, namespace };
      endpoints.push(...inlineEndpoints(forHost));
      if (!spec.endpoints?.length && !spec.workloadSelector && resolution !== 'STATIC')
        endpoints.push(...hostAsEndpoint(forHost));
      const selector = spec.workloadSelector?.labels;
      if (selector) {
        endpoints.push(...selectedEntries(forHost, selector, workloadEntries));
        endpoints.push(...selectedInstances(forHost, selector, instances));
      }
    }
  }
  return { services, endpoints };
}

interface ForHost {
  readonly se: ConfigResource<ServiceEntrySpec>;
  readonly hostname: string;
  readonly port: PortSpec;
  readonly namespace: string;
}

/** Istio's port choice for an endpoint: its own `ports` entry, else targetPort, else the number. */
function endpointPort(port: PortSpec, mapped: number | undefined): number {
  return mapped ?? port.targetPort ?? port.number;
}

function inlineEndpoints({ se, hostname, port }: ForHost): MeshEndpoint[] {
  const out: MeshEndpoint[] = [];
  for (const ep of se.spec.endpoints ?? []) {
    // Unix domain sockets cannot be reached through local mode's loopback ports.
    if (ep.address?.startsWith('unix://')) continue;
    const entry: ConfigResource<WorkloadEntrySpec> = { ...se, spec: ep as WorkloadEntrySpec };
    const mapped = ep.ports?.[port.name];
    out.push(
      workloadEntryEndpoint(entry, hostname, port.number, port.name, endpointPort(port, mapped)),
    );
  }
  return out;
}

/** DNS resolution without endpoints: the host itself is the endpoint (the proxy resolves it). */
function hostAsEndpoint({ se, hostname, port, namespace }: ForHost): MeshEndpoint[] {
  if (hostname.startsWith('*')) return [];
  return [
    {
      hostname,
      servicePort: port.number,
      address: hostname,
      port: endpointPort(port, undefined),
      labels: {},
      namespace,
      serviceAccount: '',
      workloadName: se.metadata.name,
      instanceName: se.metadata.name,
      locality: '',
      weight: 1,
      tlsMode: 'disabled',
    },
  ];
}

function selectedEntries(
  { hostname, port, namespace }: ForHost,
  selector: Readonly<Record<string, string>>,
  workloadEntries: readonly ConfigResource<WorkloadEntrySpec>[],
): MeshEndpoint[] {
  return workloadEntries
    .filter(
      (we) => we.metadata.namespace === namespace && labelsMatch(selector, we.spec.labels ?? {}),
    )
    .map((we) =>
      workloadEntryEndpoint(
        we,
        hostname,
        port.number,
        port.name,
        endpointPort(port, we.spec.ports?.[port.name]),
      ),
    );
}

/**
 * Workload instances selected as a Kubernetes pod would be: the container port numbered as the
 * entry's targetPort (or port number), or else named as the entry's port.
 */
function selectedInstances(
  { hostname, port, namespace }: ForHost,
  selector: Readonly<Record<string, string>>,
  instances: readonly WorkloadInstance[],
): MeshEndpoint[] {
  const out: MeshEndpoint[] = [];
  const wanted = endpointPort(port, undefined);
  for (const instance of instances) {
    if (!instance.ready || instance.namespace !== namespace) continue;
    if (!labelsMatch(selector, instance.labels)) continue;
    const target =
      instance.ports.find((p) => p.containerPort === wanted) ??
      instance.ports.find((p) => p.name !== '' && p.name === port.name);
    if (!target) continue;
    out.push(instanceEndpoint(instance, hostname, port.number, target.listenPort));
  }
  return out;
}
