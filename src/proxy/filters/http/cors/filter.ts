// Envoy's CORS filter per request (cors_filter.cc, W3C CORS): answers valid preflights itself
// (200, details cors_response) and adds access-control-* headers to responses for allowed
// origins. Policies come from the route and the virtual host; each field is read from the most
// specific policy that sets it.
import type { HttpStream } from '../../../http/stream.js';
import type { HeaderMap } from '../header-map.js';
import { requestHeader } from '../header-map.js';
import type { FilterContext } from '../filter-stats.js';
import { FilterStats } from '../filter-stats.js';
import { DISABLED, perFilterConfig, perFilterConfigs } from '../per-route.js';
import { sampled } from '../percent.js';
import type { HttpFilter, HttpFilterFactory, LocalReply } from '../types.js';
import type { CorsPolicy } from './config.js';

type Obj = Record<string, unknown>;

function first<K extends keyof CorsPolicy>(
  policies: readonly CorsPolicy[],
  key: K,
): CorsPolicy[K] | undefined {
  for (const p of policies) if (p[key] !== undefined) return p[key];
  return undefined;
}

function originAllowed(policies: readonly CorsPolicy[], origin: string): boolean {
  for (const p of policies) {
    if (p.allowOrigins.length === 0) continue;
    // The first policy that lists origins decides; a matcher that accepts "*" accepts all.
    return p.allowOrigins.some((m) => m('*') || m(origin));
  }
  return false;
}

export class CorsFilter implements HttpFilter {
  readonly stats: FilterStats;
  /** Requests whose Origin was allowed: their responses get the CORS headers. */
  private readonly latched = new WeakMap<HttpStream, string>();

  constructor(
    private readonly name: string,
    statPrefix: string,
  ) {
    this.stats = new FilterStats(`${statPrefix}.cors.`);
  }

  private policies(stream: HttpStream): CorsPolicy[] | undefined {
    // Most routes have no policy: answer that without allocating.
    if (perFilterConfig(stream, this.name) === undefined) return undefined;
    const found = perFilterConfigs(stream, this.name);
    if (found.length === 0 || found[0] === DISABLED) return undefined;
    return found.filter((p): p is CorsPolicy => p !== DISABLED);
  }

  onRequest(stream: HttpStream): LocalReply | undefined {
    if (stream.route?.action.kind !== 'forward') return undefined;
    const policies = this.policies(stream);
    if (!policies?.[0]) return undefined;
    const enabled = sampled(policies[0].enabled);
    if (!enabled && !sampled(policies[0].shadowEnabled)) return undefined;
    const headers = stream.view.headers;
    const origin = requestHeader(headers, 'origin');
    if (!origin) return undefined;
    const allowed = originAllowed(policies, origin);
    this.stats.add(allowed ? 'origin_valid' : 'origin_invalid');
    // Shadow mode counts, and enforces nothing.
    if (!enabled) return undefined;
    if (allowed) this.latched.set(stream, origin);
    if (stream.view.method !== 'OPTIONS') return undefined;
    const requestMethod = requestHeader(headers, 'access-control-request-method');
    if (!requestMethod) return undefined;
    // A preflight: OPTIONS with Origin and Access-Control-Request-Method.
    if (!allowed && first(policies, 'forwardNotMatchingPreflights') !== false) return undefined;
    const out: Record<string, string> = {};
    if (allowed) out['access-control-allow-origin'] = origin;
    if (first(policies, 'allowCredentials') === true)
      out['access-control-allow-credentials'] = 'true';
    const methods = first(policies, 'allowMethods');
    if (methods) out['access-control-allow-methods'] = methods === '*' ? requestMethod : methods;
    const allowHeaders = first(policies, 'allowHeaders');
    if (allowHeaders) {
      out['access-control-allow-headers'] =
        allowHeaders === '*'
          ? (requestHeader(headers, 'access-control-request-headers') ?? '')
          : allowHeaders;
    }
    const maxAge = first(policies, 'maxAge');
    if (maxAge) out['access-control-max-age'] = maxAge;
    if (
      first(policies, 'allowPrivateNetworkAccess') === true &&
      requestHeader(headers, 'access-control-request-private-network') === 'true'
    )
      out['access-control-allow-private-network'] = 'true';
    stream.responseCodeDetails = 'cors_response';
    // The preflight is answered here: nothing of it is for this filter to decorate again.
    this.latched.delete(stream);
    return { status: 200, body: '', headers: out };
  }

  onResponseHeaders(stream: HttpStream, _status: number, headers: HeaderMap): void {
    const origin = this.latched.get(stream);
    if (origin === undefined) return;
    const policies = this.policies(stream) ?? [];
    headers.set('access-control-allow-origin', origin);
    if (first(policies, 'allowCredentials') === true)
      headers.set('access-control-allow-credentials', 'true');
    const expose = first(policies, 'exposeHeaders');
    if (expose) headers.set('access-control-expose-headers', expose);
  }
}

/** The filter-level Cors message carries nothing skiff reads: policies are per route. */
export function makeCorsFilter(_typed: Obj, ctx: FilterContext): HttpFilterFactory {
  return { name: ctx.name, terminal: false, filter: new CorsFilter(ctx.name, ctx.statPrefix) };
}
