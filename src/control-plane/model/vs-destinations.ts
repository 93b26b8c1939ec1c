// The hosts a VirtualService sends traffic to, with their ports (0: any), as Istio's
// virtualServiceDestinationsFilteredBySourceNamespace: routes whose every match names another
// sourceNamespace do not count for a proxy of `configNamespace`.
import type { VirtualServiceSpec } from '../../config/kinds.js';
import { resolveHost } from './hosts.js';
import type { BoundVirtualService } from './virtual-services.js';

interface Destination {
  readonly host?: string;
  readonly port?: { readonly number?: number };
}

interface RouteLike {
  readonly match?: readonly { readonly sourceNamespace?: string }[];
  readonly route?: readonly { readonly destination?: Destination }[];
  readonly mirror?: Destination;
  readonly mirrors?: readonly { readonly destination?: Destination }[];
}

function appliesTo(route: RouteLike, configNamespace: string): boolean {
  const matches = route.match ?? [];
  if (matches.length === 0) return true;
  return matches.some((m) => !m.sourceNamespace || m.sourceNamespace === configNamespace);
}

export function virtualServiceDestinations(
  vs: BoundVirtualService,
  configNamespace: string,
): Map<string, Set<number>> {
  const out = new Map<string, Set<number>>();
  const add = (d: Destination | undefined) => {
    if (!d?.host) return;
    const host = resolveHost(d.host, vs.namespace);
    let ports = out.get(host);
    if (!ports) out.set(host, (ports = new Set()));
    ports.add(d.port?.number ?? 0);
  };
  const spec: VirtualServiceSpec = vs.spec;
  const routes = [
    ...((spec.http ?? []) as RouteLike[]),
    ...((spec.tcp ?? []) as RouteLike[]),
    ...((spec.tls ?? []) as RouteLike[]),
  ];
  for (const r of routes) {
    if (!appliesTo(r, configNamespace)) continue;
    for (const d of r.route ?? []) add(d.destination);
    add(r.mirror);
    for (const m of r.mirrors ?? []) add(m.destination);
  }
  return out;
}
