import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import type { ForwardAction, RedirectAction } from './route-action.js';
import { compileRouteAction, durationMs, redirectLocation, rewritePath } from './route-action.js';

type Obj = Record<string, unknown>;

function forward(route: Obj, match: Obj = { prefix: '/' }): ForwardAction {
  const a = compileRouteAction({ match, route });
  assert.equal(a.kind, 'forward');
  return a as ForwardAction;
}

test('a single cluster; Envoy’s 15s timeout unless the route says; "0s" is none', () => {
  const a = forward({ cluster: 'c' });
  assert.equal(a.pickCluster(), 'c');
  assert.deepEqual(a.clusterNames, ['c']);
  assert.equal(a.timeoutMs, 15000);
  assert.equal(a.retry, undefined);
  assert.equal(a.rewrite, undefined);
  assert.equal(a.hostRewrite, undefined);
  assert.equal(forward({ cluster: 'c', timeout: '0s' }).timeoutMs, 0);
  assert.equal(forward({ cluster: 'c', timeout: '1.5s' }).timeoutMs, 1500);
  assert.equal(forward({ cluster: 'c', host_rewrite_literal: 'internal' }).hostRewrite, 'internal');
});

test('weighted clusters pick by weight', () => {
  const a = forward({
    weighted_clusters: {
      clusters: [
        { name: 'a', weight: 70 },
        { name: 'b', weight: 0 },
        { name: 'c', weight: 30 },
      ],
    },
  });
  assert.deepEqual(a.clusterNames, ['a', 'b', 'c']);
  const counts: Record<string, number> = { a: 0, b: 0, c: 0 };
  const picks = 10_000;
  for (let i = 0; i < picks; i++) {
    const c = a.pickCluster();
    counts[c] = (counts[c] ?? 0) + 1;
  }
  assert.equal(counts['b'], 0, 'a zero weight is never picked');
  // Binomial(10000, 0.7): standard deviation 0.46%; ±3% never flakes.
  assert.ok(Math.abs((counts['a'] ?? 0) / picks - 0.7) < 0.03, JSON.stringify(counts));
  assert.ok(Math.abs((counts['c'] ?? 0) / picks - 0.3) < 0.03, JSON.stringify(counts));
});

test('weighted cluster errors name the field', () => {
  assert.throws(
    () => forward({ weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } }),
    (e: unknown) =>
      e instanceof ConfigError &&
      e.field === 'route.weighted_clusters' &&
      /sum to zero/.test(e.detail),
  );
  assert.throws(
    () => forward({ weighted_clusters: { clusters: [{ weight: 1 }] } }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'route.weighted_clusters.clusters[0].name',
  );
  assert.throws(() => forward({ cluster_header: 'x-cluster' }), /cluster_header is not supported/);
});

test('prefix_rewrite replaces what the prefix or path matched', () => {
  assert.deepEqual(forward({ cluster: 'c', prefix_rewrite: '/v2/' }, { prefix: '/api/' }).rewrite, {
    matched: '/api/',
    replacement: '/v2/',
  });
  assert.deepEqual(forward({ cluster: 'c', prefix_rewrite: '/new' }, { path: '/old' }).rewrite, {
    matched: '/old',
    replacement: '/new',
  });
});

test('retry policy: Envoy’s defaults and every field', () => {
  const bare = forward({ cluster: 'c', retry_policy: { retry_on: '5xx' } }).retry;
  assert.ok(bare);
  assert.deepEqual([...bare.on], ['5xx']);
  assert.equal(bare.numRetries, 1);
  assert.equal(bare.perTryTimeoutMs, 0);
  assert.equal(bare.backoffBaseMs, 25);
  assert.equal(bare.backoffMaxMs, 250);
  assert.equal(bare.avoidPreviousHosts, false);
  assert.equal(bare.hostSelectionMaxAttempts, 1);
  assert.equal(bare.retriableStatusCodes.size, 0);
  const full = forward({
    cluster: 'c',
    retry_policy: {
      retry_on: 'connect-failure, retriable-status-codes,,gateway-error',
      num_retries: 3,
      per_try_timeout: '0.5s',
      retriable_status_codes: [503, 409],
      retry_host_predicate: [{ name: 'envoy.retry_host_predicates.previous_hosts' }],
      host_selection_retry_max_attempts: 5,
      retry_back_off: { base_interval: '0.1s', max_interval: '2s' },
    },
  }).retry;
  assert.ok(full);
  assert.deepEqual([...full.on], ['connect-failure', 'retriable-status-codes', 'gateway-error']);
  assert.equal(full.numRetries, 3);
  assert.equal(full.perTryTimeoutMs, 500);
  assert.deepEqual([...full.retriableStatusCodes], [503, 409]);
  assert.equal(full.avoidPreviousHosts, true);
  assert.equal(full.hostSelectionMaxAttempts, 5);
  assert.equal(full.backoffBaseMs, 100);
  assert.equal(full.backoffMaxMs, 2000);
  assert.throws(
    () => forward({ cluster: 'c', retry_policy: { per_try_timeout: 'soon' } }),
    (e: unknown) => e instanceof ConfigError && e.field === 'route.retry_policy.per_try_timeout',
  );
});

