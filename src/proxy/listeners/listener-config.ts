// envoy.config.listener.v3.Listener → a frozen ListenerConfig: where it listens (a socket
// address, or an internal listener other listeners hand connections to), its listener filters
// (tls_inspector), and its filter chains with their matches, TLS termination and network filter.
import { ConfigError, inField } from '../config-error.js';
import { messageNameOf } from '../../xds/types.js';
import type { HcmConfig } from '../filters/network/http_connection_manager/config.js';
import { compileHcm } from '../filters/network/http_connection_manager/config.js';
import type { TcpProxyConfig } from '../filters/network/tcp_proxy/config.js';
import { compileTcpProxy } from '../filters/network/tcp_proxy/config.js';
import type { NetworkRbacConfig } from '../filters/network/rbac/config.js';
import { NETWORK_RBAC_TYPE, compileNetworkRbac } from '../filters/network/rbac/config.js';
import { compileTlsInspector } from '../filters/listener/tls_inspector/config.js';
import { durationMs } from '../routes/duration.js';
import type { DownstreamTlsConfig } from '../tls/downstream.js';
import { compileDownstreamTransportSocket } from '../tls/downstream.js';
import type { ListenerFilter } from './connection.js';
import type { StatsPluginConfig } from '../telemetry/metrics/plugin-config.js';
import {
  TYPED_STRUCT,
  UDPA_TYPED_STRUCT,
  compileNetworkStatsFilter,
} from '../telemetry/metrics/filters.js';
import type { ChainMatch } from './filter-chain-match.js';
import { compileFilterChainMatch, matchKey, needsInspection } from './filter-chain-match.js';

type Obj = Record<string, unknown>;

/** The terminal network filter of a chain. */
export type NetworkFilterConfig =
  | { readonly kind: 'http_connection_manager'; readonly config: HcmConfig }
  | { readonly kind: 'tcp_proxy'; readonly config: TcpProxyConfig };

export interface FilterChainConfig {
  readonly name: string;
  readonly match: ChainMatch;
  readonly filter: NetworkFilterConfig;
  /** The connection manager, when the chain's filter is one (most chains). */
  readonly hcm: HcmConfig | undefined;
  /** TLS termination (transport_socket envoy.transport_sockets.tls); undefined: plaintext. */
  readonly tls: DownstreamTlsConfig | undefined;
  /** Istio's `istio.stats` network filter before a tcp_proxy (TypedStruct stats.PluginConfig). */
  readonly istioStats?: StatsPluginConfig;
  /** envoy.filters.network.rbac filters before the terminal one, in order (authorization). */
  readonly rbac?: readonly NetworkRbacConfig[];
}

export interface ListenerConfig {
  readonly name: string;
  /** '' for an internal listener. */
  readonly address: string;
  /** 0 for an internal listener, or to let the kernel pick. */
  readonly port: number;
  /** An internal listener (envoy_internal_address): reached only by handing it a connection. */
  readonly internal: boolean;
  readonly direction: string;
  readonly listenerFilters: readonly ListenerFilter[];
  /** How long listener filters may wait for bytes (Envoy's default 15 s; 0 = forever). */
  readonly listenerFiltersTimeoutMs: number;
  /** On that timeout: carry on with what is known (true) or close the connection (false). */
  readonly continueOnListenerFiltersTimeout: boolean;
  readonly filterChains: readonly FilterChainConfig[];
  readonly defaultFilterChain: FilterChainConfig | undefined;
  readonly source: Readonly<Obj>;
}

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const TCP_PROXY = 'envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy';
const TLS_INSPECTOR = 'envoy.extensions.filters.listener.tls_inspector.v3.TlsInspector';

/** Listener filters skiff runs, by typed_config message name. */
const LISTENER_FILTERS: Readonly<Record<string, (typed: Obj) => ListenerFilter>> = {
  [TLS_INSPECTOR]: compileTlsInspector,
};

function compileNetworkFilter(f: Obj): NetworkFilterConfig {
  const typed = (f['typed_config'] as Obj | undefined) ?? {};
  const type = messageNameOf(String(typed['@type'] ?? ''));
  if (type === HCM)
    return {
      kind: 'http_connection_manager',
      config: inField('typed_config', () => compileHcm(typed)),
    };
  if (type === TCP_PROXY)
    return { kind: 'tcp_proxy', config: inField('typed_config', () => compileTcpProxy(typed)) };
  throw new ConfigError(
    'typed_config',
    `network filter ${String(f['name'])} (${type || 'no type'}) is not supported`,
  );
}

