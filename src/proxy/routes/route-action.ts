// A route's action compiled: forward to a (weighted) cluster with timeout, retries, rewrites,
// header mutations and mirrors; redirect; or answer directly.
import { readFileSync } from 'node:fs';
import type { RouteUpgrades } from '../filters/network/http_connection_manager/codec-config.js';
import { compileRouteUpgrades } from '../filters/network/http_connection_manager/codec-config.js';
import { ConfigError, inField } from '../config-error.js';
import { durationMs } from './duration.js';
import type { PerFilterConfigs } from '../filters/http/per-route.js';
import { compilePerFilterConfigs } from '../filters/http/per-route.js';
import type { Fraction } from '../filters/http/percent.js';
import { ALWAYS, compileRuntimeFraction } from '../filters/http/percent.js';
import type { HeaderMutation } from './header-mutation.js';
import { requestMutation, responseMutation } from './header-mutation.js';
import { compileSearchRegex } from './matchers.js';
import type { RetryPolicy } from './retry-policy.js';
import { compileRetryPolicy } from './retry-policy.js';
import { HashPolicy } from '../upstream/lb/hash-policy.js';

export type { RetryPolicy } from './retry-policy.js';
export { durationMs } from './duration.js';

type Obj = Record<string, unknown>;

/** What one pick of (weighted) clusters gives: the cluster and its own settings. */
export interface ClusterChoice {
  readonly name: string;
  /** weighted_clusters.clusters[].request_headers_to_add / _to_remove. */
  readonly requestHeaders: HeaderMutation | undefined;
  readonly responseHeaders: HeaderMutation | undefined;
  /** weighted_clusters.clusters[].host_rewrite_literal. */
  readonly hostRewrite: string | undefined;
  readonly perFilter: PerFilterConfigs | undefined;
}

/** One request_mirror_policies entry: a copy of the request to `cluster`, for a share of them. */
export interface MirrorPolicy {
  readonly cluster: string;
  readonly fraction: Fraction;
  /** disable_shadow_host_suffix_append: keep the authority as it is (no `-shadow`). */
  readonly keepHost: boolean;
}

/** regex_rewrite: every match of `pattern` in the path replaced by `substitution`. */
export interface RegexRewrite {
  readonly pattern: RegExp;
  /** In JavaScript's replacement syntax (`$1`), converted from RE2's (`\1`). */
  readonly substitution: string;
}

export interface ForwardAction {
  readonly kind: 'forward';
  /** Picks a cluster (weighted clusters: by weight, at random as Envoy does). */
  chooseCluster(): ClusterChoice;
  /** The name of chooseCluster()'s pick. */
  pickCluster(): string;
  readonly clusterNames: readonly string[];
  /** 0 = no timeout (Istio's default). */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy | undefined;
  /**
   * prefix_rewrite: what the route matched (the prefix, or the whole path for path and regex
   * matches: `matched` undefined) is replaced by `replacement`.
   */
  readonly rewrite:
    { readonly matched: string | undefined; readonly replacement: string } | undefined;
  readonly regexRewrite: RegexRewrite | undefined;
  readonly hostRewrite: string | undefined;
  /** append_x_forwarded_host: the original authority goes upstream in x-forwarded-host. */
  readonly appendXForwardedHost: boolean;
  readonly mirrors: readonly MirrorPolicy[];
  /** upgrade_configs: per-route upgrades and CONNECT termination (connect_config). */
  readonly upgrades: RouteUpgrades;
  /** hash_policy: the key RING_HASH and MAGLEV clusters pick a host by. */
  readonly hashPolicy: HashPolicy | undefined;
}

export interface RedirectAction {
  readonly kind: 'redirect';
  readonly status: number;
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  /** path_redirect (it may carry its own query). */
  readonly path: string | undefined;
  readonly httpsRedirect: boolean;
  readonly prefixRewrite:
    { readonly matched: string | undefined; readonly replacement: string } | undefined;
  readonly regexRewrite: RegexRewrite | undefined;
  readonly stripQuery: boolean;
}

export interface DirectAction {
  readonly kind: 'direct';
  readonly status: number;
  readonly body: string;
}

export type RouteAction = ForwardAction | RedirectAction | DirectAction;

function choice(c: Obj, name: string): ClusterChoice {
  return Object.freeze({
    name,
    requestHeaders: requestMutation(c),
    responseHeaders: responseMutation(c),
    hostRewrite:
      typeof c['host_rewrite_literal'] === 'string' && c['host_rewrite_literal']
        ? c['host_rewrite_literal']
        : undefined,
    perFilter: compilePerFilterConfigs(c['typed_per_filter_config']),
  });
}

