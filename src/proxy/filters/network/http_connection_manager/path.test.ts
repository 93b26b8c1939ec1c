import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { PathNormalization } from '../../../../config/mesh-config.js';
import { hcmPathFields } from '../../../../control-plane/generate/path-normalization.js';
import { ListenerStats } from '../../../listeners/listener-stats.js';
import { RouteStore } from '../../../routes/route-store.js';
import { ClusterManager } from '../../../upstream/cluster-manager.js';
import { compileCluster } from '../../../upstream/cluster-config.js';
import { compileHcm } from './config.js';
import { HttpConnectionManager } from './filter.js';
import type { PathOptions } from './path.js';
import {
  canonicalPath,
  normalizePath,
  normalizeRequestPath,
  parseRequestTarget,
  removeDotSegments,
} from './path.js';

test('remove_dot_segments (RFC 3986 §5.2.4)', () => {
  assert.equal(removeDotSegments('/a/./b/../c'), '/a/c');
  assert.equal(removeDotSegments('/a/b/c/./../../g'), '/a/g');
  assert.equal(removeDotSegments('/a/b/..'), '/a/');
  assert.equal(removeDotSegments('/a/b/.'), '/a/b/');
  assert.equal(removeDotSegments('/../a'), '/a');
  assert.equal(removeDotSegments('/..'), '/');
  assert.equal(removeDotSegments('/a/..b/c.'), '/a/..b/c.');
  assert.equal(removeDotSegments('/plain/path'), '/plain/path');
});

test('normalize_path: unreserved escapes decoded, others upper-cased, then dot segments', () => {
  assert.equal(normalizePath('/%41%62c', false), '/Abc');
  assert.equal(normalizePath('/a%2fb', false), '/a%2Fb', 'an escaped slash stays escaped');
  assert.equal(normalizePath('/%7e/%2d%2E%5F', false), '/~/-._');
  assert.equal(normalizePath('/a/%2e%2e/b', false), '/b', 'escaped dots are dots');
  assert.equal(normalizePath('/a%20b', false), '/a%20b');
  assert.equal(normalizePath('/a/./b/../c', false), '/a/c');
});

test('merge_slashes', () => {
  assert.equal(normalizePath('//a///b/', true), '/a/b/');
  assert.equal(normalizePath('//a///b/', false), '//a///b/');
});

test('canonicalPath: backslashes are slashes, %00 and control characters are invalid', () => {
  // Envoy's path_utility_test: "/a/..\\c" → "/c"; "%00" anywhere fails.
  assert.equal(canonicalPath('/a/..\\c'), '/c');
  assert.equal(canonicalPath('\\admin'), '/admin');
  assert.equal(canonicalPath('/xyz/.%00../abc'), undefined);
  assert.equal(canonicalPath('/a\u0001b'), undefined);
  assert.equal(canonicalPath('a/b/../c'), '/a/c', 'a leading slash is added');
  assert.equal(canonicalPath('/a/b/%2E./c'), '/a/c');
  assert.equal(canonicalPath('/A/B/C'), '/A/B/C', 'case is kept');
  assert.equal(canonicalPath('/a b/"x"'), '/a%20b/%22x%22');
  assert.equal(canonicalPath('/caf\u00e9'), '/caf%E9', 'latin1 request-line bytes are escaped');
  assert.equal(canonicalPath('/a;x/b'), '/a;x/b', 'path parameters stay (Envoy leaves them)');
});

const opts = (o: Partial<PathOptions>): PathOptions => ({
  normalizePath: true,
  mergeSlashes: false,
  escapedSlashes: 'KEEP_UNCHANGED',
  ...o,
});

test('escaped slashes: keep, reject, unescape and forward, unescape and redirect', () => {
  assert.deepEqual(normalizeRequestPath('/a%2Fb', opts({})), { kind: 'ok', path: '/a%2Fb' });
  assert.deepEqual(normalizeRequestPath('/a%5cb', opts({})), { kind: 'ok', path: '/a%5Cb' });
  assert.deepEqual(normalizeRequestPath('/a%2fb', opts({ escapedSlashes: 'REJECT_REQUEST' })), {
    kind: 'reject',
  });
  assert.deepEqual(normalizeRequestPath('/ab', opts({ escapedSlashes: 'REJECT_REQUEST' })), {
    kind: 'ok',
    path: '/ab',
  });
  // Unescaped before normalize_path: %5C becomes \ and then /, dots then resolve.
  const fwd = opts({ escapedSlashes: 'UNESCAPE_AND_FORWARD', mergeSlashes: true });
  assert.deepEqual(normalizeRequestPath('/x/..%2Fadmin', fwd), { kind: 'ok', path: '/admin' });
  assert.deepEqual(normalizeRequestPath('/%5Cadmin', fwd), { kind: 'ok', path: '/admin' });
  assert.deepEqual(normalizeRequestPath('/%2F%2Fadmin', fwd), { kind: 'ok', path: '/admin' });
  const redirect = opts({ escapedSlashes: 'UNESCAPE_AND_REDIRECT' });
  assert.deepEqual(normalizeRequestPath('/a%2Fb', redirect), { kind: 'redirect', path: '/a/b' });
  assert.deepEqual(normalizeRequestPath('/a/b', redirect), { kind: 'ok', path: '/a/b' });
});

