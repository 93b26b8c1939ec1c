// Where tokens are found in a request (Envoy's jwt_authn extractor) and the request changes a
// good token brings: its header or query parameter removed, payload and claim headers added.
// Changes go to the request itself (headers, raw headers, query) so that later filters, the
// router and access logs all see the request as Envoy's header map would be after this filter.
import type { IncomingMessage } from 'node:http';
import type { HttpStream } from '../../../http/stream.js';
import { removeRequestHeaders, requestHeaderValues } from '../../../http/request-headers.js';
import type { Provider } from './config.js';

/** Where one token was found; `remove` takes it out of the request. */
export interface TokenLocation {
  readonly token: string;
  /** Issuers whose providers name this location ('' in the set: any issuer). */
  readonly issuers: ReadonlySet<string>;
  readonly remove: (stream: HttpStream) => void;
}

/** Decoded query parameters, first value of each name ('+' is a space, as Envoy decodes). */
function queryParams(query: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!query) return out;
  for (const part of query.split('&')) {
    if (!part) continue;
    const eq = part.indexOf('=');
    const k = decode(eq < 0 ? part : part.slice(0, eq));
    if (!out.has(k)) out.set(k, decode(eq < 0 ? '' : part.slice(eq + 1)));
  }
  return out;
}

function decode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return s;
  }
}

/** Drops a parameter from the query the router forwards (Envoy's JwtParamLocation::removeJwt). */
function removeQueryParam(stream: HttpStream, name: string): void {
  const view = stream.view as { query: string };
  view.query = view.query
    .split('&')
    .filter((part) => {
      const eq = part.indexOf('=');
      return part !== '' && decode(eq < 0 ? part : part.slice(0, eq)) !== name;
    })
    .join('&');
}

/** Cookie values by name, the first of each (RFC 6265 §5.4; quotes around a value dropped). */
function cookies(req: IncomingMessage): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of requestHeaderValues(req, 'cookie'))
    for (const pair of line.split(';')) {
      const eq = pair.indexOf('=');
      if (eq < 0) continue;
      const k = pair.slice(0, eq).trim();
      let v = pair.slice(eq + 1).trim();
      if (v.length >= 2 && v.startsWith('"') && v.endsWith('"')) v = v.slice(1, -1);
      if (k && !out.has(k)) out.set(k, v);
    }
  return out;
}

/** The characters a JWT is made of (base64url and '.'), where a prefixed token starts. */
const JWT_CHAR = /[A-Za-z0-9_.-]/;

/**
 * The token after a value prefix, as Envoy's extractJWT: the prefix may be anywhere in the value;
 * the token starts at the first JWT character after it and runs to the end.
 */
function afterPrefix(value: string, prefix: string): string | undefined {
  if (!prefix) return value;
  const at = value.indexOf(prefix);
  if (at < 0) return undefined;
  const rest = value.slice(at + prefix.length);
  const start = rest.search(JWT_CHAR);
  return start < 0 ? value : rest.slice(start);
}

/** What a set of providers reads tokens from; built once per requirement. */
export class Extractor {
  /** `header + prefix` → location, in Envoy's order (sorted keys). */
  private readonly headers: [string, { header: string; prefix: string; issuers: Set<string> }][];
  private readonly params: [string, Set<string>][];
  private readonly cookies: [string, Set<string>][];

  constructor(providers: readonly Provider[]) {
    const headers = new Map<string, { header: string; prefix: string; issuers: Set<string> }>();
    const params = new Map<string, Set<string>>();
    const cookieNames = new Map<string, Set<string>>();
    const add = <K>(m: Map<K, Set<string>>, k: K, issuer: string) => {
      const s = m.get(k);
      if (s) s.add(issuer);
      else m.set(k, new Set([issuer]));
    };
    for (const p of providers) {
      const locations =
        p.fromHeaders.length || p.fromParams.length || p.fromCookies.length
          ? p.fromHeaders
          : // Envoy's defaults: `Authorization: Bearer <token>` and `?access_token=<token>`.
            [{ header: 'authorization', prefix: 'Bearer ' }];
      for (const h of locations) {
        const key = h.header + h.prefix;
        const e = headers.get(key) ?? { ...h, issuers: new Set<string>() };
        e.issuers.add(p.issuer);
        headers.set(key, e);
      }
      const defaults = !p.fromHeaders.length && !p.fromParams.length && !p.fromCookies.length;
      for (const name of defaults ? ['access_token'] : p.fromParams) add(params, name, p.issuer);
      for (const name of p.fromCookies) add(cookieNames, name, p.issuer);
    }
    const sorted = <V>(m: Map<string, V>) =>
      [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    this.headers = sorted(headers);
    this.params = sorted(params);
    this.cookies = sorted(cookieNames);
  }

  extract(stream: HttpStream): TokenLocation[] {
    const out: TokenLocation[] = [];
    for (const [, loc] of this.headers)
      for (const value of requestHeaderValues(stream.req, loc.header)) {
        const token = afterPrefix(value, loc.prefix);
        if (token !== undefined)
          out.push({
            token,
            issuers: loc.issuers,
            remove: (s) => removeRequestHeaders(s.req, loc.header),
          });
      }
    if (this.params.length) {
      const q = queryParams(stream.view.query);
      for (const [name, issuers] of this.params) {
        const token = q.get(name);
        if (token !== undefined)
          out.push({ token, issuers, remove: (s) => removeQueryParam(s, name) });
      }
    }
    if (this.cookies.length) {
      const jar = cookies(stream.req);
      // Envoy leaves cookies in place (its JwtCookieLocation::removeJwt does nothing).
      for (const [name, issuers] of this.cookies) {
        const token = jar.get(name);
        if (token !== undefined) out.push({ token, issuers, remove: () => undefined });
      }
    }
    return out;
  }
}
