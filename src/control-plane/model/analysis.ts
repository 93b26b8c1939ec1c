// Cross-resource analysis (what `istioctl analyze` finds): config that is valid alone but that
// Istio would ignore next to other config — a second mesh VirtualService for a host (IST0109:
// sidecars take the first, they do not merge them), a second Sidecar for the same workloads.
import type { SidecarSpec, VirtualServiceSpec } from '../../config/kinds.js';
import type { ConfigProblem, ConfigResource } from '../../config/resource.js';
import { resourceKey } from '../../config/resource.js';
import { DEFAULT_MESH_CONFIG, meshConfigIn } from './mesh-config.js';
import type { MeshConfig } from './mesh-config.js';
import { labelsMatch } from './service.js';
import { customProviderFindings } from './authorization.js';
import type { BoundVirtualService } from './virtual-services.js';
import { MESH_GATEWAY, bindVirtualService, virtualServicesSeenBy } from './virtual-services.js';

export interface Finding {
  readonly problem: ConfigProblem;
  /** Keys (resourceKey) of the resources involved: the one ignored first. */
  readonly resources: readonly string[];
}

function nameOf(r: ConfigResource): string {
  return `${r.metadata.namespace}/${r.metadata.name}`;
}

function warning(r: ConfigResource, field: string, message: string): ConfigProblem {
  return {
    severity: 'warning',
    file: r.source.file,
    line: r.source.line,
    kind: r.kind,
    namespace: r.metadata.namespace,
    name: r.metadata.name,
    field,
    message,
  };
}

/** Namespaces worth looking from: every namespace the config names. */
function namespacesOf(
  resources: readonly ConfigResource[],
  vses: readonly BoundVirtualService[],
): string[] {
  const out = new Set(resources.map((r) => r.metadata.namespace));
  for (const vs of vses)
    for (const e of vs.exportTo) if (e !== '*' && e !== '.' && e !== '~') out.add(e);
  return [...out].sort();
}

/**
 * For each namespace's sidecars, the first mesh VirtualService (in Istio's order) naming a host
 * routes it; the others naming the same host are ignored for it there.
 */
function virtualServiceConflicts(
  resources: readonly ConfigResource[],
  mesh: MeshConfig,
): Finding[] {
  const vses = resources
    .filter((r): r is ConfigResource<VirtualServiceSpec> => r.kind === 'VirtualService')
    .map((r) => bindVirtualService(r, mesh.defaultVirtualServiceExportTo))
    .filter((vs) => vs.gateways.includes(MESH_GATEWAY));
  const reported = new Map<
    string,
    {
      vs: BoundVirtualService;
      host: string;
      index: number;
      winner: BoundVirtualService;
      where: Set<string>;
    }
  >();
  for (const viewer of namespacesOf(resources, vses)) {
    const firstFor = new Map<string, BoundVirtualService>();
    for (const vs of virtualServicesSeenBy(vses, MESH_GATEWAY, viewer)) {
      vs.hosts.forEach((host, index) => {
        const winner = firstFor.get(host);
        if (!winner) firstFor.set(host, vs);
        if (!winner || winner === vs) return;
        const key = `${resourceKey(vs.resource)}|${host}`;
        const entry = reported.get(key) ?? { vs, host, index, winner, where: new Set<string>() };
        entry.where.add(viewer);
        reported.set(key, entry);
      });
    }
  }
  return [...reported.values()].map(({ vs, host, index, winner }) => ({
    problem: warning(
      vs.resource,
      `spec.hosts[${index}]`,
      `ignored for host ${host}: VirtualService ${nameOf(winner.resource)} already routes it (sidecars use the first VirtualService for a host; Istio merges them only on gateways)`,
    ),
    resources: [resourceKey(vs.resource), resourceKey(winner.resource)],
  }));
}

/**
 * Istio applies one Sidecar per workload: of several without a workloadSelector in a namespace
 * the first; of several selecting one workload, the first. Workloads are skiff's Workload kind.
 */
function sidecarConflicts(resources: readonly ConfigResource[]): Finding[] {
  const sidecars = resources.filter((r): r is ConfigResource<SidecarSpec> => r.kind === 'Sidecar');
  const out: Finding[] = [];
  const firstWide = new Map<string, ConfigResource<SidecarSpec>>();
  for (const s of sidecars) {
    if (s.spec.workloadSelector) continue;
    const first = firstWide.get(s.metadata.namespace);
    if (!first) firstWide.set(s.metadata.namespace, s);
    else
      out.push({
        problem: warning(
          s,
          '',
          `ignored: Sidecar ${nameOf(first)} already applies to namespace ${s.metadata.namespace} (Istio uses the first Sidecar without a workloadSelector)`,
        ),
        resources: [resourceKey(s), resourceKey(first)],
      });
  }
  for (const w of resources.filter((r) => r.kind === 'Workload')) {
    const selecting = sidecars.filter(
      (s) =>
        s.metadata.namespace === w.metadata.namespace &&
        s.spec.workloadSelector?.labels &&
        labelsMatch(s.spec.workloadSelector.labels, w.metadata.labels),
    );
    const [first, ...rest] = selecting;
    for (const s of rest) {
      out.push({
        problem: warning(
          s,
          'spec.workloadSelector',
          `ignored for Workload ${nameOf(w)}: Sidecar ${nameOf(first!)} already selects it (Istio uses the first)`,
        ),
        resources: [resourceKey(s), resourceKey(first!)],
      });
    }
  }
  return out;
}

/** Every finding over a whole set of resources (a directory, or the mesh after an apply). */
export function analyzeConfig(
  resources: readonly ConfigResource[],
  meshConfig: MeshConfig = DEFAULT_MESH_CONFIG,
): Finding[] {
  const mesh = meshConfigIn(resources, meshConfig);
  return [
    ...virtualServiceConflicts(resources, mesh),
    ...sidecarConflicts(resources),
    ...customProviderFindings(resources, mesh.extensionProviders).map((f) => ({
      problem: warning(f.resource, f.field, f.message),
      resources: [resourceKey(f.resource)],
    })),
  ];
}