test('normalize_path off: merge_slashes alone, and nothing at all (NONE)', () => {
  const merge = opts({ normalizePath: false, mergeSlashes: true });
  assert.deepEqual(normalizeRequestPath('//a/./b', merge), { kind: 'ok', path: '/a/./b' });
  const none = opts({ normalizePath: false });
  assert.deepEqual(normalizeRequestPath('/%61/../b%00', none), {
    kind: 'ok',
    path: '/%61/../b%00',
  });
  assert.deepEqual(normalizeRequestPath('/a%00', opts({})), { kind: 'reject' });
});

test('request targets: origin form, absolute form, query, fragment', () => {
  assert.deepEqual(parseRequestTarget('/a/b?x=1&y'), {
    authority: undefined,
    scheme: undefined,
    path: '/a/b',
    query: 'x=1&y',
  });
  assert.deepEqual(parseRequestTarget('http://reviews:9080/r/0?u=jason'), {
    authority: 'reviews:9080',
    scheme: 'http',
    path: '/r/0',
    query: 'u=jason',
  });
  assert.deepEqual(parseRequestTarget('HTTP://example.com'), {
    authority: 'example.com',
    scheme: 'http',
    path: '/',
    query: '',
  });
  assert.deepEqual(parseRequestTarget('http://example.com?q'), {
    authority: 'example.com',
    scheme: 'http',
    path: '/',
    query: 'q',
  });
  assert.deepEqual(parseRequestTarget('/p#frag?not-a-query'), {
    authority: undefined,
    scheme: undefined,
    path: '/p',
    query: '',
  });
  assert.deepEqual(parseRequestTarget('http://[::1]:8080/x'), {
    authority: '[::1]:8080',
    scheme: 'http',
    path: '/x',
    query: '',
  });
  // Not a scheme, or a line break after the authority: malformed, as the old regex had it.
  for (const bad of [
    '1http://a/',
    'ht_tp://a/',
    '://a/',
    'http:/a/',
    'http://a/b\nc',
    'a b://c/',
  ]) {
    assert.equal(parseRequestTarget(bad), undefined, bad);
  }
  assert.deepEqual(parseRequestTarget('git+ssh.x-y://h/p'), {
    authority: 'h',
    scheme: 'git+ssh.x-y',
    path: '/p',
    query: '',
  });
  assert.deepEqual(parseRequestTarget('\\admin?x'), {
    authority: undefined,
    scheme: undefined,
    path: '\\admin',
    query: 'x',
  });
  assert.equal(parseRequestTarget('example.com:443'), undefined, 'authority form (CONNECT)');
  assert.equal(parseRequestTarget('*'), undefined);
  assert.equal(parseRequestTarget(''), undefined);
});

