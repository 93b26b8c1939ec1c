// The route side of a DestinationRule's consistentHash: Envoy route hash_policy entries, as
// Istio's ConsistentHashToHashPolicy / HashForHTTPDestination / hashForService produce them
// (pilot/pkg/networking/core/route/route.go).
import type { DestinationRuleSpec } from '../../config/kinds.js';
import { resolveHost } from '../model/hosts.js';
import type { MeshModel } from '../model/mesh-model.js';
import { toProtoDuration } from './durations.js';

type EnvoyObject = Record<string, unknown>;

interface ConsistentHash {
  httpHeaderName?: string;
  httpCookie?: {
    name: string;
    path?: string;
    ttl?: string;
    attributes?: { name: string; value?: string }[];
  };
  useSourceIp?: boolean;
  httpQueryParameterName?: string;
}

interface LbView {
  loadBalancer?: { consistentHash?: ConsistentHash };
  portLevelSettings?: {
    port?: { number?: number };
    loadBalancer?: { consistentHash?: ConsistentHash };
  }[];
}

/** Istio's ConsistentHashToHashPolicy. */
export function consistentHashToHashPolicy(h: ConsistentHash | undefined): EnvoyObject | undefined {
  if (!h) return undefined;
  if (h.httpHeaderName) return { header: { header_name: h.httpHeaderName } };
  if (h.httpCookie) {
    const c = h.httpCookie;
    const cookie: EnvoyObject = { name: c.name };
    if (c.ttl !== undefined) cookie['ttl'] = toProtoDuration(c.ttl);
    if (c.path) cookie['path'] = c.path;
    if (c.attributes?.length)
      cookie['attributes'] = c.attributes.map((a) => ({ name: a.name, value: a.value ?? '' }));
    return { cookie };
  }
  if (h.useSourceIp) return { connection_properties: { source_ip: true } };
  if (h.httpQueryParameterName) return { query_parameter: { name: h.httpQueryParameterName } };
  return undefined;
}

function portHash(
  policy: LbView | undefined,
  port: number | undefined,
): ConsistentHash | undefined {
  if (port === undefined) return undefined;
  return policy?.portLevelSettings?.find((p) => p.port?.number === port)?.loadBalancer
    ?.consistentHash;
}

function ruleFor(
  model: MeshModel,
  host: string,
  fallbackNamespace: string,
): DestinationRuleSpec | undefined {
  // The rule the proxy's clusters were built with: looked up from the proxy's namespace.
  return model.destinationRuleFor(host, model.proxy?.namespace ?? fallbackNamespace)?.spec;
}

/**
 * Istio's HashForHTTPDestination: the subset's port-level hash, the subset's, the rule's
 * port-level one (only when the destination names a port), the rule's.
 */
export function hashPolicyForDestination(
  model: MeshModel,
  dest: { host: string; subset?: string; port?: { number?: number } },
  vsNamespace: string,
): EnvoyObject | undefined {
  const host = resolveHost(dest.host, vsNamespace);
  const dr = ruleFor(model, host, vsNamespace);
  if (!dr) return undefined;
  const rule = dr.trafficPolicy as LbView | undefined;
  const port = dest.port?.number;
  const subset = dest.subset
    ? (dr.subsets?.find((s) => s.name === dest.subset)?.trafficPolicy as LbView | undefined)
    : undefined;
  return consistentHashToHashPolicy(
    portHash(subset, port) ??
      subset?.loadBalancer?.consistentHash ??
      portHash(rule, port) ??
      rule?.loadBalancer?.consistentHash,
  );
}

/** Istio's hashForService, for a service's default route (no VirtualService). */
export function hashPolicyForService(
  model: MeshModel,
  host: string,
  port: number,
): EnvoyObject | undefined {
  const svc = model.services.get(host);
  const dr = ruleFor(model, host, svc?.namespace ?? '');
  const rule = dr?.trafficPolicy as LbView | undefined;
  return consistentHashToHashPolicy(portHash(rule, port) ?? rule?.loadBalancer?.consistentHash);
}

/** hashPolicyForService for an `outbound|port||host` cluster name. */
export function hashPolicyForCluster(model: MeshModel, cluster: string): EnvoyObject | undefined {
  const [direction, port, , host] = cluster.split('|');
  if (direction !== 'outbound' || !host) return undefined;
  return hashPolicyForService(model, host, Number(port));
}
