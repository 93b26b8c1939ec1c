// envoy.config.listener.v3.Listener → a frozen ListenerConfig: the socket address and the
// network filters of its filter chain(s).
import { ConfigError, inField } from '../config-error.js';
import { messageNameOf } from '../../xds/types.js';
import type { HcmConfig } from '../filters/network/http_connection_manager/config.js';
import { compileHcm } from '../filters/network/http_connection_manager/config.js';

type Obj = Record<string, unknown>;

export interface FilterChainConfig {
  readonly name: string;
  readonly hcm: HcmConfig;
}

export interface ListenerConfig {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly direction: string;
  readonly filterChains: readonly FilterChainConfig[];
  readonly source: Readonly<Obj>;
}

const HCM = 'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';

function compileFilterChain(fc: Obj): FilterChainConfig {
  if (fc['filter_chain_match'] && Object.keys(fc['filter_chain_match'] as Obj).length > 0) {
    throw new ConfigError('filter_chain_match', 'filter chain matching is not supported yet');
  }
  const filters = (fc['filters'] as Obj[] | undefined) ?? [];
  if (filters.length !== 1)
    throw new ConfigError(
      'filters',
      'exactly one network filter (http_connection_manager) is supported',
    );
  const f = filters[0] as Obj;
  const typed = (f['typed_config'] as Obj | undefined) ?? {};
  const type = messageNameOf(String(typed['@type'] ?? ''));
  if (type !== HCM)
    throw new ConfigError(
      'filters[0].typed_config',
      `network filter ${String(f['name'])} (${type}) is not supported`,
    );
  return {
    name: String(fc['name'] ?? ''),
    hcm: inField('filters[0].typed_config', () => compileHcm(typed)),
  };
}

export function compileListener(l: Obj): ListenerConfig {
  const name = l['name'];
  if (typeof name !== 'string' || !name) throw new ConfigError('name', 'a listener needs a name');
  return inField(`Listener ${name}`, () => {
    const socket = ((l['address'] as Obj | undefined)?.['socket_address'] as Obj | undefined) ?? {};
    const address = socket['address'];
    const port = Number(socket['port_value']);
    if (typeof address !== 'string' || !address)
      throw new ConfigError('address.socket_address.address', 'required');
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new ConfigError('address.socket_address.port_value', 'invalid port');
    const chains = (l['filter_chains'] as Obj[] | undefined) ?? [];
    if (chains.length !== 1)
      throw new ConfigError('filter_chains', 'exactly one filter chain is supported');
    return Object.freeze({
      name,
      address,
      port,
      direction: String(l['traffic_direction'] ?? 'UNSPECIFIED'),
      filterChains: chains.map((fc, i) =>
        inField(`filter_chains[${i}]`, () => compileFilterChain(fc)),
      ),
      source: l,
    });
  });
}