// Through a real connection manager: the upstream (and routing) see the normalised path, an
// invalid one is answered 400 and UNESCAPE_AND_REDIRECT answers 307, as Envoy does.
describe('the connection manager forwards the normalised path', () => {
  const T = 'type.googleapis.com/';
  let upstream: http.Server;
  const proxies: http.Server[] = [];
  const ports = new Map<string, number>();

  const listen = (s: http.Server): Promise<number> =>
    new Promise((resolve) =>
      s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
    );

  /** One request line written byte for byte: status, location and the upstream's echo. */
  const raw = (port: number, target: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString('latin1')));
      socket.on('error', reject);
      socket.on('close', () => {
        const status = /^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? '?';
        const location = /\r\nlocation: ([^\r]*)/i.exec(text)?.[1];
        const body = text.slice(text.indexOf('\r\n\r\n') + 4);
        resolve(location ? `${status} -> ${location}` : `${status} ${body}`.trim());
      });
      socket.write(`GET ${target} HTTP/1.1\r\nHost: svc\r\nConnection: close\r\n\r\n`);
    });

  before(async () => {
    upstream = http.createServer((req, res) => res.end(`saw ${req.url}`));
    const up = await listen(upstream);
    const clusters = new ClusterManager();
    clusters.applyClusters(
      [
        {
          name: 'up',
          type: 'STATIC',
          connect_timeout: '1s',
          load_assignment: {
            cluster_name: 'up',
            endpoints: [
              {
                lb_endpoints: [
                  {
                    endpoint: {
                      address: { socket_address: { address: '127.0.0.1', port_value: up } },
                    },
                  },
                ],
              },
            ],
          },
        },
      ].map(compileCluster),
    );
    for (const option of [
      'NONE',
      'BASE',
      'MERGE_SLASHES',
      'DECODE_AND_MERGE_SLASHES',
      'REDIRECT',
    ]) {
      const fields =
        option === 'REDIRECT'
          ? { normalize_path: true, path_with_escaped_slashes_action: 'UNESCAPE_AND_REDIRECT' }
          : hcmPathFields(option as PathNormalization);
      const config = compileHcm({
        stat_prefix: option,
        ...fields,
        http_filters: [
          {
            name: 'envoy.filters.http.router',
            typed_config: { '@type': `${T}envoy.extensions.filters.http.router.v3.Router` },
          },
        ],
        route_config: {
          name: 'r',
          virtual_hosts: [
            {
              name: 'v',
              domains: ['*'],
              routes: [
                {
                  match: { path: '/admin' },
                  direct_response: { status: 200, body: { inline_string: 'route /admin' } },
                },
                { match: { prefix: '/' }, route: { cluster: 'up' } },
              ],
            },
          ],
        },
      });
      const hcm = new HttpConnectionManager(
        config,
        { routes: new RouteStore(), clusters, stats: new ListenerStats(), log: () => undefined },
        option,
      );
      const proxy = http.createServer((req, res) => hcm.handle(req, res));
      proxies.push(proxy);
      ports.set(option, await listen(proxy));
    }
  });

  after(() => {
    upstream.close();
    for (const p of proxies) p.close();
  });

  const cases: [string, Record<string, string>][] = [
    [
      '/a/./b//c%2Fd',
      {
        NONE: '200 saw /a/./b//c%2Fd',
        BASE: '200 saw /a/b//c%2Fd',
        MERGE_SLASHES: '200 saw /a/b/c%2Fd',
        DECODE_AND_MERGE_SLASHES: '200 saw /a/b/c/d',
        REDIRECT: '307 -> /a/b//c/d',
      },
    ],
    [
      '/x/..%2Fadmin?q=1',
      {
        NONE: '200 saw /x/..%2Fadmin?q=1',
        BASE: '200 saw /x/..%2Fadmin?q=1',
        MERGE_SLASHES: '200 saw /x/..%2Fadmin?q=1',
        DECODE_AND_MERGE_SLASHES: '200 route /admin',
        REDIRECT: '307 -> /admin?q=1',
      },
    ],
    [
      '/%61dmin#frag',
      {
        NONE: '200 saw /%61dmin',
        BASE: '200 route /admin',
        MERGE_SLASHES: '200 route /admin',
        DECODE_AND_MERGE_SLASHES: '200 route /admin',
        REDIRECT: '200 route /admin',
      },
    ],
    [
      '/foo\\..\\admin',
      {
        NONE: '200 saw /foo\\..\\admin',
        BASE: '200 route /admin',
        MERGE_SLASHES: '200 route /admin',
        DECODE_AND_MERGE_SLASHES: '200 route /admin',
        REDIRECT: '200 route /admin',
      },
    ],
    [
      '/a%00b',
      {
        NONE: '200 saw /a%00b',
        BASE: '400 Bad Request',
        MERGE_SLASHES: '400 Bad Request',
        DECODE_AND_MERGE_SLASHES: '400 Bad Request',
        REDIRECT: '400 Bad Request',
      },
    ],
    [
      'http://svc//admin;x',
      {
        NONE: '200 saw //admin;x',
        BASE: '200 saw //admin;x',
        MERGE_SLASHES: '200 saw /admin;x',
        DECODE_AND_MERGE_SLASHES: '200 saw /admin;x',
        REDIRECT: '200 saw //admin;x',
      },
    ],
  ];
  for (const [target, want] of cases) {
    test(`${target}`, async () => {
      const got: Record<string, string> = {};
      for (const [option, port] of ports) got[option] = await raw(port, target);
      assert.deepEqual(got, want);
    });
  }
});