function weightedPicker(clusters: Obj[]): { names: string[]; pick: () => ClusterChoice } {
  const choices = clusters.map((c, i) =>
    inField(`weighted_clusters.clusters[${i}]`, () => {
      if (typeof c['name'] !== 'string' || !c['name']) throw new ConfigError('name', 'required');
      return choice(c, c['name']);
    }),
  );
  const weights = clusters.map((c) => Number(c['weight'] ?? 0));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new ConfigError('weighted_clusters', 'the weights sum to zero');
  const cumulative: number[] = [];
  weights.reduce((acc, w) => {
    cumulative.push(acc + w);
    return acc + w;
  }, 0);
  const last = choices[choices.length - 1] as ClusterChoice;
  return {
    names: choices.map((c) => c.name),
    pick: () => {
      const r = Math.random() * total;
      for (let i = 0; i < cumulative.length; i++)
        if (r < (cumulative[i] ?? 0)) return choices[i] ?? last;
      return last;
    },
  };
}

/** prefix_rewrite against the route's match: the prefix, or the whole path. */
function prefixRewrite(
  value: unknown,
  match: Obj,
): { matched: string | undefined; replacement: string } | undefined {
  if (typeof value !== 'string') return undefined;
  if (typeof match['prefix'] === 'string') return { matched: match['prefix'], replacement: value };
  if (typeof match['path_separated_prefix'] === 'string')
    return { matched: match['path_separated_prefix'], replacement: value };
  if (typeof match['path'] === 'string') return { matched: match['path'], replacement: value };
  // Envoy: with a regex match, "the whole path" is what matched.
  return { matched: undefined, replacement: value };
}

/** RE2 substitution (`\1`, `\\`) → JavaScript's (`$1`, literal `$` escaped). */
function jsSubstitution(s: string): string {
  return s
    .replace(/\$/g, '$$$$')
    .replace(/\\(\d|\\)/g, (_, c: string) => (c === '\\' ? '\\' : `$${c}`));
}

function regexRewrite(value: unknown): RegexRewrite | undefined {
  if (value === undefined) return undefined;
  const r = value as Obj;
  const pattern = (r['pattern'] as Obj | undefined)?.['regex'];
  if (typeof pattern !== 'string') throw new ConfigError('pattern.regex', 'required');
  return {
    pattern: compileSearchRegex(pattern, 'pattern.regex'),
    substitution: jsSubstitution(String(r['substitution'] ?? '')),
  };
}

function compileMirror(m: Obj): MirrorPolicy {
  if (typeof m['cluster'] !== 'string' || !m['cluster'])
    throw new ConfigError('cluster', 'required (cluster_header is not supported)');
  return {
    cluster: m['cluster'],
    // Envoy mirrors every request when runtime_fraction is absent.
    fraction: compileRuntimeFraction(m['runtime_fraction'], 'runtime_fraction', ALWAYS),
    keepHost: m['disable_shadow_host_suffix_append'] === true,
  };
}

function compileForward(action: Obj, match: Obj): ForwardAction {
  let names: string[];
  let pick: () => ClusterChoice;
  if (typeof action['cluster'] === 'string') {
    const only = choice({}, action['cluster']);
    names = [only.name];
    pick = () => only;
  } else if (action['weighted_clusters']) {
    const clusters = ((action['weighted_clusters'] as Obj)['clusters'] as Obj[] | undefined) ?? [];
    ({ names, pick } = weightedPicker(clusters));
  } else {
    throw new ConfigError(
      '',
      'a route action needs cluster or weighted_clusters (cluster_header is not supported)',
    );
  }
  const rewrite = prefixRewrite(action['prefix_rewrite'], match);
  const regex = inField('regex_rewrite', () => regexRewrite(action['regex_rewrite']));
  if (rewrite && regex)
    throw new ConfigError('regex_rewrite', 'prefix_rewrite and regex_rewrite cannot both be set');
  return {
    kind: 'forward',
    chooseCluster: pick,
    pickCluster: () => pick().name,
    clusterNames: names,
    timeoutMs: action['timeout'] === undefined ? 15000 : durationMs(action['timeout'], 'timeout'),
    retry: action['retry_policy']
      ? inField('retry_policy', () => compileRetryPolicy(action['retry_policy'] as Obj))
      : undefined,
    rewrite,
    regexRewrite: regex,
    hostRewrite:
      typeof action['host_rewrite_literal'] === 'string' && action['host_rewrite_literal']
        ? action['host_rewrite_literal']
        : undefined,
    appendXForwardedHost: action['append_x_forwarded_host'] === true,
    mirrors: ((action['request_mirror_policies'] as Obj[] | undefined) ?? []).map((m, i) =>
      inField(`request_mirror_policies[${i}]`, () => compileMirror(m)),
    ),
    upgrades: compileRouteUpgrades(action['upgrade_configs'] as Obj[] | undefined),
    hashPolicy: HashPolicy.compile(action['hash_policy']),
  };
}