test('redirects: Envoy’s response codes, 301 by default', () => {
  assert.deepEqual(
    compileRouteAction({ match: { prefix: '/' }, redirect: { path_redirect: '/x' } }),
    {
      kind: 'redirect',
      status: 301,
      scheme: undefined,
      host: undefined,
      port: undefined,
      path: '/x',
      httpsRedirect: false,
      prefixRewrite: undefined,
      regexRewrite: undefined,
      stripQuery: false,
    },
  );
  const codes: [string, number][] = [
    ['MOVED_PERMANENTLY', 301],
    ['FOUND', 302],
    ['SEE_OTHER', 303],
    ['TEMPORARY_REDIRECT', 307],
    ['PERMANENT_REDIRECT', 308],
  ];
  for (const [code, status] of codes) {
    const r = compileRouteAction({
      match: { prefix: '/' },
      redirect: {
        response_code: code,
        host_redirect: 'h',
        port_redirect: 8443,
        scheme_redirect: 'https',
      },
    });
    assert.deepEqual(r, {
      kind: 'redirect',
      status,
      scheme: 'https',
      host: 'h',
      port: 8443,
      path: undefined,
      httpsRedirect: false,
      prefixRewrite: undefined,
      regexRewrite: undefined,
      stripQuery: false,
    });
  }
});

test('direct responses: status and inline body', () => {
  assert.deepEqual(
    compileRouteAction({
      match: { prefix: '/' },
      direct_response: { status: 418, body: { inline_string: 'tea' } },
    }),
    { kind: 'direct', status: 418, body: 'tea' },
  );
  assert.deepEqual(
    compileRouteAction({ match: { prefix: '/' }, direct_response: { status: 503 } }),
    {
      kind: 'direct',
      status: 503,
      body: '',
    },
  );
  assert.throws(
    () => compileRouteAction({ match: { prefix: '/' } }),
    /route, redirect or direct_response/,
  );
});

test('durations: proto3 JSON form to milliseconds; anything else names the field', () => {
  assert.equal(durationMs(undefined, 'f'), 0);
  assert.equal(durationMs('2s', 'f'), 2000);
  assert.equal(durationMs('0.000001s', 'f'), 0.001);
  assert.throws(
    () => durationMs(5, 'timeout'),
    (e: unknown) => e instanceof ConfigError && e.field === 'timeout',
  );
  assert.throws(
    () => durationMs('5m', 'timeout'),
    (e: unknown) => e instanceof ConfigError && e.field === 'timeout',
  );
});

test('regex_rewrite replaces every match, RE2 substitutions (\\1) become JavaScript’s', () => {
  const a = forward({
    cluster: 'c',
    regex_rewrite: {
      pattern: { regex: '^/service/([^/]+)(/.*)$' },
      substitution: '\\2/instance/\\1',
    },
  });
  assert.equal(
    rewritePath('/service/foo/v1/api', a.rewrite, a.regexRewrite),
    '/v1/api/instance/foo',
  );
  const all = forward({
    cluster: 'c',
    regex_rewrite: { pattern: { regex: 'one' }, substitution: '$two' },
  });
  assert.equal(rewritePath('/one/one', all.rewrite, all.regexRewrite), '/$two/$two');
  assert.throws(
    () => forward({ cluster: 'c', regex_rewrite: { pattern: { regex: '(' }, substitution: '' } }),
    (e: unknown) => e instanceof ConfigError && e.field === 'route.regex_rewrite.pattern.regex',
  );
});

