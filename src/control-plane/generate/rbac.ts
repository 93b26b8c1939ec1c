// AuthorizationPolicy → the RBAC filters of a proxy's listeners, in Istio's order (its authz
// plugin's BuildHTTP/BuildTCP): CUSTOM (shadow rbac + ext_authz), AUDIT (action LOG), DENY, ALLOW.
// HTTP chains get envoy.filters.http.rbac after jwt_authn; TCP chains get
// envoy.filters.network.rbac before tcp_proxy. Sidecars: inbound listeners; gateways: every one.
// No ALLOW policy → no ALLOW filter (everything allowed); ALLOW policies whose rules add up to
// nothing → an ALLOW filter without policies, which allows nothing. `istio.io/dry-run` policies
// become shadow rules. TCP chains also get a DENY for CUSTOM policies whose provider is missing.
import { typed } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { AuthorizationPolicyResource, ProxyAuthorization } from '../model/authorization.js';
import { hasAuthorization } from '../model/authorization.js';
import type { NamedResource } from '../server/snapshot.js';
import { customHttpFilters, customNetworkFilters } from './ext-authz.js';
import { rbacPolicies } from './rbac-rules.js';

type EnvoyObject = Record<string, unknown>;

export const RBAC_HTTP_FILTER = 'envoy.filters.http.rbac';
export const RBAC_NETWORK_FILTER = 'envoy.filters.network.rbac';
const RBAC_HTTP_TYPE = 'envoy.extensions.filters.http.rbac.v3.RBAC';
const RBAC_NETWORK_TYPE = 'envoy.extensions.filters.network.rbac.v3.RBAC';
const HCM_TYPE =
  'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY_TYPE = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';

type Action = 'LOG' | 'DENY' | 'ALLOW';

/** Istio's isDryRun: annotation `istio.io/dry-run` read as Go's strconv.ParseBool. */
function isDryRun(p: AuthorizationPolicyResource): boolean {
  const v = p.metadata.annotations?.['istio.io/dry-run'];
  return v !== undefined && ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(v);
}

/**
 * An RBAC filter's rules for one action (Istio's builder.build): enforced policies as `rules`,
 * dry-run ones as `shadow_rules` (evaluated and counted, never enforced). No policy: no filter.
 */
function rulesFor(
  policies: readonly AuthorizationPolicyResource[],
  action: Action,
  tcp: boolean,
): EnvoyObject | undefined {
  if (policies.length === 0) return undefined;
  const dry = policies.filter(isDryRun);
  const enforced = policies.filter((p) => !isDryRun(p));
  const out: EnvoyObject = {};
  if (enforced.length) out['rules'] = { action, policies: rbacPolicies(enforced, { tcp }) };
  if (dry.length) {
    out['shadow_rules'] = { action, policies: rbacPolicies(dry, { tcp }) };
    const prefix = { ALLOW: 'istio_dry_run_allow_', DENY: 'istio_dry_run_deny_', LOG: '' }[action];
    if (prefix) out['shadow_rules_stat_prefix'] = prefix;
  }
  return out;
}

/** The rules of the AUDIT, DENY and ALLOW filters, in Istio's order, for the actions present. */
function actionRules(a: ProxyAuthorization, tcp: boolean): EnvoyObject[] {
  const out: EnvoyObject[] = [];
  for (const [list, action] of [
    [a.audit, 'LOG'],
    [a.deny, 'DENY'],
    [a.allow, 'ALLOW'],
  ] as const) {
    const rules = rulesFor(list, action, tcp);
    if (rules) out.push(rules);
  }
  return out;
}

/** The HTTP filters authorization adds to an HCM (empty when no policy applies). */
export function authzHttpFilters(a: ProxyAuthorization, model: MeshModel): EnvoyObject[] {
  return [
    ...customHttpFilters(a.custom, model.meshConfig),
    ...actionRules(a, false).map((r) => ({
      name: RBAC_HTTP_FILTER,
      typed_config: typed(RBAC_HTTP_TYPE, r),
    })),
  ];
}

/** The network filters authorization adds before a tcp_proxy. */
export function authzNetworkFilters(a: ProxyAuthorization, model: MeshModel): EnvoyObject[] {
  return [
    ...customNetworkFilters(a.custom, model.meshConfig),
    ...actionRules(a, true).map((r) => ({
      name: RBAC_NETWORK_FILTER,
      typed_config: typed(RBAC_NETWORK_TYPE, { stat_prefix: 'tcp.', ...r }),
    })),
  ];
}

const typeOf = (f: EnvoyObject): string => {
  const t = (f['typed_config'] as EnvoyObject | undefined)?.['@type'];
  return typeof t === 'string' ? t : '';
};

/** Inserts the HTTP filters after metadata exchange and jwt_authn (Istio's inbound order). */
function withHttpFilters(hcm: EnvoyObject, filters: EnvoyObject[]): EnvoyObject {
  const tc = hcm['typed_config'] as EnvoyObject;
  const list = (tc['http_filters'] as EnvoyObject[] | undefined) ?? [];
  if (list.some((f) => f['name'] === RBAC_HTTP_FILTER)) return hcm;
  let at = 0;
  const before = ['istio.metadata_exchange', 'envoy.filters.http.jwt_authn', 'istio_authn'];
  while (at < list.length && before.includes(String(list[at]?.['name']))) at++;
  const http_filters = [...list.slice(0, at), ...filters, ...list.slice(at)];
  return { ...hcm, typed_config: { ...tc, http_filters } };
}

