// VirtualServices bound and ordered as Istio's push context does (initVirtualServices): each is
// public (exportTo `*`), private to its namespace, or exported to named namespaces; a proxy sees
// its namespace's private ones first, then those exported to it, then the public ones, each in
// creation order. For sidecars the first VirtualService for a host wins (no merging).
import type { VirtualServiceSpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { resolveHost } from './hosts.js';
import { effectiveExportTo } from './visibility.js';

export const MESH_GATEWAY = 'mesh';

/** A VirtualService with its hosts and gateways resolved to full names. */
export interface BoundVirtualService {
  readonly resource: ConfigResource<VirtualServiceSpec>;
  readonly namespace: string;
  readonly hosts: readonly string[];
  /** `mesh` or `namespace/name` of a Gateway. */
  readonly gateways: readonly string[];
  readonly spec: VirtualServiceSpec;
  /** exportTo in force (the mesh default when the resource sets none). */
  readonly exportTo: readonly string[];
}

export function bindVirtualService(
  r: ConfigResource<VirtualServiceSpec>,
  defaultExportTo: readonly string[],
): BoundVirtualService {
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
    exportTo: effectiveExportTo(r.spec.exportTo, defaultExportTo),
  };
}

type Visibility = 'private' | 'exported' | 'public' | 'hidden';

/** How `viewer` sees a VirtualService: Istio's private / exported / public indexes. */
function visibilityFor(vs: BoundVirtualService, viewer: string): Visibility {
  const e = vs.exportTo;
  if (e.includes('*')) return 'public';
  if (e.includes('~')) return 'hidden';
  const targets = e.map((x) => (x === '.' ? vs.namespace : x));
  if (!targets.includes(viewer)) return 'hidden';
  return viewer === vs.namespace ? 'private' : 'exported';
}

/**
 * The VirtualServices bound to `gateway` (`mesh` for sidecars) that a proxy in `viewer` sees, in
 * Istio's order: private, exported to the namespace, public; creation order within each.
 */
export function virtualServicesSeenBy(
  all: readonly BoundVirtualService[],
  gateway: string,
  viewer: string,
): BoundVirtualService[] {
  const buckets: Record<Exclude<Visibility, 'hidden'>, BoundVirtualService[]> = {
    private: [],
    exported: [],
    public: [],
  };
  for (const vs of all) {
    if (!vs.gateways.includes(gateway)) continue;
    const v = visibilityFor(vs, viewer);
    if (v !== 'hidden') buckets[v].push(vs);
  }
  return [...buckets.private, ...buckets.exported, ...buckets.public];
}
