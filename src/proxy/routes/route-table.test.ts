import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config-error.js';
import type { RequestView } from './matchers.js';
import { RouteTable } from './route-table.js';

type Obj = Record<string, unknown>;

const vhost = (name: string, domains: string[], routes: Obj[] = [route(name)]): Obj => ({
  name,
  domains,
  routes,
});
function route(cluster: string, match: Obj = { prefix: '/' }): Obj {
  return { name: cluster, match, route: { cluster } };
}
const req = (authority: string, path = '/'): RequestView => ({
  method: 'GET',
  scheme: 'http',
  authority,
  path,
  query: '',
  headers: {},
});

test("domains: exact, then *.suffix longest first, then prefix.* longest first, then '*'", () => {
  const table = RouteTable.compile({
    name: 'r',
    virtual_hosts: [
      vhost('any', ['*']),
      vhost('short-suffix', ['*.com']),
      vhost('long-suffix', ['*.example.com']),
      vhost('prefix', ['api.*']),
      vhost('long-prefix', ['api.example.*']),
      vhost('exact', ['www.example.com', 'Mixed.Example.com:8080']),
    ],
  });
  const pick = (a: string) => table.findVirtualHost(a)?.name;
  assert.equal(pick('www.example.com'), 'exact');
  assert.equal(pick('WWW.EXAMPLE.COM'), 'exact');
  assert.equal(pick('mixed.example.com:8080'), 'exact');
  assert.equal(pick('shop.example.com'), 'long-suffix');
  assert.equal(pick('api.example.com'), 'long-suffix', 'a suffix wildcard beats a prefix wildcard');
  assert.equal(pick('shop.test.com'), 'short-suffix');
  assert.equal(pick('api.example.org'), 'long-prefix');
  assert.equal(pick('api.test.org'), 'prefix');
  assert.equal(pick('example.com'), 'short-suffix');
  // The wildcard must stand for at least one character.
  assert.equal(pick('.example.com'), 'short-suffix');
  assert.equal(pick('localhost'), 'any');
  // No port stripping unless asked: the port is part of the host Envoy matches.
  assert.equal(pick('www.example.com:80'), 'any');
});

test('ignore_port_in_host_matching strips the port, IPv6 literals included', () => {
  const table = RouteTable.compile({
    name: 'r',
    ignore_port_in_host_matching: true,
    virtual_hosts: [vhost('a', ['reviews']), vhost('v6', ['[::1]'])],
  });
  assert.equal(table.findVirtualHost('reviews:9080')?.name, 'a');
  assert.equal(table.findVirtualHost('[::1]:8080')?.name, 'v6');
  assert.equal(table.findVirtualHost('other:1'), undefined);
});

test('routes are tried in order; the first that matches wins; none is undefined (NR)', () => {
  const table = RouteTable.compile({
    name: 'r',
    virtual_hosts: [
      vhost(
        'v',
        ['v'],
        [
          route('exact', { path: '/a' }),
          route('prefix', { prefix: '/a' }),
          route('rest', { prefix: '/b' }),
        ],
      ),
    ],
  });
  const name = (path: string) => table.route(req('v', path))?.route.name;
  assert.equal(name('/a'), 'exact');
  assert.equal(name('/ab'), 'prefix');
  assert.equal(name('/b/c'), 'rest');
  assert.equal(name('/c'), undefined);
  assert.equal(table.route(req('unknown', '/a')), undefined);
  assert.equal(table.route(req('v', '/a'))?.vhost.name, 'v');
});

test('a domain given twice is a ConfigError, wildcards included (Envoy: unique domains)', () => {
  const dup = (a: string[], b: string[]) => () =>
    RouteTable.compile({ name: 'r', virtual_hosts: [vhost('one', a), vhost('two', b)] });
  const isDup = (field: string) => (e: unknown) =>
    e instanceof ConfigError &&
    e.field === field &&
    /is in two virtual hosts|only one virtual host/.test(e.detail);
  assert.throws(dup(['a.com'], ['A.com']), isDup('virtual_hosts[1].domains'));
  assert.throws(dup(['*'], ['*']), isDup('virtual_hosts[1].domains'));
  // Regression: Envoy refuses duplicate wildcard domains too; skiff let the first one win.
  assert.throws(dup(['*.a.com'], ['*.a.com']), isDup('virtual_hosts[1].domains'));
  assert.throws(dup(['api.*'], ['x', 'api.*']), isDup('virtual_hosts[1].domains'));
  // Within one virtual host too.
  assert.throws(
    () => RouteTable.compile({ name: 'r', virtual_hosts: [vhost('one', ['a', 'a'])] }),
    ConfigError,
  );
  // Same suffix under another form is not a duplicate.
  RouteTable.compile({
    name: 'r',
    virtual_hosts: [vhost('one', ['*.a.com']), vhost('two', ['x.a.com', 'a.com'])],
  });
});

