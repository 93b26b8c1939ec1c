// Istio's SidecarScope (pilot/pkg/model/sidecar.go): what one Sidecar resource (or the default,
// which imports every host of every namespace) lets a proxy see — the services its egress listeners import (ports trimmed to a
// listener's port), the VirtualServices for those hosts and the services they route to, its
// outbound traffic policy and its ingress listeners.
import type { SidecarSpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { hostMatches, hostsIntersect, isWildcard, resolveHost } from './hosts.js';
import type { MeshConfig, OutboundTrafficMode } from './mesh-config.js';
import type { MeshService } from './service.js';
import type { BoundVirtualService } from './virtual-services.js';
import { virtualServiceDestinations } from './vs-destinations.js';

export interface EgressProxy {
  readonly host: string;
  readonly subset: string;
  readonly port: number | undefined;
}

export interface OutboundTrafficPolicy {
  readonly mode: OutboundTrafficMode;
  /** ALLOW_ANY only: where unknown traffic goes instead of passing through (Sidecar API). */
  readonly egressProxy?: EgressProxy;
}

export interface IngressListener {
  readonly port: number;
  readonly protocol: string | undefined;
  readonly name: string | undefined;
  /** `127.0.0.1:8080`, `0.0.0.0:8080`, `[::1]:8080` or `unix:///path`. */
  readonly defaultEndpoint: string | undefined;
  readonly captureMode: 'DEFAULT' | 'IPTABLES' | 'NONE';
}

export interface EgressScope {
  /** The listener's port; undefined for the catch-all listener. */
  readonly port: number | undefined;
  readonly services: readonly MeshService[];
  readonly virtualServices: readonly BoundVirtualService[];
}

export interface SidecarScope {
  /** `namespace/name` of the Sidecar in force, or `default` (every host of every namespace). */
  readonly name: string;
  readonly resource: ConfigResource<SidecarSpec> | undefined;
  /** The proxy's namespace (what `.` and `./host` mean). */
  readonly namespace: string;
  /** Every imported service by hostname, ports merged across egress listeners. */
  readonly services: ReadonlyMap<string, MeshService>;
  /** Imported VirtualServices, in Istio's order. */
  readonly virtualServices: readonly BoundVirtualService[];
  readonly egress: readonly EgressScope[];
  readonly outboundTrafficPolicy: OutboundTrafficPolicy;
  /** Empty: one inbound listener per workload port, as without a Sidecar. */
  readonly ingress: readonly IngressListener[];
}

/** What the scope is computed from (the model's indexes). */
export interface ScopeInputs {
  readonly meshConfig: MeshConfig;
  /** Services a proxy in the namespace may see (every namespace's; one hostname may repeat). */
  readonly visible: readonly MeshService[];
  readonly visibleSet: ReadonlySet<MeshService>;
  /** Mesh VirtualServices visible to the namespace, in Istio's order. */
  readonly virtualServices: readonly BoundVirtualService[];
  /** hostname → namespace → service, for VirtualService destinations. */
  readonly byHost: ReadonlyMap<string, ReadonlyMap<string, MeshService>>;
}

interface HostClass {
  readonly exact: Set<string>;
  readonly all: string[];
  readonly excluded: string[];
}

const ANY_NAMESPACE = '*';

/** `ns/host` entries by namespace (`.` = the proxy's, `*` = any; a `~` prefix excludes). */
export function parseEgressHosts(
  hosts: readonly string[],
  configNamespace: string,
): Map<string, HostClass> {
  const out = new Map<string, HostClass>();
  for (const entry of hosts) {
    const slash = entry.indexOf('/');
    if (slash < 0) continue; // validation refuses these
    let ns = entry.slice(0, slash);
    const host = entry.slice(slash + 1).toLowerCase();
    const excluded = ns.startsWith('~');
    if (excluded) ns = ns.slice(1) || ANY_NAMESPACE;
    if (ns === '.') ns = configNamespace;
    let hc = out.get(ns);
    if (!hc) out.set(ns, (hc = { exact: new Set(), all: [], excluded: [] }));
    if (excluded) hc.excluded.push(host);
    else {
      if (!isWildcard(host)) hc.exact.add(host);
      hc.all.push(host);
    }
  }
  return out;
}

function excludedBy(hc: HostClass | undefined, host: string): boolean {
  return !!hc && hc.excluded.some((ex) => hostMatches(ex, host));
}

/** Does an import list take a service host? (hostClassification.Matches: h ⊆ imported) */
function importsService(hc: HostClass | undefined, host: string): boolean {
  if (!hc) return false;
  if (hc.exact.has(host)) return true;
  return hc.all.some((imp) => (isWildcard(imp) || isWildcard(host)) && hostMatches(imp, host));
}

/** Does an import list take a VirtualService host? (VSMatches: overlap either way) */
function importsVsHost(hc: HostClass | undefined, host: string): boolean {
  if (!hc) return false;
  if (hc.exact.has(host)) return true;
  return hc.all.some((imp) => (isWildcard(imp) || isWildcard(host)) && hostsIntersect(host, imp));
}

function withPorts(svc: MeshService, keep: (port: number) => boolean): MeshService | undefined {
  const ports = svc.ports.filter((p) => keep(p.port));
  if (ports.length === 0) return undefined;
  return ports.length === svc.ports.length ? svc : { ...svc, ports };
}

/**
 * Istio's appendSidecarServices: one service per hostname; a Kubernetes service beats a
 * ServiceEntry; services of one namespace and registry merge their ports.
 */
function addService(into: Map<string, MeshService>, svc: MeshService | undefined): void {
  if (!svc) return;
  const existing = into.get(svc.hostname);
  if (!existing) {
    into.set(svc.hostname, svc);
    return;
  }
  if (existing.registry === 'Kubernetes' && svc.registry !== 'Kubernetes') return;
  if (existing.registry !== 'Kubernetes' && svc.registry === 'Kubernetes') {
    into.set(svc.hostname, svc);
    return;
  }
  const mergeable =
    existing.namespace === svc.namespace &&
    existing.registry === svc.registry &&
    existing.resolution === svc.resolution;
  if (!mergeable) return;
  const extra = svc.ports.filter((p) => !existing.ports.some((q) => q.port === p.port));
  if (extra.length) into.set(svc.hostname, { ...existing, ports: [...existing.ports, ...extra] });
}

interface ListenerSpec {
  readonly port: number | undefined;
  /** A port-specific listener trims services to its port (not so for HTTP_PROXY ones). */
  readonly matchPort: boolean;
  readonly hosts: Map<string, HostClass>;
}

/** selectServices: imports by the service's namespace or `*`, exclusions first, one per hostname. */
function selectServices(l: ListenerSpec, inputs: ScopeInputs, configNs: string): MeshService[] {
  const picked: MeshService[] = [];
  const anyNs = l.hosts.get(ANY_NAMESPACE);
  for (const s of inputs.visible) {
    const own = l.hosts.get(s.namespace);
    if (excludedBy(own, s.hostname) || excludedBy(anyNs, s.hostname)) continue;
    if (!importsService(own, s.hostname) && !importsService(anyNs, s.hostname)) continue;
    const svc = l.matchPort ? withPorts(s, (p) => p === l.port) : s;
    if (svc) picked.push(svc);
  }
  // The same hostname from several namespaces: the proxy's namespace, else Kubernetes, else first.
  const chosen = new Map<string, MeshService>();
  for (const s of picked) {
    const c = chosen.get(s.hostname);
    if (
      !c ||
      (s.namespace === configNs && c.namespace !== configNs) ||
      (c.registry !== 'Kubernetes' && s.registry === 'Kubernetes' && c.namespace !== configNs)
    )
      chosen.set(s.hostname, s);
  }
  return picked.filter((s) => chosen.get(s.hostname) === s);
}

function selectVirtualServices(l: ListenerSpec, inputs: ScopeInputs): BoundVirtualService[] {
  const anyNs = l.hosts.get(ANY_NAMESPACE);
  return inputs.virtualServices.filter((vs) => {
    const own = l.hosts.get(vs.namespace);
    return vs.hosts.some(
      (h) =>
        (importsVsHost(own, h) || importsVsHost(anyNs, h)) &&
        !excludedBy(own, h) &&
        !excludedBy(anyNs, h),
    );
  });
}

/** The namespace a VirtualService destination resolves to for this proxy. */
function destinationService(
  inputs: ScopeInputs,
  host: string,
  configNs: string,
): MeshService | undefined {
  const byNs = inputs.byHost.get(host);
  if (!byNs) return undefined;
  const own = byNs.get(configNs);
  if (own) return own;
  const visible = [...byNs.values()].filter((s) => inputs.visibleSet.has(s));
  return (
    visible.find((s) => s.registry === 'Kubernetes') ??
    visible.sort((a, b) => (a.namespace < b.namespace ? -1 : 1))[0]
  );
}

function outboundPolicy(
  spec: SidecarSpec | undefined,
  mesh: MeshConfig,
  ns: string,
): OutboundTrafficPolicy {
  const otp = spec?.outboundTrafficPolicy;
  if (!otp) return { mode: mesh.outboundTrafficPolicy.mode };
  const mode = (otp.mode ?? 'REGISTRY_ONLY') as OutboundTrafficMode;
  const proxy = otp.egressProxy;
  if (mode !== 'ALLOW_ANY' || !proxy?.host) return { mode };
  return {
    mode,
    egressProxy: {
      host: resolveHost(proxy.host, ns),
      subset: proxy.subset ?? '',
      port: proxy.port?.number,
    },
  };
}

/** Builds the scope of one Sidecar (undefined: the default, importing all) for `namespace`. */
export function buildSidecarScope(
  sidecar: ConfigResource<SidecarSpec> | undefined,
  namespace: string,
  inputs: ScopeInputs,
): SidecarScope {
  const spec = sidecar?.spec;
  const egressSpecs = spec?.egress?.length ? spec.egress : [{ hosts: ['*/*'] }];
  const listeners: ListenerSpec[] = egressSpecs.map((e) => {
    const port = e.port?.number || undefined;
    return {
      port,
      matchPort: port !== undefined && (e.port?.protocol ?? '').toUpperCase() !== 'HTTP_PROXY',
      hosts: parseEgressHosts(e.hosts ?? [], namespace),
    };
  });
  const services = new Map<string, MeshService>();
  const egress: EgressScope[] = [];
  for (const l of listeners) {
    const own = selectServices(l, inputs, namespace);
    const vses = selectVirtualServices(l, inputs);
    const listenerServices = new Map<string, MeshService>();
    for (const s of own) {
      addService(services, s);
      addService(listenerServices, s);
    }
    // Services the imported VirtualServices route to come along (collectImportedServices).
    for (const vs of vses) {
      for (const [host, ports] of virtualServiceDestinations(vs, namespace)) {
        const s = destinationService(inputs, host, namespace);
        if (!s) continue;
        const trimmed = l.matchPort
          ? withPorts(s, (p) => p === l.port)
          : ports.has(0)
            ? s
            : withPorts(s, (p) => ports.has(p));
        addService(services, trimmed);
        addService(listenerServices, trimmed);
      }
    }
    egress.push({ port: l.port, services: [...listenerServices.values()], virtualServices: vses });
  }
  const inAny = new Set(egress.flatMap((e) => e.virtualServices));
  return {
    name: sidecar ? `${sidecar.metadata.namespace}/${sidecar.metadata.name}` : 'default',
    resource: sidecar,
    namespace,
    services,
    virtualServices: inputs.virtualServices.filter((vs) => inAny.has(vs)),
    egress,
    outboundTrafficPolicy: outboundPolicy(spec, inputs.meshConfig, namespace),
    ingress: (spec?.ingress ?? []).flatMap((i) =>
      i.port?.number
        ? [
            {
              port: i.port.number,
              protocol: i.port.protocol,
              name: i.port.name,
              defaultEndpoint: i.defaultEndpoint,
              captureMode: i.captureMode ?? 'DEFAULT',
            },
          ]
        : [],
    ),
  };
}

/** The egress listener that governs traffic to `port`: its own listener, else the catch-all. */
export function egressFor(scope: SidecarScope, port: number): EgressScope | undefined {
  return (
    scope.egress.find((e) => e.port === port) ?? scope.egress.find((e) => e.port === undefined)
  );
}

/**
 * Istio's choice of Sidecar for a proxy (push context getSidecarScope): in its namespace, the
 * first whose workloadSelector matches its labels, else the first without a selector; else the
 * root namespace's Sidecar without a selector; else none (the default scope).
 */
export function sidecarFor(
  sidecars: readonly ConfigResource<SidecarSpec>[],
  proxy: { namespace: string; labels: Readonly<Record<string, string>> },
  rootNamespace: string,
): ConfigResource<SidecarSpec> | undefined {
  const inNs = sidecars.filter((s) => s.metadata.namespace === proxy.namespace);
  const selected = inNs.find((s) => {
    const labels = s.spec.workloadSelector?.labels;
    return labels && Object.entries(labels).every(([k, v]) => proxy.labels[k] === v);
  });
  return (
    selected ??
    inNs.find((s) => !s.spec.workloadSelector) ??
    sidecars.find((s) => s.metadata.namespace === rootNamespace && !s.spec.workloadSelector)
  );
}
