// The parts of a VirtualService HTTP route beyond match and destination, as Istio translates
// them (pilot/pkg/networking/core/route): fault and corsPolicy as per-route filter configs,
// headers as header mutations, mirrors as request_mirror_policies, redirects.
import type { VirtualServiceSpec } from '../../config/kinds.js';
import { typed } from '../../xds/any.js';
import { goDurationSeconds, toProtoDuration } from './durations.js';

type HttpRoute = NonNullable<VirtualServiceSpec['http']>[number];
type StringMatch = { exact?: string; prefix?: string; regex?: string };
type Percent = { value?: number } | undefined;
type EnvoyObject = Record<string, unknown>;

export const FAULT_FILTER = 'envoy.filters.http.fault';
export const CORS_FILTER = 'envoy.filters.http.cors';

/** Istio's `percentage` (a double) as a FractionalPercent over a million. */
export function percentOf(p: Percent): EnvoyObject {
  return { numerator: Math.round((p?.value ?? 0) * 10000), denominator: 'MILLION' };
}

/** An integer percent (the deprecated `percent`, `mirrorPercent`) over a hundred. */
function integerPercent(n: number): EnvoyObject {
  return { numerator: n, denominator: 'HUNDRED' };
}

/** Istio's gRPC status names (grpc.SupportedGRPCStatus). */
const GRPC_STATUS: Readonly<Record<string, number>> = {
  OK: 0,
  CANCELLED: 1,
  UNKNOWN: 2,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  PERMISSION_DENIED: 7,
  RESOURCE_EXHAUSTED: 8,
  FAILED_PRECONDITION: 9,
  ABORTED: 10,
  OUT_OF_RANGE: 11,
  UNIMPLEMENTED: 12,
  INTERNAL: 13,
  UNAVAILABLE: 14,
  DATA_LOSS: 15,
  UNAUTHENTICATED: 16,
};

/** TranslateFault: undefined when neither a delay nor an abort results. */
export function faultConfig(fault: NonNullable<HttpRoute['fault']>): EnvoyObject | undefined {
  const out: EnvoyObject = {};
  const d = fault.delay as
    { fixedDelay?: string; percent?: number; percentage?: Percent } | undefined;
  // Only fixed delays exist in Envoy's filter (Istio drops exponentialDelay with a warning).
  if (d?.fixedDelay) {
    out['delay'] = {
      fixed_delay: toProtoDuration(d.fixedDelay),
      percentage: d.percentage ? percentOf(d.percentage) : integerPercent(d.percent ?? 0),
    };
  }
  const a = fault.abort as
    { httpStatus?: number; grpcStatus?: string; percentage?: Percent } | undefined;
  if (a && (a.httpStatus !== undefined || a.grpcStatus !== undefined)) {
    const abort: EnvoyObject =
      a.httpStatus !== undefined
        ? { http_status: a.httpStatus }
        : { grpc_status: GRPC_STATUS[a.grpcStatus ?? ''] ?? 2 };
    // No percentage: Envoy's default of none (Istio leaves it unset too).
    if (a.percentage) abort['percentage'] = percentOf(a.percentage);
    out['abort'] = abort;
  }
  if (!out['delay'] && !out['abort']) return undefined;
  return typed('envoy.extensions.filters.http.fault.v3.HTTPFault', out);
}

function stringMatcher(m: StringMatch): EnvoyObject {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  return { safe_regex: { regex: m.regex ?? '' } };
}

/** Whole seconds of an Istio duration ("24h") as Envoy's max_age string (Istio: GetSeconds). */
function seconds(duration: string): string {
  return String(Math.floor(goDurationSeconds(duration)));
}

/** TranslateCORSPolicy. */
export function corsConfig(cors: NonNullable<HttpRoute['corsPolicy']>): EnvoyObject {
  const c = cors as NonNullable<HttpRoute['corsPolicy']> & { allowOrigin?: string[] };
  const out: EnvoyObject = {
    // Istio: IGNORE keeps unmatched preflights from the app; anything else forwards them.
    forward_not_matching_preflights: c.unmatchedPreflights !== 'IGNORE',
    filter_enabled: { default_value: { numerator: 100, denominator: 'HUNDRED' } },
  };
  if (c.allowOrigins)
    out['allow_origin_string_match'] = c.allowOrigins.map((m) => stringMatcher(m as StringMatch));
  else if (c.allowOrigin)
    out['allow_origin_string_match'] = c.allowOrigin.map((o) => ({ exact: o }));
  if (c.allowCredentials !== undefined) out['allow_credentials'] = c.allowCredentials;
  if (c.allowHeaders?.length) out['allow_headers'] = c.allowHeaders.join(',');
  if (c.allowMethods?.length) out['allow_methods'] = c.allowMethods.join(',');
  if (c.exposeHeaders?.length) out['expose_headers'] = c.exposeHeaders.join(',');
  if (c.maxAge) out['max_age'] = seconds(c.maxAge);
  return typed('envoy.extensions.filters.http.cors.v3.CorsPolicy', out);
}

type Headers = NonNullable<HttpRoute['headers']>;