const REDIRECT_CODES: Readonly<Record<string, number>> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

function compileRedirect(d: Obj, match: Obj): RedirectAction {
  const code = String(d['response_code'] ?? 'MOVED_PERMANENTLY');
  const status = REDIRECT_CODES[code];
  if (status === undefined) throw new ConfigError('response_code', `unknown code ${code}`);
  const nonEmpty = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const port = Number(d['port_redirect'] ?? 0);
  return {
    kind: 'redirect',
    status,
    scheme: nonEmpty(d['scheme_redirect']),
    host: nonEmpty(d['host_redirect']),
    port: port > 0 ? port : undefined,
    path: nonEmpty(d['path_redirect']),
    httpsRedirect: d['https_redirect'] === true,
    prefixRewrite: prefixRewrite(d['prefix_rewrite'], match),
    regexRewrite: inField('regex_rewrite', () => regexRewrite(d['regex_rewrite'])),
    stripQuery: d['strip_query'] === true,
  };
}

/** core.v3.DataSource: inline_string, inline_bytes (base64 in JSON form) or filename. */
function dataSource(body: Obj | undefined): string {
  if (!body) return '';
  if (typeof body['inline_string'] === 'string') return body['inline_string'];
  if (typeof body['inline_bytes'] === 'string')
    return Buffer.from(body['inline_bytes'], 'base64').toString('utf8');
  if (typeof body['filename'] === 'string') {
    try {
      return readFileSync(body['filename'], 'utf8');
    } catch (e) {
      throw new ConfigError('body.filename', (e as Error).message);
    }
  }
  return '';
}

export function compileRouteAction(r: Obj): RouteAction {
  const match = (r['match'] as Obj | undefined) ?? {};
  if (r['route']) return inField('route', () => compileForward(r['route'] as Obj, match));
  if (r['redirect']) return inField('redirect', () => compileRedirect(r['redirect'] as Obj, match));
  if (r['direct_response']) {
    const d = r['direct_response'] as Obj;
    return {
      kind: 'direct',
      status: Number(d['status'] ?? 200),
      body: inField('direct_response', () => dataSource(d['body'] as Obj | undefined)),
    };
  }
  throw new ConfigError('', 'a route needs route, redirect or direct_response');
}

/** The path after prefix_rewrite / regex_rewrite (without the query). */
export function rewritePath(
  path: string,
  prefix: { readonly matched: string | undefined; readonly replacement: string } | undefined,
  regex: RegexRewrite | undefined,
): string {
  if (prefix) {
    // The route matched, so the path starts with the prefix (in the route's case sensitivity).
    const rest = prefix.matched === undefined ? '' : path.slice(prefix.matched.length);
    return prefix.replacement + rest;
  }
  if (regex) {
    regex.pattern.lastIndex = 0;
    return path.replace(regex.pattern, regex.substitution);
  }
  return path;
}

/** What a redirect's Location says (Envoy's Http::Utility::newUri). */
export function redirectLocation(
  view: {
    readonly scheme: string;
    readonly authority: string;
    readonly path: string;
    readonly query: string;
    readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  },
  r: RedirectAction,
): string {
  const scheme = r.scheme ?? (r.httpsRedirect ? 'https' : view.scheme);
  const port = r.port !== undefined ? `:${r.port}` : '';
  const host = r.host ?? requestHost(view, scheme, port !== '');
  let path: string;
  let query = view.query;
  if (r.path !== undefined) {
    const q = r.path.indexOf('?');
    // path_redirect's own query wins, and is never stripped.
    if (q >= 0) return `${scheme}://${host}${port}${r.path}`;
    path = r.path;
  } else {
    path = rewritePath(view.path, r.prefixRewrite, r.regexRewrite);
  }
  if (!path.startsWith('/')) path = `/${path}`;
  if (r.stripQuery) query = '';
  return `${scheme}://${host}${port}${path}${query ? `?${query}` : ''}`;
}

/**
 * The request's host for a redirect: without its port when a port is given, or when the scheme
 * changes and the port is the old scheme's default (processRequestHost in Envoy).
 */
function requestHost(
  view: { readonly authority: string; readonly headers: Readonly<Record<string, unknown>> },
  newScheme: string,
  newPort: boolean,
): string {
  const host = view.authority;
  const end = host.startsWith('[') ? host.lastIndexOf(']:') + 1 : host.lastIndexOf(':');
  if (end <= 0) return host;
  const requestPort = host.slice(end);
  const proto = String(view.headers['x-forwarded-proto'] ?? 'http');
  let remove = newPort;
  if (newScheme !== proto) {
    remove ||= proto === 'https' && requestPort === ':443';
    remove ||= proto === 'http' && requestPort === ':80';
  }
  return remove ? host.slice(0, end) : host;
}