function withChainFilters(
  chain: EnvoyObject,
  http: EnvoyObject[],
  network: EnvoyObject[],
): EnvoyObject {
  const filters = (chain['filters'] as EnvoyObject[] | undefined) ?? [];
  if (filters.some((f) => f['name'] === RBAC_NETWORK_FILTER)) return chain;
  const tcpAt = filters.findIndex((f) => typeOf(f).endsWith(`/${TCP_PROXY_TYPE}`));
  if (tcpAt >= 0) {
    if (network.length === 0) return chain;
    // Istio: the RBAC filters come first on a TCP chain, before stats and tcp_proxy.
    return { ...chain, filters: [...network, ...filters] };
  }
  if (http.length === 0) return chain;
  return {
    ...chain,
    filters: filters.map((f) =>
      typeOf(f).endsWith(`/${HCM_TYPE}`) ? withHttpFilters(f, http) : f,
    ),
  };
}

/**
 * Gateways trust `numTrustedProxies` proxies in front of them (mesh config
 * defaultConfig.gatewayTopology, Istio's xff_num_trusted_hops): x-forwarded-for then says who
 * the client is (remote.ip, remoteIpBlocks).
 */
function withTrustedHops(listeners: NamedResource[], model: MeshModel): NamedResource[] {
  const topology = model.meshConfig.defaultConfig['gatewayTopology'] as EnvoyObject | undefined;
  const hops = Number(topology?.['numTrustedProxies'] ?? 0);
  if (!(hops > 0)) return listeners;
  const set = (chain: EnvoyObject): EnvoyObject => ({
    ...chain,
    filters: ((chain['filters'] as EnvoyObject[] | undefined) ?? []).map((f) =>
      typeOf(f).endsWith(`/${HCM_TYPE}`)
        ? {
            ...f,
            typed_config: {
              ...(f['typed_config'] as EnvoyObject),
              xff_num_trusted_hops: hops,
            },
          }
        : f,
    ),
  });
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    const chains = r['filter_chains'] as EnvoyObject[] | undefined;
    if (!chains) return l;
    return { ...l, resource: { ...r, filter_chains: chains.map(set) } };
  });
}

/** A sidecar's containerPort → the port its inbound listener accepts it on (local mode). */
function sidecarPorts(node: ProxyNode): ReadonlyMap<number, number> {
  const m = new Map<number, number>();
  if (node.type === 'sidecar') for (const p of node.inbound) m.set(p.containerPort, p.listenPort);
  return m;
}

/**
 * Local mode moves each workload port to a listener port of its own; policies (`ports`,
 * `destination.port`) name the workload's port, which in Istio is the port the connection reaches
 * (iptables keeps it). So destination_port matchers name the listener's port instead.
 */
function withLocalPorts<T>(x: T, ports: ReadonlyMap<number, number>): T {
  if (ports.size === 0 || x === null || typeof x !== 'object') return x;
  if (Array.isArray(x)) return x.map((e: unknown) => withLocalPorts(e, ports)) as T;
  const out: EnvoyObject = {};
  for (const [k, v] of Object.entries(x as EnvoyObject)) {
    out[k] =
      k === 'destination_port' && typeof v === 'number'
        ? (ports.get(v) ?? v)
        : withLocalPorts(v, ports);
  }
  return out as T;
}

/**
 * Adds authorization to a proxy's listeners as Istio's authz plugin does: a sidecar's inbound
 * listeners, every listener of a gateway. A no-op when no AuthorizationPolicy applies.
 */
export function withAuthorization(
  listeners: NamedResource[],
  node: ProxyNode,
  model: MeshModel | undefined,
): NamedResource[] {
  if (!model) return listeners;
  if (node.type !== 'sidecar') listeners = withTrustedHops(listeners, model);
  const a = model.authorizationFor(node);
  if (!hasAuthorization(a)) return listeners;
  const ports = sidecarPorts(node);
  const http = authzHttpFilters(a, model).map((f) => withLocalPorts(f, ports));
  const network = authzNetworkFilters(a, model).map((f) => withLocalPorts(f, ports));
  return listeners.map((l) => {
    const r = l.resource as EnvoyObject;
    if (node.type === 'sidecar' && r['traffic_direction'] !== 'INBOUND') return l;
    const chains = r['filter_chains'] as EnvoyObject[] | undefined;
    const dflt = r['default_filter_chain'] as EnvoyObject | undefined;
    if (!chains && !dflt) return l;
    const resource: EnvoyObject = { ...r };
    if (chains) resource['filter_chains'] = chains.map((c) => withChainFilters(c, http, network));
    if (dflt) resource['default_filter_chain'] = withChainFilters(dflt, http, network);
    return { ...l, resource };
  });
}
