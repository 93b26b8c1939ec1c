// A route's action compiled: forward to a (weighted) cluster with timeout, retries and rewrites;
// redirect; or answer directly.
import { parseProtoDuration } from '../../xds/json-wrappers.js';
import { ConfigError, inField } from '../config-error.js';

type Obj = Record<string, unknown>;

export interface RetryPolicy {
  /** Envoy's retry_on conditions: 5xx, gateway-error, reset, connect-failure, ... */
  readonly on: ReadonlySet<string>;
  readonly numRetries: number;
  /** 0 = the route's timeout governs each try. */
  readonly perTryTimeoutMs: number;
  readonly retriableStatusCodes: ReadonlySet<number>;
  /** envoy.retry_host_predicates.previous_hosts: try a different host on each retry. */
  readonly avoidPreviousHosts: boolean;
  readonly hostSelectionMaxAttempts: number;
  readonly backoffBaseMs: number;
  readonly backoffMaxMs: number;
}

export interface ForwardAction {
  readonly kind: 'forward';
  /** Picks a cluster name (weighted clusters: by weight, at random as Envoy does). */
  pickCluster(): string;
  readonly clusterNames: readonly string[];
  /** 0 = no timeout (Istio's default). */
  readonly timeoutMs: number;
  readonly retry: RetryPolicy | undefined;
  /** The matched prefix (or whole path) replaced by `prefixRewrite`. */
  readonly rewrite: { readonly matched: string; readonly replacement: string } | undefined;
  readonly hostRewrite: string | undefined;
}

export interface RedirectAction {
  readonly kind: 'redirect';
  readonly status: number;
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: number | undefined;
  readonly path: string | undefined;
}

export interface DirectAction {
  readonly kind: 'direct';
  readonly status: number;
  readonly body: string;
}

export type RouteAction = ForwardAction | RedirectAction | DirectAction;

export function durationMs(value: unknown, field: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'string') throw new ConfigError(field, 'expected a duration');
  try {
    const { seconds, nanos } = parseProtoDuration(value);
    return seconds * 1000 + nanos / 1e6;
  } catch (e) {
    throw new ConfigError(field, (e as Error).message);
  }
}

function compileRetry(p: Obj): RetryPolicy {
  const on = new Set(
    String(p['retry_on'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const backoff = (p['retry_back_off'] as Obj | undefined) ?? {};
  const base = durationMs(backoff['base_interval'], 'retry_back_off.base_interval') || 25;
  const predicates = (p['retry_host_predicate'] as Obj[] | undefined) ?? [];
  return {
    on,
    numRetries: Number(p['num_retries'] ?? 1),
    perTryTimeoutMs: durationMs(p['per_try_timeout'], 'per_try_timeout'),
    retriableStatusCodes: new Set(
      ((p['retriable_status_codes'] as number[] | undefined) ?? []).map(Number),
    ),
    avoidPreviousHosts: predicates.some(
      (h) => h['name'] === 'envoy.retry_host_predicates.previous_hosts',
    ),
    hostSelectionMaxAttempts: Number(p['host_selection_retry_max_attempts'] ?? 1),
    backoffBaseMs: base,
    backoffMaxMs: durationMs(backoff['max_interval'], 'retry_back_off.max_interval') || base * 10,
  };
}

function weightedPicker(clusters: Obj[]): { names: string[]; pick: () => string } {
  const names = clusters.map((c, i) => {
    if (typeof c['name'] !== 'string' || !c['name'])
      throw new ConfigError(`weighted_clusters.clusters[${i}].name`, 'required');
    return c['name'];
  });
  const weights = clusters.map((c) => Number(c['weight'] ?? 0));
  const total = weights.reduce((a, b) => a + b, 0);
  if (total <= 0) throw new ConfigError('weighted_clusters', 'the weights sum to zero');
  const cumulative: number[] = [];
  weights.reduce((acc, w) => {
    cumulative.push(acc + w);
    return acc + w;
  }, 0);
  return {
    names,
    pick: () => {
      const r = Math.random() * total;
      for (let i = 0; i < cumulative.length; i++)
        if (r < (cumulative[i] ?? 0)) return names[i] ?? '';
      return names[names.length - 1] ?? '';
    },
  };
}

function compileForward(action: Obj, match: Obj): ForwardAction {
  let names: string[];
  let pick: () => string;
  if (typeof action['cluster'] === 'string') {
    const name = action['cluster'];
    names = [name];
    pick = () => name;
  } else if (action['weighted_clusters']) {
    const clusters = ((action['weighted_clusters'] as Obj)['clusters'] as Obj[] | undefined) ?? [];
    ({ names, pick } = weightedPicker(clusters));
  } else {
    throw new ConfigError(
      '',
      'a route action needs cluster or weighted_clusters (cluster_header is not supported)',
    );
  }
  const prefixRewrite = action['prefix_rewrite'];
  const matched =
    typeof match['prefix'] === 'string'
      ? match['prefix']
      : typeof match['path'] === 'string'
        ? match['path']
        : undefined;
  if (typeof prefixRewrite === 'string' && matched === undefined) {
    throw new ConfigError('prefix_rewrite', 'only works with a prefix or path match');
  }
  return {
    kind: 'forward',
    pickCluster: pick,
    clusterNames: names,
    timeoutMs: action['timeout'] === undefined ? 15000 : durationMs(action['timeout'], 'timeout'),
    retry: action['retry_policy']
      ? inField('retry_policy', () => compileRetry(action['retry_policy'] as Obj))
      : undefined,
    rewrite:
      typeof prefixRewrite === 'string' && matched !== undefined
        ? { matched, replacement: prefixRewrite }
        : undefined,
    hostRewrite:
      typeof action['host_rewrite_literal'] === 'string'
        ? action['host_rewrite_literal']
        : undefined,
  };
}

const REDIRECT_CODES: Readonly<Record<string, number>> = {
  MOVED_PERMANENTLY: 301,
  FOUND: 302,
  SEE_OTHER: 303,
  TEMPORARY_REDIRECT: 307,
  PERMANENT_REDIRECT: 308,
};

export function compileRouteAction(r: Obj): RouteAction {
  if (r['route'])
    return inField('route', () => compileForward(r['route'] as Obj, (r['match'] as Obj) ?? {}));
  if (r['redirect']) {
    const d = r['redirect'] as Obj;
    return {
      kind: 'redirect',
      status: REDIRECT_CODES[String(d['response_code'] ?? 'MOVED_PERMANENTLY')] ?? 301,
      scheme: d['scheme_redirect'] as string | undefined,
      host: d['host_redirect'] as string | undefined,
      port: d['port_redirect'] as number | undefined,
      path: d['path_redirect'] as string | undefined,
    };
  }
  if (r['direct_response']) {
    const d = r['direct_response'] as Obj;
    const body = d['body'] as Obj | undefined;
    return {
      kind: 'direct',
      status: Number(d['status'] ?? 200),
      body: String(body?.['inline_string'] ?? ''),
    };
  }
  throw new ConfigError('', 'a route needs route, redirect or direct_response');
}