/** Header mutations of one Istio `headers` (route or destination level), and any authority. */
export interface HeaderOperations {
  readonly request_headers_to_add?: EnvoyObject[];
  readonly request_headers_to_remove?: string[];
  readonly response_headers_to_add?: EnvoyObject[];
  readonly response_headers_to_remove?: string[];
  /** A `:authority` / `host` set or add: a host rewrite, not a header. */
  readonly authority: string | undefined;
}

const isInternal = (k: string) => k.startsWith(':') || k.toLowerCase() === 'host';
const isAuthority = (k: string) => k.toLowerCase() === ':authority' || k.toLowerCase() === 'host';

/** translateAppendHeaders: set overwrites, add appends; sorted by name; internal ones skipped. */
function options(
  headers: Record<string, string> | undefined,
  append: boolean,
): { list: EnvoyObject[]; authority: string | undefined } {
  let authority: string | undefined;
  const list: EnvoyObject[] = [];
  for (const [key, value] of Object.entries(headers ?? {}).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  )) {
    if (isAuthority(key)) authority = value;
    if (isInternal(key)) continue;
    list.push({
      header: { key, value },
      append_action: append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD',
    });
  }
  return { list, authority };
}

/** TranslateHeadersOperations. */
export function headerOperations(h: Headers): HeaderOperations {
  const reqSet = options(h.request?.set, false);
  const reqAdd = options(h.request?.add, true);
  const respSet = options(h.response?.set, false);
  const respAdd = options(h.response?.add, true);
  const out: Record<string, unknown> = { authority: reqSet.authority ?? reqAdd.authority };
  const reqList = [...reqSet.list, ...reqAdd.list];
  const respList = [...respSet.list, ...respAdd.list];
  const reqRemove = (h.request?.remove ?? []).filter((k) => !isInternal(k));
  const respRemove = (h.response?.remove ?? []).filter((k) => !isInternal(k));
  if (reqList.length) out['request_headers_to_add'] = reqList;
  if (reqRemove.length) out['request_headers_to_remove'] = reqRemove;
  if (respList.length) out['response_headers_to_add'] = respList;
  if (respRemove.length) out['response_headers_to_remove'] = respRemove;
  return out as unknown as HeaderOperations;
}

/** Copies the header mutation fields (not the authority) onto an Envoy route or cluster weight. */
export function putHeaderOperations(target: EnvoyObject, ops: HeaderOperations): void {
  for (const k of [
    'request_headers_to_add',
    'request_headers_to_remove',
    'response_headers_to_add',
    'response_headers_to_remove',
  ] as const) {
    const list = ops[k];
    if (!list?.length) continue;
    target[k] = [...((target[k] as unknown[] | undefined) ?? []), ...list];
  }
}

/**
 * MirrorPercent / MirrorPercentByPolicy: the runtime fraction of one mirror, or undefined for
 * an explicit 0 (no mirroring). Without a percentage every request is mirrored.
 */
export function mirrorFraction(percentage: Percent, percent?: number): EnvoyObject | undefined {
  if (percentage !== undefined) {
    return (percentage.value ?? 0) > 0 ? { default_value: percentOf(percentage) } : undefined;
  }
  if (percent !== undefined)
    return percent > 0 ? { default_value: integerPercent(percent) } : undefined;
  return { default_value: integerPercent(100) };
}

/** A request_mirror_policies entry (trace_sampled false, as Istio sets it). */
export function mirrorPolicy(cluster: string, fraction: EnvoyObject): EnvoyObject {
  return { cluster, runtime_fraction: fraction, trace_sampled: false };
}

const REDIRECT_CODES: Readonly<Record<number, string>> = {
  301: 'MOVED_PERMANENTLY',
  302: 'FOUND',
  303: 'SEE_OTHER',
  307: 'TEMPORARY_REDIRECT',
  308: 'PERMANENT_REDIRECT',
};

/**
 * ApplyRedirect. derivePort FROM_REQUEST_PORT becomes the port the route is built for (Envoy
 * cannot derive it per request, and Istio builds routes per port); FROM_PROTOCOL_DEFAULT is
 * Envoy's own behaviour. The scheme's default port is left out of the Location.
 */
export function redirectAction(
  redirect: NonNullable<HttpRoute['redirect']>,
  listenPort: number,
  isTls = false,
): EnvoyObject {
  const r = redirect as NonNullable<HttpRoute['redirect']> & {
    port?: number;
    derivePort?: 'FROM_PROTOCOL_DEFAULT' | 'FROM_REQUEST_PORT';
  };
  const out: EnvoyObject = {};
  if (r.authority) out['host_redirect'] = r.authority;
  if (r.uri) out['path_redirect'] = r.uri;
  if (r.scheme) out['scheme_redirect'] = r.scheme;
  if (r.port !== undefined || r.derivePort !== undefined) {
    let port = r.port ?? (r.derivePort === 'FROM_REQUEST_PORT' ? listenPort : 0);
    const scheme = r.scheme || (isTls ? 'https' : 'http');
    if ((port === 80 && scheme === 'http') || (port === 443 && scheme === 'https')) port = 0;
    if (port) out['port_redirect'] = port;
  }
  out['response_code'] = REDIRECT_CODES[r.redirectCode ?? 301] ?? 'MOVED_PERMANENTLY';
  return out;
}
