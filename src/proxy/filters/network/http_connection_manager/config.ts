// envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager → frozen
// settings: where routes come from, the HTTP filter chain, header and path handling.
import type { XfccConfig } from '../../../tls/xfcc.js';
import { compileXfcc } from '../../../tls/xfcc.js';
import type { CodecOptions } from './codec-config.js';
import { compileCodecOptions } from './codec-config.js';
import type { EscapedSlashesAction } from './path.js';
import { ConfigError, inField } from '../../../config-error.js';
import { RouteTable } from '../../../routes/route-table.js';
import type { HttpStream } from '../../../http/stream.js';
import type { HttpFilter, HttpFilterFactory } from '../../http/types.js';
import type { FilterContext } from '../../http/filter-stats.js';
import { CORS_TYPE } from '../../http/cors/config.js';
import { makeCorsFilter } from '../../http/cors/filter.js';
import { FAULT_TYPE } from '../../http/fault/config.js';
import { makeFaultFilter } from '../../http/fault/filter.js';
import { GRPC_WEB_TYPE, makeGrpcWebFilter } from '../../http/grpc_web/filter.js';
import { JWT_AUTHN_TYPE } from '../../http/jwt_authn/config.js';
import { makeJwtAuthnFilter } from '../../http/jwt_authn/filter.js';
import { RBAC_TYPE } from '../../http/rbac/config.js';
import { makeRbacFilter } from '../../http/rbac/filter.js';
import { EXT_AUTHZ_TYPE } from '../../http/ext_authz/config.js';
import { makeExtAuthzFilter } from '../../http/ext_authz/filter.js';
import { DISABLED, perFilterConfig } from '../../http/per-route.js';
import type { RouterConfig } from '../../http/router/config.js';
import { compileRouterConfig } from '../../http/router/config.js';
import { messageNameOf } from '../../../../xds/types.js';
import {
  TYPED_STRUCT,
  UDPA_TYPED_STRUCT,
  makeTypedStructHttpFilter,
} from '../../../telemetry/metrics/filters.js';
import type { AccessLogs } from '../../../telemetry/access-log/config.js';
import { compileAccessLogs } from '../../../telemetry/access-log/config.js';
import type { TracingConfig } from '../../../telemetry/tracing/config.js';
import { compileTracing } from '../../../telemetry/tracing/config.js';

type Obj = Record<string, unknown>;

const ESCAPED_SLASHES_ACTIONS: readonly EscapedSlashesAction[] = [
  'KEEP_UNCHANGED', // IMPLEMENTATION_SPECIFIC_DEFAULT (0): Envoy keeps them
  'KEEP_UNCHANGED',
  'REJECT_REQUEST',
  'UNESCAPE_AND_REDIRECT',
  'UNESCAPE_AND_FORWARD',
];

function escapedSlashesAction(v: unknown): EscapedSlashesAction {
  if (v === undefined || v === 'IMPLEMENTATION_SPECIFIC_DEFAULT') return 'KEEP_UNCHANGED';
  const known = typeof v === 'number' ? ESCAPED_SLASHES_ACTIONS[v] : undefined;
  if (known) return known;
  if (typeof v === 'string' && (ESCAPED_SLASHES_ACTIONS as readonly string[]).includes(v))
    return v as EscapedSlashesAction;
  throw new ConfigError('', `unknown action ${JSON.stringify(v)}`);
}

export type RouteSource =
  | { readonly kind: 'rds'; readonly name: string }
  | { readonly kind: 'inline'; readonly table: RouteTable };

export interface HcmConfig extends CodecOptions {
  readonly statPrefix: string;
  readonly routes: RouteSource;
  /** Filters before the router, in order. */
  readonly filters: readonly HttpFilterFactory[];
  readonly router: RouterConfig;
  readonly useRemoteAddress: boolean;
  /** forward_client_cert_details and set_current_client_cert_details (tls/xfcc.ts). */
  readonly xfcc: XfccConfig;
  readonly generateRequestId: boolean;
  readonly normalizePath: boolean;
  readonly mergeSlashes: boolean;
  /** path_with_escaped_slashes_action (path.ts); Envoy's default keeps them. */
  readonly escapedSlashes: EscapedSlashesAction;
  readonly serverName: string;
  readonly allowAbsoluteUrl: boolean;
  /** access_log: undefined when there is none. */
  readonly accessLog: AccessLogs | undefined;
  /** HCM tracing: undefined when the listener does not trace. */
  readonly tracing: TracingConfig | undefined;
}

const ROUTER = 'envoy.extensions.filters.http.router.v3.Router';

/** HTTP filters skiff runs, by typed_config message name (later issues add jwt, rbac). */
const HTTP_FILTERS: Readonly<
  Record<string, (typed: Obj, ctx: FilterContext) => HttpFilterFactory>