test('errors name the virtual host, route and field', () => {
  assert.throws(
    () =>
      RouteTable.compile({
        name: 'r',
        virtual_hosts: [vhost('ok', ['a']), { name: 'bad', domains: [] }],
      }),
    (e: unknown) => e instanceof ConfigError && e.field === 'virtual_hosts[1].domains',
  );
  assert.throws(
    () =>
      RouteTable.compile({
        name: 'r',
        virtual_hosts: [
          vhost(
            'v',
            ['v'],
            [route('a'), { match: { safe_regex: { regex: '[' } }, route: { cluster: 'c' } }],
          ),
        ],
      }),
    (e: unknown) =>
      e instanceof ConfigError && e.field === 'virtual_hosts[0].routes[1].match.safe_regex.regex',
  );
  assert.throws(
    () =>
      RouteTable.compile({
        name: 'r',
        virtual_hosts: [vhost('v', ['v'], [{ route: { cluster: 'c' } }])],
      }),
    (e: unknown) => e instanceof ConfigError && e.field === 'virtual_hosts[0].routes[0].match',
  );
});

test('route guards skip only routes that cannot match: the first matching route as without them', () => {
  // Matches of every kind a guard reads: path prefixes (case-sensitive or not), exact paths,
  // regexes with and without a literal start, headers present, absent, inverted, treated as
  // empty, pseudo-headers, query parameters.
  const matches: Obj[] = [
    { safe_regex: { regex: '/api/v1/[a-z]+/[0-9]{1,6}(/.*)?' } },
    {
      prefix: '/',
      headers: [{ name: 'x-tenant', string_match: { safe_regex: { regex: 't-[0-9]' } } }],
    },
    { prefix: '/', query_parameters: [{ name: 'canary', string_match: { exact: 'c1' } }] },
    { prefix: '/', query_parameters: [{ name: 'flag' }] },
    { prefix: '/', headers: [{ name: 'x-debug', present_match: false }] },
    { prefix: '/', headers: [{ name: 'x-gone', present_match: true, invert_match: true }] },
    {
      prefix: '/',
      headers: [{ name: 'x-v', exact_match: '', treat_missing_header_as_empty: true }],
    },
    { prefix: '/', headers: [{ name: 'X-Mixed', prefix_match: 'a' }] },
    { prefix: '/', headers: [{ name: 'x-any' }] },
    { prefix: '/', headers: [{ name: ':method', exact_match: 'POST' }] },
    { prefix: '/', headers: [{ name: 'host', string_match: { prefix: 'shop' } }] },
    { prefix: '/Static', case_sensitive: false },
    { path: '/exact' },
    { path_separated_prefix: '/sep' },
    { safe_regex: { regex: '(?i)/upper/.*' } },
    { safe_regex: { regex: '/a|/b' } },
    { safe_regex: { regex: '/lit' } },
    { safe_regex: { regex: '/.*' } },
  ];
  const requests: RequestView[] = [];
  const paths = [
    '/',
    '/api/v1/abc/12',
    '/static/x',
    '/STATIC/x',
    '/exact',
    '/sep',
    '/sep/x',
    '/sepx',
    '/upper/x',
    '/UPPER/x',
    '/a',
    '/b',
    '/lit',
    '/lit/',
  ];
  const queries = ['', 'canary=c1', 'canary=c2', 'flag', 'x=1'];
  const headerSets: RequestView['headers'][] = [
    {},
    { 'x-tenant': 't-1' },
    { 'x-tenant': 'zz' },
    { 'x-debug': '1' },
    { 'x-gone': '1' },
    { 'x-v': '' },
    { 'x-v': 'v' },
    { 'x-mixed': 'abc' },
    { 'x-any': '' },
    { 'x-tenant': ['t-1', 't-2'] },
  ];
  for (const path of paths)
    for (const query of queries)
      for (const headers of headerSets)
        for (const [method, authority] of [
          ['GET', 'shop.example.com'],
          ['POST', 'echo'],
        ] as const)
          requests.push({ method, scheme: 'http', authority, path, query, headers });
  // Each match alone ahead of a catch-all, so that every route is the first to be tried once.
  for (const [i, match] of matches.entries()) {
    const table = RouteTable.compile({
      name: 'r',
      virtual_hosts: [vhost('v', ['*'], [route(`m${i}`, match), route('rest', { prefix: '' })])],
    });
    const compiled = table.findVirtualHost('x')!.routes;
    for (const r of requests) {
      const first = compiled.find((c) => c.matches(r))?.name;
      assert.equal(
        table.route(r)?.route.name,
        first,
        `${JSON.stringify(match)} on ${JSON.stringify(r)}`,
      );
    }
  }
});

test('route guards: what they read off a match', () => {
  const table = RouteTable.compile({
    name: 'r',
    virtual_hosts: [
      vhost(
        'v',
        ['*'],
        [
          route('a', { safe_regex: { regex: '/api/v0/[a-z]+' } }),
          route('b', {
            prefix: '/',
            headers: [{ name: 'X-Tenant', string_match: { exact: 't' } }],
          }),
          route('c', { prefix: '/', query_parameters: [{ name: 'canary' }] }),
          route('d', { prefix: '/', headers: [{ name: 'x-debug', present_match: false }] }),
          route('e', { prefix: '/Any', case_sensitive: false }),
        ],
      ),
    ],
  });
  const guards = table.findVirtualHost('x')!.routes.map((r) => r.guard);
  assert.deepEqual(guards, [
    { pathPrefix: '/api/v0/', header: undefined, needsQuery: false },
    { pathPrefix: '/', header: 'x-tenant', needsQuery: false },
    { pathPrefix: '/', header: undefined, needsQuery: true },
    { pathPrefix: '/', header: undefined, needsQuery: false },
    { pathPrefix: '', header: undefined, needsQuery: false },
  ]);
});