test('prefix_rewrite with a regex match replaces the whole path (Envoy)', () => {
  const a = forward({ cluster: 'c', prefix_rewrite: '/all' }, { safe_regex: { regex: '/x/.*' } });
  assert.equal(rewritePath('/x/y', a.rewrite, a.regexRewrite), '/all');
  const p = forward({ cluster: 'c', prefix_rewrite: '/v2/' }, { prefix: '/API/' });
  assert.equal(rewritePath('/api/users', p.rewrite, p.regexRewrite), '/v2/users');
});

test('weighted clusters carry their own header mutations and host rewrite', () => {
  const a = forward({
    weighted_clusters: {
      clusters: [
        {
          name: 'a',
          weight: 1,
          host_rewrite_literal: 'a.internal',
          request_headers_to_add: [{ header: { key: 'x-to', value: 'a' } }],
          response_headers_to_remove: ['x-b'],
        },
      ],
    },
  });
  const c = a.chooseCluster();
  assert.equal(c.name, 'a');
  assert.equal(c.hostRewrite, 'a.internal');
  assert.equal(c.requestHeaders?.add.length, 1);
  assert.deepEqual(c.responseHeaders?.remove, ['x-b']);
  assert.equal(forward({ cluster: 'c' }).chooseCluster().requestHeaders, undefined);
});

test('request mirror policies: 100% unless a runtime_fraction says; the -shadow suffix can be turned off', () => {
  const a = forward({
    cluster: 'c',
    request_mirror_policies: [
      { cluster: 'm1' },
      {
        cluster: 'm2',
        runtime_fraction: { default_value: { numerator: 25, denominator: 'TEN_THOUSAND' } },
      },
      { cluster: 'm3', disable_shadow_host_suffix_append: true },
    ],
  });
  assert.deepEqual(a.mirrors, [
    { cluster: 'm1', fraction: { numerator: 100, denominator: 100 }, keepHost: false },
    { cluster: 'm2', fraction: { numerator: 25, denominator: 10000 }, keepHost: false },
    { cluster: 'm3', fraction: { numerator: 100, denominator: 100 }, keepHost: true },
  ]);
  assert.throws(
    () => forward({ cluster: 'c', request_mirror_policies: [{ cluster_header: 'x' }] }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'route.request_mirror_policies[0].cluster',
  );
});

test("redirect Location: Envoy's newUri (scheme, host, port, path, query)", () => {
  const view = (authority: string, path = '/p', query = 'q=1') => ({
    scheme: 'http',
    authority,
    path,
    query,
    headers: {},
  });
  const loc = (redirect: Record<string, unknown>, v = view('svc:9080')) => {
    const a = compileRouteAction({ match: { prefix: '/p' }, redirect });
    assert.equal(a.kind, 'redirect');
    return redirectLocation(v, a as RedirectAction);
  };
  assert.equal(loc({}), 'http://svc:9080/p?q=1');
  assert.equal(loc({ path_redirect: '/new' }), 'http://svc:9080/new?q=1', 'the query stays');
  assert.equal(
    loc({ path_redirect: '/new?x=2' }),
    'http://svc:9080/new?x=2',
    'unless path_redirect has one',
  );
  assert.equal(loc({ path_redirect: '/new', strip_query: true }), 'http://svc:9080/new');
  assert.equal(loc({ host_redirect: 'other' }), 'http://other/p?q=1', 'a new host drops the port');
  assert.equal(loc({ port_redirect: 8443 }), 'http://svc:8443/p?q=1');
  assert.equal(loc({ scheme_redirect: 'https' }), 'https://svc:9080/p?q=1');
  assert.equal(
    loc({ https_redirect: true }, view('svc:80')),
    'https://svc/p?q=1',
    ':80 was http’s',
  );
  assert.equal(loc({ host_redirect: 'h', port_redirect: 81 }), 'http://h:81/p?q=1');
  assert.equal(loc({ prefix_rewrite: '/q' }, view('svc', '/p/x')), 'http://svc/q/x?q=1');
  assert.equal(
    loc({ regex_rewrite: { pattern: { regex: 'x' }, substitution: 'y' } }, view('svc', '/p/x')),
    'http://svc/p/y?q=1',
  );
});

test('direct response bodies: inline_bytes are base64', () => {
  assert.deepEqual(
    compileRouteAction({
      match: { prefix: '/' },
      direct_response: {
        status: 200,
        body: { inline_bytes: Buffer.from('hi').toString('base64') },
      },
    }),
    { kind: 'direct', status: 200, body: 'hi' },
  );
});