function compileFilterChain(fc: Obj): FilterChainConfig {
  const tls = compileDownstreamTransportSocket(
    fc['transport_socket'] as Obj | undefined,
    fc['transport_socket_connect_timeout'],
  );
  const all = (fc['filters'] as Obj[] | undefined) ?? [];
  // Istio's istio.stats network filter may precede the terminal one (tcp_proxy chains).
  let istioStats: StatsPluginConfig | undefined;
  const rbac: NetworkRbacConfig[] = [];
  const filters = all.filter((f, i) => {
    const typed = (f['typed_config'] as Obj | undefined) ?? {};
    const type = messageNameOf(String(typed['@type'] ?? ''));
    if (type === NETWORK_RBAC_TYPE && i < all.length - 1) {
      rbac.push(inField(`filters[${i}].typed_config`, () => compileNetworkRbac(typed)));
      return false;
    }
    if (i === all.length - 1 || (type !== TYPED_STRUCT && type !== UDPA_TYPED_STRUCT)) return true;
    istioStats = inField(`filters[${i}].typed_config`, () => compileNetworkStatsFilter(typed));
    return false;
  });
  if (filters.length !== 1)
    throw new ConfigError(
      'filters',
      'exactly one network filter (http_connection_manager or tcp_proxy) is supported',
    );
  const filter = inField(`filters[${all.length - 1}]`, () =>
    compileNetworkFilter(filters[0] as Obj),
  );
  return {
    name: String(fc['name'] ?? ''),
    match: inField('filter_chain_match', () =>
      compileFilterChainMatch(fc['filter_chain_match'] as Obj | undefined),
    ),
    filter,
    hcm: filter.kind === 'http_connection_manager' ? filter.config : undefined,
    tls,
    ...(istioStats ? { istioStats } : {}),
    ...(rbac.length ? { rbac } : {}),
  };
}

function compileAddress(l: Obj): { address: string; port: number; internal: boolean } {
  const addr = (l['address'] as Obj | undefined) ?? {};
  const internal = addr['envoy_internal_address'] as Obj | undefined;
  if (internal) {
    const name = internal['server_listener_name'];
    if (name !== l['name'])
      throw new ConfigError(
        'address.envoy_internal_address.server_listener_name',
        'must be the listener’s own name',
      );
    if (!l['internal_listener'])
      throw new ConfigError('internal_listener', 'required with an envoy_internal_address');
    return { address: '', port: 0, internal: true };
  }
  const socket = (addr['socket_address'] as Obj | undefined) ?? {};
  const address = socket['address'];
  const port = Number(socket['port_value']);
  if (typeof address !== 'string' || !address)
    throw new ConfigError('address.socket_address.address', 'required');
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigError('address.socket_address.port_value', 'invalid port');
  return { address, port, internal: false };
}

function compileListenerFilters(list: Obj[]): ListenerFilter[] {
  const out: ListenerFilter[] = [];
  list.forEach((f, i) =>
    inField(`listener_filters[${i}]`, () => {
      const typed = (f['typed_config'] as Obj | undefined) ?? {};
      const type = messageNameOf(String(typed['@type'] ?? ''));
      const make = LISTENER_FILTERS[type];
      if (make) {
        out.push(make(typed));
        return;
      }
      // original_dst only matters with transparent capture, which local mode does not use.
      if (String(f['name']) === 'envoy.filters.listener.original_dst') return;
      throw new ConfigError(
        'typed_config',
        `listener filter ${String(f['name'])} (${type || 'no type'}) is not supported`,
      );
    }),
  );
  return out;
}

export function compileListener(l: Obj): ListenerConfig {
  const name = l['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError('name', 'a listener needs a name');
  return inField(`Listener ${name}`, () => {
    const { address, port, internal } = compileAddress(l);
    const chains = ((l['filter_chains'] as Obj[] | undefined) ?? []).map((fc, i) =>
      inField(`filter_chains[${i}]`, () => compileFilterChain(fc)),
    );
    const defaultSource = l['default_filter_chain'] as Obj | undefined;
    const defaultFilterChain = defaultSource
      ? inField('default_filter_chain', () => compileFilterChain(defaultSource))
      : undefined;
    if (chains.length === 0 && !defaultFilterChain)
      throw new ConfigError('filter_chains', 'a listener needs a filter chain');
    // Envoy refuses two chains with the same match: the second could never be chosen.
    const seen = new Map<string, number>();
    chains.forEach((c, i) => {
      const key = matchKey(c.match);
      const first = seen.get(key);
      if (first !== undefined)
        throw new ConfigError(
          `filter_chains[${i}].filter_chain_match`,
          `the same match as filter_chains[${first}]`,
        );
      seen.set(key, i);
    });
    const listenerFilters = compileListenerFilters(
      (l['listener_filters'] as Obj[] | undefined) ?? [],
    );
    if (!listenerFilters.length && needsInspection(chains.map((c) => c.match)))
      throw new ConfigError(
        'listener_filters',
        'filter chains match on server_names, transport_protocol or application_protocols: a tls_inspector is needed',
      );
    return Object.freeze({
      name,
      address,
      port,
      internal,
      direction: String(l['traffic_direction'] ?? 'UNSPECIFIED'),
      listenerFilters,
      listenerFiltersTimeoutMs:
        l['listener_filters_timeout'] === undefined
          ? 15_000
          : durationMs(l['listener_filters_timeout'], 'listener_filters_timeout'),
      continueOnListenerFiltersTimeout: l['continue_on_listener_filters_timeout'] === true,
      filterChains: chains,
      defaultFilterChain,
      source: l,
    });
  });
}
