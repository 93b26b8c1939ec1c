// ServiceEntry → services and endpoints, as Istio's serviceentry registry builds them: one
// service per host; endpoints inline, from selected WorkloadEntries/instances, or none (DNS/NONE).
import type { ConfigResource } from '../../config/resource.js';
import type { ServiceEntrySpec, WorkloadEntrySpec } from '../../config/kinds.js';
import type { MeshEndpoint, MeshService, Resolution } from '../model/service.js';
import { labelsMatch } from '../model/service.js';
import { parseProtocol } from '../model/protocol.js';
import { resolveHost } from '../model/hosts.js';
import { instanceEndpoint, workloadEntryEndpoint } from './endpoint-builders.js';
import type { WorkloadInstance } from './instances.js';

export interface ServiceEntryResult {
  readonly services: MeshService[];
  readonly endpoints: MeshEndpoint[];
}

export function fromServiceEntry(
  se: ConfigResource<ServiceEntrySpec>,
  instances: readonly WorkloadInstance[],
  workloadEntries: readonly ConfigResource<WorkloadEntrySpec>[],
): ServiceEntryResult {
  const spec = se.spec;
  const namespace = se.metadata.namespace;
  const resolution = (spec.resolution ?? 'NONE') as Resolution;
  const ports = (spec.ports ?? []).map((p) => ({
    name: p.name ?? '',
    port: p.number ?? 0,
    protocol: parseProtocol(p.protocol) ?? 'Unsupported',
    targetPort: p.targetPort,
  }));
  const services: MeshService[] = [];
  const endpoints: MeshEndpoint[] = [];
  for (const rawHost of spec.hosts ?? []) {
    const hostname = resolveHost(rawHost, namespace);
    services.push({
      hostname,
      name: hostname,
      namespace,
      ports: ports.map(({ name, port, protocol }) => ({ name, port, protocol })),
      registry: 'ServiceEntry',
      resolution,
      meshExternal: (spec.location ?? 'MESH_EXTERNAL') === 'MESH_EXTERNAL',
      exportTo: spec.exportTo?.length ? spec.exportTo : ['*'],
      labels: se.metadata.labels,
    });
    for (const port of ports) {
      const targetOf = (mapped?: number) => mapped ?? port.targetPort ?? port.port;
      for (const ep of spec.endpoints ?? []) {
        const fake: ConfigResource<WorkloadEntrySpec> = { ...se, spec: ep as WorkloadEntrySpec };
        const endpoint = workloadEntryEndpoint(
          fake,
          hostname,
          port.port,
          port.name,
          targetOf(ep.ports?.[port.name]),
        );
        endpoints.push(endpoint);
      }
      // DNS resolution without endpoints: the host itself is the endpoint (Envoy resolves it).
      if (
        !spec.endpoints?.length &&
        !spec.workloadSelector &&
        (resolution === 'DNS' || resolution === 'DNS_ROUND_ROBIN') &&
        !hostname.startsWith('*')
      ) {
        endpoints.push({
          hostname,
          servicePort: port.port,
          address: hostname,
          port: targetOf(),
          labels: {},
          namespace,
          serviceAccount: '',
          workloadName: '',
          instanceName: '',
          locality: '',
          weight: 1,
          tlsMode: 'disabled',
        });
      }
      const selector = spec.workloadSelector?.labels;
      if (!selector) continue;
      for (const we of workloadEntries) {
        if (we.metadata.namespace !== namespace || !labelsMatch(selector, we.spec.labels ?? {}))
          continue;
        endpoints.push(
          workloadEntryEndpoint(
            we,
            hostname,
            port.port,
            port.name,
            targetOf(we.spec.ports?.[port.name]),
          ),
        );
      }
      for (const instance of instances) {
        if (
          !instance.ready ||
          instance.namespace !== namespace ||
          !labelsMatch(selector, instance.labels)
        )
          continue;
        const target =
          instance.ports.find((p) => p.containerPort === targetOf()) ?? instance.ports[0];
        if (!target) continue;
        endpoints.push(instanceEndpoint(instance, hostname, port.port, target.listenPort));
      }
    }
  }
  return { services, endpoints };
}