> = {
  [FAULT_TYPE]: makeFaultFilter,
  [CORS_TYPE]: makeCorsFilter,
  [GRPC_WEB_TYPE]: makeGrpcWebFilter,
  [JWT_AUTHN_TYPE]: makeJwtAuthnFilter,
  [RBAC_TYPE]: makeRbacFilter,
  [EXT_AUTHZ_TYPE]: makeExtAuthzFilter,
  // Istio's own filters (istio.metadata_exchange, istio.stats), whose protos Envoy lacks.
  [TYPED_STRUCT]: makeTypedStructHttpFilter,
  [UDPA_TYPED_STRUCT]: makeTypedStructHttpFilter,
};

/**
 * HttpFilter.disabled: the filter runs only on routes whose typed_per_filter_config names it
 * (a FilterConfig that does not disable it), as Envoy enables a disabled-by-default filter.
 */
function enabledPerRoute(factory: HttpFilterFactory): HttpFilterFactory {
  const { name, filter: inner } = factory;
  const enabled = (stream: HttpStream): boolean => {
    const c = perFilterConfig(stream, name);
    return c !== undefined && c !== DISABLED;
  };
  const filter: HttpFilter = {
    ...(inner.stats ? { stats: inner.stats } : {}),
    ...(inner.onRequest
      ? { onRequest: (stream) => (enabled(stream) ? inner.onRequest?.(stream) : undefined) }
      : {}),
    ...(inner.onResponseHeaders
      ? {
          onResponseHeaders: (stream, status, headers) => {
            if (enabled(stream)) inner.onResponseHeaders?.(stream, status, headers);
          },
        }
      : {}),
  };
  return { ...factory, filter };
}

function compileHttpFilters(
  list: Obj[],
  statPrefix: string,
  xffNumTrustedHops = 0,
): { filters: HttpFilterFactory[]; router: RouterConfig } {
  const filters: HttpFilterFactory[] = [];
  let router: RouterConfig | undefined;
  list.forEach((f, i) =>
    inField(`http_filters[${i}]`, () => {
      const typed = (f['typed_config'] as Obj | undefined) ?? {};
      const type = messageNameOf(String(typed['@type'] ?? ''));
      if (router) throw new ConfigError('', 'the router must be the last HTTP filter');
      if (type === ROUTER) {
        router = compileRouterConfig(typed);
        return;
      }
      const make = HTTP_FILTERS[type];
      if (!make) {
        if (f['is_optional'] === true) return;
        throw new ConfigError(
          'typed_config',
          `HTTP filter ${String(f['name'])} (${type || 'no type'}) is not supported`,
        );
      }
      const ctx: FilterContext = { name: String(f['name'] ?? ''), statPrefix, xffNumTrustedHops };
      const factory = inField('typed_config', () => make(typed, ctx));
      filters.push(f['disabled'] === true ? enabledPerRoute(factory) : factory);
    }),
  );
  if (!router)
    throw new ConfigError('http_filters', 'the last HTTP filter must be envoy.filters.http.router');
  return { filters, router };
}

export function compileHcm(typed: Obj): HcmConfig {
  let routes: RouteSource;
  if (typed['rds']) {
    const name = (typed['rds'] as Obj)['route_config_name'];
    if (typeof name !== 'string' || !name)
      throw new ConfigError('rds.route_config_name', 'required');
    routes = { kind: 'rds', name };
  } else if (typed['route_config']) {
    routes = {
      kind: 'inline',
      table: inField('route_config', () => RouteTable.compile(typed['route_config'] as Obj)),
    };
  } else {
    throw new ConfigError('', 'needs rds or route_config (scoped_routes is not supported)');
  }
  const { filters, router } = compileHttpFilters(
    (typed['http_filters'] as Obj[] | undefined) ?? [],
    String(typed['stat_prefix'] ?? ''),
    Number(typed['xff_num_trusted_hops'] ?? 0),
  );
  const protocolOptions = (typed['http_protocol_options'] as Obj | undefined) ?? {};
  return Object.freeze({
    ...compileCodecOptions(typed),
    statPrefix: String(typed['stat_prefix'] ?? ''),
    routes,
    filters,
    router,
    useRemoteAddress: typed['use_remote_address'] === true,
    xfcc: compileXfcc(typed),
    generateRequestId: typed['generate_request_id'] !== false,
    normalizePath: typed['normalize_path'] === true,
    mergeSlashes: typed['merge_slashes'] === true,
    escapedSlashes: inField('path_with_escaped_slashes_action', () =>
      escapedSlashesAction(typed['path_with_escaped_slashes_action']),
    ),
    serverName: String(typed['server_name'] ?? 'envoy'),
    // Envoy accepts absolute-form requests unless told otherwise.
    allowAbsoluteUrl: protocolOptions['allow_absolute_url'] !== false,
    accessLog: compileAccessLogs(typed['access_log']),
    tracing: typed['tracing']
      ? inField('tracing', () => compileTracing(typed['tracing'] as Obj))
      : undefined,
  });
}
