// Kind names as kubectl prints and accepts them: `virtualservice.networking.istio.io`, plural
// and short names (vs, dr, gw, se, svc), case-insensitive.

export interface KindInfo {
  readonly kind: string;
  /** API group; empty for core Kubernetes kinds. */
  readonly group: string;
  readonly plural: string;
  readonly short: readonly string[];
}

function plural(kind: string): string {
  const lower = kind.toLowerCase();
  return /[^aeiou]y$/.test(lower) ? `${lower.slice(0, -1)}ies` : `${lower}s`;
}

const k = (kind: string, group: string, short: string[] = []): KindInfo => ({
  kind,
  group,
  plural: plural(kind),
  short,
});

export const KINDS: readonly KindInfo[] = [
  k('VirtualService', 'networking.istio.io', ['vs']),
  k('DestinationRule', 'networking.istio.io', ['dr']),
  k('Gateway', 'networking.istio.io', ['gw']),
  k('ServiceEntry', 'networking.istio.io', ['se']),
  k('WorkloadEntry', 'networking.istio.io', ['we']),
  k('WorkloadGroup', 'networking.istio.io', ['wg']),
  k('Sidecar', 'networking.istio.io'),
  k('EnvoyFilter', 'networking.istio.io'),
  k('ProxyConfig', 'networking.istio.io'),
  k('PeerAuthentication', 'security.istio.io', ['pa']),
  k('RequestAuthentication', 'security.istio.io', ['ra']),
  k('AuthorizationPolicy', 'security.istio.io', ['ap']),
  k('Telemetry', 'telemetry.istio.io'),
  k('WasmPlugin', 'extensions.istio.io'),
  k('Service', '', ['svc']),
  k('Secret', ''),
  k('ConfigMap', '', ['cm']),
  k('Workload', 'skiff.dev', ['wl']),
];

/** The kind a user typed (`vs`, `virtualservices`, `VirtualService.networking.istio.io`, ...). */
export function resolveKind(input: string): KindInfo | undefined {
  const name = input.toLowerCase();
  return KINDS.find((info) => {
    const names = [info.kind.toLowerCase(), info.plural, ...info.short];
    if (info.group) names.push(...names.map((n) => `${n}.${info.group}`));
    return names.includes(name);
  });
}

/** `virtualservice.networking.istio.io` (kubectl's resource name; `service` for core kinds). */
export function resourceTypeName(kind: string): string {
  const info = resolveKind(kind);
  const lower = kind.toLowerCase();
  return info?.group ? `${lower}.${info.group}` : lower;
}
