// Envoy's jwt_authn filter per request (filter.cc): CORS preflights pass; the first rule whose
// match fits picks the requirement; a failure answers 401 (403 for a disallowed audience) with
// the status as body and `www-authenticate: Bearer realm="<url>", error="invalid_token"`; a pass
// leaves the verified token's identity on the stream (requestAuth) for rbac.
import type { HttpStream } from '../../../http/stream.js';
import type { FilterContext } from '../filter-stats.js';
import { FilterStats } from '../filter-stats.js';
import { requestHeader } from '../header-map.js';
import type { HttpFilter, HttpFilterFactory, LocalReply } from '../types.js';
import type { JwtAuthnConfig, Provider } from './config.js';
import { compileJwtAuthn } from './config.js';
import type { TokenLocation } from './request.js';
import { addRequestHeader, removeRequestHeaders } from '../../../http/request-headers.js';
import { Status, failureDetails } from './status.js';
import type { ParsedJwt } from './token.js';
import type { VerifierNode, VerifyHooks } from './verifier.js';
import { compileVerifier, runVerifier } from './verifier.js';

type Obj = Record<string, unknown>;

/** Envoy's MaximumUriLength for the realm. */
const MAX_REALM_PATH = 256;

/** A claim as a header value (Envoy's addJWTClaimToHeader): strings, numbers, booleans only. */
export function claimValue(
  payload: Readonly<Record<string, unknown>>,
  path: readonly string[],
): string | undefined {
  let v: unknown = payload;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  if (typeof v === 'string') return v || undefined;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v))
    // Whole non-negative numbers print as integers, others as C++'s std::to_string(double).
    return Number.isInteger(v) && v >= 0 && v < 2 ** 64 ? BigInt(v).toString() : v.toFixed(6);
  return undefined;
}

/** The payload as Istio's rbac reads it: space-delimited claims split into lists. */
function normalized(
  p: Provider,
  payload: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  if (p.spaceDelimitedClaims.size === 0) return { ...payload };
  const out: Record<string, unknown> = { ...payload };
  for (const claim of p.spaceDelimitedClaims) {
    const v = out[claim];
    if (typeof v === 'string') out[claim] = v.split(' ').filter(Boolean);
  }
  return out;
}

/** What one request's verification found. */
class RequestState implements VerifyHooks {
  last: { provider: Provider; jwt: ParsedJwt } | undefined;

  constructor(
    private readonly filter: JwtAuthnFilter,
    private readonly stream: HttpStream,
    readonly config: JwtAuthnConfig,
    readonly nowSec: number,
  ) {}

  cached(provider: Provider, token: string): ParsedJwt | undefined {
    return this.filter.cached(provider, token);
  }

  remember(provider: Provider, jwt: ParsedJwt): void {
    this.filter.remember(provider, jwt);
  }

  good(p: Provider, jwt: ParsedJwt, at: TokenLocation): void {
    const req = this.stream.req;
    if (p.payloadHeader) {
      const b64 = jwt.payloadBase64url;
      addRequestHeader(
        req,
        p.payloadHeader,
        p.padPayloadHeader ? b64.padEnd(Math.ceil(b64.length / 4) * 4, '=') : b64,
      );
    }
    for (const c of p.claimToHeaders) {
      const v = claimValue(jwt.payload, c.claim);
      if (v !== undefined) addRequestHeader(req, c.header, v);
    }
    if (!p.forward) at.remove(this.stream);
    this.last = { provider: p, jwt };
  }
}

export class JwtAuthnFilter implements HttpFilter {
  readonly stats: FilterStats;
  private readonly verifiers: readonly VerifierNode[];
  /** Headers a request may not bring itself: they carry verified payloads and claims. */
  private readonly outputHeaders: readonly string[];
  private readonly caches = new Map<Provider, Map<string, ParsedJwt>>();

