// The ingress gateway in local mode: Istio's default-profile identity, host ports for Gateway
// server ports, and the URLs worth printing (a bound VirtualService's first exact/prefix URI).
import type { ConfigResource } from '../config/resource.js';

/** Istio's default profile installs one ingress gateway with these labels and names. */
export const INGRESS = {
  name: 'istio-ingressgateway-0',
  namespace: 'istio-system',
  workloadName: 'istio-ingressgateway',
  serviceAccount: 'istio-ingressgateway-service-account',
  labels: { istio: 'ingressgateway', app: 'istio-ingressgateway' } as Readonly<
    Record<string, string>
  >,
} as const;

interface GatewaySpec {
  readonly selector?: Readonly<Record<string, string>>;
  readonly servers?: readonly {
    readonly port?: { readonly number?: number; readonly protocol?: string };
    readonly hosts?: readonly string[];
  }[];
}

interface VirtualServiceSpec {
  readonly gateways?: readonly string[];
  readonly http?: readonly {
    readonly match?: readonly {
      readonly uri?: { readonly exact?: string; readonly prefix?: string };
    }[];
  }[];
}

/** Local mode has no privileged ports: P when P >= 1024, else 8000 + P (80 → 8080). */
export function hostPortFor(port: number): number {
  return port >= 1024 ? port : 8000 + port;
}

/** A Gateway applies to a proxy whose labels include all of its selector's (Istio API). */
export function selects(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
): boolean {
  return Object.entries(selector ?? {}).every(([k, v]) => labels[k] === v);
}

function gatewaysFor(
  resources: readonly ConfigResource[],
  labels: Readonly<Record<string, string>>,
): ConfigResource<GatewaySpec>[] {
  return resources.filter(
    (r): r is ConfigResource<GatewaySpec> =>
      r.kind === 'Gateway' && selects((r.spec as GatewaySpec).selector, labels),
  );
}

/** The distinct server port numbers of the Gateways that select `labels`, in file order. */
export function gatewayServerPorts(
  resources: readonly ConfigResource[],
  labels: Readonly<Record<string, string>>,
): number[] {
  const out: number[] = [];
  for (const gw of gatewaysFor(resources, labels)) {
    for (const server of gw.spec.servers ?? []) {
      const n = server.port?.number;
      if (typeof n === 'number' && !out.includes(n)) out.push(n);
    }
  }
  return out;
}

/** `http://localhost:<hostPort><path>` per Gateway server, path from a bound VirtualService. */
export function gatewayUrls(
  resources: readonly ConfigResource[],
  ports: readonly { port: number; hostPort: number }[],
  labels: Readonly<Record<string, string>> = INGRESS.labels,
): string[] {
  const urls: string[] = [];
  for (const gw of gatewaysFor(resources, labels)) {
    const uri = firstBoundUri(resources, gw);
    for (const server of gw.spec.servers ?? []) {
      const hostPort = ports.find((p) => p.port === server.port?.number)?.hostPort;
      if (hostPort === undefined) continue;
      const protocol = (server.port?.protocol ?? 'HTTP').toUpperCase();
      const scheme = protocol === 'HTTPS' || protocol === 'TLS' ? 'https' : 'http';
      const url = `${scheme}://localhost:${hostPort}${uri}`;
      if (!urls.includes(url)) urls.push(url);
    }
  }
  return urls;
}

/**
 * A VirtualService binds to a Gateway named in its `gateways`, either `<ns>/<name>` or a bare
 * name, which means the VirtualService's own namespace (Istio API, VirtualService.gateways).
 */
function firstBoundUri(resources: readonly ConfigResource[], gw: ConfigResource): string {
  for (const r of resources) {
    if (r.kind !== 'VirtualService') continue;
    const spec = r.spec as VirtualServiceSpec;
    const bound = (spec.gateways ?? []).some((g) => {
      const [ns, name] = g.includes('/') ? g.split('/', 2) : [r.metadata.namespace, g];
      return name === gw.metadata.name && ns === gw.metadata.namespace;
    });
    if (!bound) continue;
    for (const http of spec.http ?? []) {
      for (const m of http.match ?? []) {
        const uri = m.uri?.exact ?? m.uri?.prefix;
        if (uri) return uri.startsWith('/') ? uri : `/${uri}`;
      }
    }
  }
  return '';
}
