// What the router sends upstream and what it changes on the way back, as Envoy's
// finalizeRequestHeaders / finalizeResponseHeaders do: hop-by-hop headers dropped, header
// mutations of the weighted cluster, route, virtual host and route config, then host and path
// rewrites (x-forwarded-host, x-envoy-original-path).
import type { HttpStream } from '../../../http/stream.js';
import type { HeaderMap } from '../header-map.js';
import { FlatHeaderMap } from '../header-map.js';
import { applyHeaderMutation } from '../../../routes/header-mutation.js';
import type { ForwardAction } from '../../../routes/route-action.js';
import { rewritePath } from '../../../routes/route-action.js';
import { HOP_BY_HOP } from './upstream-request-common.js';

/**
 * Request headers never forwarded: the hop-by-hop ones, `host` (set from :authority) and the
 * proxy's own credentials.
 */
const NOT_FORWARDED: ReadonlySet<string> = new Set([...HOP_BY_HOP, 'host', 'proxy-authorization']);

/** Request headers the router consumes (its retry and timeout overrides): never forwarded. */
export const CONSUMED_HEADERS: ReadonlySet<string> = new Set([
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-hedge-on-per-try-timeout',
]);

export interface UpstreamRequest {
  /** `host` first, then every header to send (no attempt count: that is per try). */
  readonly headers: string[];
  readonly authority: string;
  /** Path and query to send. */
  readonly path: string;
  /** The request carried some x-envoy-* header (retry and timeout overrides need a look). */
  readonly envoyHeaders: boolean;
}

export function buildUpstreamRequest(
  stream: HttpStream,
  action: ForwardAction,
  suppressEnvoyHeaders: boolean,
): UpstreamRequest {
  const { view, req } = stream;
  const raw = req.rawHeaders;
  const connectionTokens = req.headers['connection'];
  const extra = connectionTokens
    ? new Set(
        connectionTokens
          .toLowerCase()
          .split(',')
          .map((s) => s.trim()),
      )
    : undefined;
  const out: string[] = ['host', view.authority];
  const replaced = stream.replacedHeaders;
  let envoyHeaders = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] ?? '').toLowerCase();
    if (replaced?.has(name)) continue;
    // HTTP/2 pseudo-headers (`:path`, `:authority`...) are not headers to copy (T3).
    if (NOT_FORWARDED.has(name) || extra?.has(name) || name.charCodeAt(0) === 58) continue;
    if (name.startsWith('x-envoy-')) {
      envoyHeaders = true;
      if (CONSUMED_HEADERS.has(name)) continue;
    }
    out.push(name, raw[i + 1] ?? '');
  }
  for (const [k, v] of stream.addedHeaders) out.push(k, v);
  // Header mutations: the weighted cluster's, then the route's levels in order.
  const choice = stream.clusterChoice;
  const levels = stream.route?.requestHeaders ?? [];
  if (choice?.requestHeaders || levels.length) {
    const map = new FlatHeaderMap(out);
    const ctx = { stream };
    if (choice?.requestHeaders) applyHeaderMutation(choice.requestHeaders, map, ctx);
    for (const m of levels) applyHeaderMutation(m, map, ctx);
  }
  // Host rewrite: the weighted cluster's wins over the route's.
  const rewrite = choice?.hostRewrite ?? action.hostRewrite;
  const authority = rewrite ?? view.authority;
  if (rewrite !== undefined) {
    out[1] = rewrite;
    if (action.appendXForwardedHost && view.authority) {
      const map = new FlatHeaderMap(out);
      const prior = map.get('x-forwarded-host');
      map.set('x-forwarded-host', prior ? `${prior},${view.authority}` : view.authority);
    }
  }
  let path = view.path;
  if (action.rewrite || action.regexRewrite) {
    path = rewritePath(view.path, action.rewrite, action.regexRewrite);
    if (!path.startsWith('/')) path = `/${path}`;
    if (!suppressEnvoyHeaders) {
      const original = view.query ? `${view.path}?${view.query}` : view.path;
      new FlatHeaderMap(out).set('x-envoy-original-path', original);
    }
  }
  return {
    headers: out,
    authority,
    path: view.query ? `${path}?${view.query}` : path,
    envoyHeaders,
  };
}

/** The route's response header mutations: the weighted cluster's, then the route's levels. */
export function finalizeRouteResponse(
  stream: HttpStream,
  status: number,
  headers: HeaderMap,
): void {
  const ctx = { stream, status, response: headers };
  const choice = stream.clusterChoice?.responseHeaders;
  if (choice) applyHeaderMutation(choice, headers, ctx);
  for (const m of stream.route?.responseHeaders ?? []) applyHeaderMutation(m, headers, ctx);
}

/** Envoy's shadow authority: `-shadow` after the host, before any port (`a:80` → `a-shadow:80`). */
export function shadowAuthority(authority: string): string {
  const portStart = authority.startsWith('[')
    ? authority.indexOf(']:') + 1
    : authority.lastIndexOf(':');
  if (portStart <= 0) return `${authority}-shadow`;
  return `${authority.slice(0, portStart)}-shadow${authority.slice(portStart)}`;
}