  constructor(
    private readonly config: JwtAuthnConfig,
    statPrefix: string,
  ) {
    this.stats = new FilterStats(`${statPrefix}.jwt_authn.`);
    this.verifiers = config.rules.map((r) => compileVerifier(r.requires, config));
    const out = new Set<string>();
    for (const p of config.providers.values()) {
      if (p.payloadHeader) out.add(p.payloadHeader);
      for (const c of p.claimToHeaders) out.add(c.header);
    }
    this.outputHeaders = [...out];
  }

  cached(provider: Provider, token: string): ParsedJwt | undefined {
    const cache = this.caches.get(provider);
    const hit = cache?.get(token);
    this.stats.add(hit ? 'jwt_cache_hit' : 'jwt_cache_miss');
    if (hit && cache) {
      // Least recently used goes first (Envoy's jwt cache is an LRU): move the hit to the end.
      cache.delete(token);
      cache.set(token, hit);
    }
    return hit;
  }

  remember(provider: Provider, jwt: ParsedJwt): void {
    let cache = this.caches.get(provider);
    if (!cache) this.caches.set(provider, (cache = new Map()));
    if (cache.size >= provider.cacheSize) cache.delete(cache.keys().next().value as string);
    cache.set(jwt.token, jwt);
  }

  async onRequest(stream: HttpStream): Promise<LocalReply | undefined> {
    const headers = stream.view.headers;
    if (
      this.config.bypassCorsPreflight &&
      stream.view.method === 'OPTIONS' &&
      requestHeader(headers, 'origin') &&
      requestHeader(headers, 'access-control-request-method')
    ) {
      this.stats.add('cors_preflight_bypassed');
      this.stats.add('allowed');
      return undefined;
    }
    const i = this.config.rules.findIndex((r) => r.match(stream.view));
    const verifier = this.verifiers[i];
    if (!verifier) {
      this.stats.add('allowed');
      return undefined;
    }
    removeRequestHeaders(stream.req, ...this.outputHeaders);
    const realm = this.realm(stream);
    const state = new RequestState(this, stream, this.config, Math.floor(Date.now() / 1000));
    const status = await runVerifier(verifier, stream, state);
    if (status !== Status.Ok) {
      this.stats.add('denied');
      return this.reject(stream, status, realm);
    }
    this.stats.add('allowed');
    if (state.last) {
      const { provider, jwt } = state.last;
      const claims = normalized(provider, jwt.payload);
      const azp = jwt.payload['azp'];
      stream.requestAuth = {
        principal: `${jwt.iss}/${jwt.sub}`,
        claims,
        audiences: jwt.audiences,
        presenter: typeof azp === 'string' ? azp : undefined,
      };
    }
    return undefined;
  }

  /** The request's URL as Envoy's buildOriginalUri, taken before the filter changes it. */
  private realm(stream: HttpStream): string {
    const { view } = stream;
    const added = stream.addedHeaders.find(([k]) => k === 'x-forwarded-proto')?.[1];
    const scheme = requestHeader(view.headers, 'x-forwarded-proto') ?? added ?? view.scheme;
    const path = (view.query ? `${view.path}?${view.query}` : view.path).slice(0, MAX_REALM_PATH);
    return `${scheme}://${view.authority}${path}`;
  }

  private reject(stream: HttpStream, status: Status, realm: string): LocalReply {
    stream.responseCodeDetails = failureDetails(status);
    const code = status === Status.JwtAudienceNotAllowed ? 403 : 401;
    if (this.config.stripFailureResponse) return { status: code, body: '' };
    const challenge = `Bearer realm="${realm}"${status === Status.JwtMissed ? '' : ', error="invalid_token"'}`;
    return { status: code, body: status, headers: { 'www-authenticate': challenge } };
  }
}

export function makeJwtAuthnFilter(typed: Obj, ctx: FilterContext): HttpFilterFactory {
  return {
    name: ctx.name,
    terminal: false,
    filter: new JwtAuthnFilter(compileJwtAuthn(typed), ctx.statPrefix),
  };
}
