// The two Istio HTTP filters skiff recognises in a connection manager's chain, both carried as
// xds.type.v3.TypedStruct (their protos are Istio's, not Envoy's): `istio.stats`
// (type.googleapis.com/stats.PluginConfig) and `istio.metadata_exchange`
// (type.googleapis.com/io.istio.http.peer_metadata.Config). Their work is done by the
// connection manager's HcmTelemetry, which the proxy's metrics bind at run time; the filter
// objects only carry the compiled config.
import { ConfigError, inField } from '../../config-error.js';
import type { HttpFilter, HttpFilterFactory } from '../../filters/http/types.js';
import type { FilterContext, FilterStats } from '../../filters/http/filter-stats.js';
import type { StatsPluginConfig } from './plugin-config.js';
import { PLUGIN_CONFIG_TYPE, compilePluginConfig } from './plugin-config.js';

type Obj = Record<string, unknown>;

export const TYPED_STRUCT = 'xds.type.v3.TypedStruct';
export const UDPA_TYPED_STRUCT = 'udpa.type.v1.TypedStruct';
export const PEER_METADATA_TYPE = 'io.istio.http.peer_metadata.Config';

/** peer_metadata's discovery and propagation methods that skiff implements: istio_headers. */
export interface PeerMetadataConfig {
  readonly downstreamDiscovery: boolean;
  readonly upstreamDiscovery: boolean;
  readonly downstreamPropagation: boolean;
  readonly upstreamPropagation: boolean;
}

export class IstioStatsFilter implements HttpFilter {
  /** No counters of its own: the series live in the proxy's registry. */
  declare readonly stats?: FilterStats;
  constructor(readonly config: StatsPluginConfig) {}
}

export class PeerMetadataFilter implements HttpFilter {
  declare readonly stats?: FilterStats;
  constructor(readonly config: PeerMetadataConfig) {}
}

function usesIstioHeaders(list: unknown, field: string): boolean {
  if (list === undefined) return false;
  if (!Array.isArray(list)) throw new ConfigError(field, 'must be a list');
  return (list as Obj[]).some((m, i) => {
    if ('istio_headers' in m) return true;
    // workload_discovery needs Istio's workload metadata xDS (ambient), which skiff does not have.
    if ('workload_discovery' in m) return false;
    throw new ConfigError(`${field}[${i}]`, 'unknown discovery or propagation method');
  });
}

export function compilePeerMetadata(value: Obj): PeerMetadataConfig {
  return Object.freeze({
    downstreamDiscovery: usesIstioHeaders(value['downstream_discovery'], 'downstream_discovery'),
    upstreamDiscovery: usesIstioHeaders(value['upstream_discovery'], 'upstream_discovery'),
    downstreamPropagation: usesIstioHeaders(
      value['downstream_propagation'],
      'downstream_propagation',
    ),
    upstreamPropagation: usesIstioHeaders(value['upstream_propagation'], 'upstream_propagation'),
  });
}

/** The type URL's message name (`type.googleapis.com/stats.PluginConfig` → `stats.PluginConfig`). */
function messageName(url: string): string {
  return url.slice(url.lastIndexOf('/') + 1);
}

/** Unpacks a TypedStruct: its type URL's message name and its Struct value. */
export function typedStruct(typed: Obj): { type: string; value: Obj } {
  const url = String(typed['type_url'] ?? '');
  const value = (typed['value'] as Obj | undefined) ?? {};
  return { type: messageName(url), value };
}

/** HTTP_FILTERS' factory for TypedStruct configs: the Istio filters above, by type_url. */
export function makeTypedStructHttpFilter(typed: Obj, ctx: FilterContext): HttpFilterFactory {
  const { type, value } = typedStruct(typed);
  if (type === PLUGIN_CONFIG_TYPE)
    return {
      name: ctx.name,
      terminal: false,
      filter: new IstioStatsFilter(inField('value', () => compilePluginConfig(value))),
    };
  if (type === PEER_METADATA_TYPE)
    return {
      name: ctx.name,
      terminal: false,
      filter: new PeerMetadataFilter(inField('value', () => compilePeerMetadata(value))),
    };
  throw new ConfigError('type_url', `TypedStruct of ${type || 'no type'} is not supported`);
}

/** A network filter before the terminal one: `istio.stats` is the only one skiff takes. */
export function compileNetworkStatsFilter(typed: Obj): StatsPluginConfig {
  const { type, value } = typedStruct(typed);
  if (type !== PLUGIN_CONFIG_TYPE)
    throw new ConfigError('type_url', `TypedStruct of ${type || 'no type'} is not supported`);
  return inField('value', () => compilePluginConfig(value));
}
