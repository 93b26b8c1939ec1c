import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ObjectHeaderMap } from '../header-map.js';
import { routedStream } from '../testing.js';
import type { LocalReply } from '../types.js';
import { CORS_POLICY_TYPE } from './config.js';
import type { CorsFilter } from './filter.js';
import { makeCorsFilter } from './filter.js';

type Obj = Record<string, unknown>;

const NAME = 'envoy.filters.http.cors';
const cors = (o: Obj) => ({ [NAME]: { '@type': `type.googleapis.com/${CORS_POLICY_TYPE}`, ...o } });
const route = (perFilter?: Obj) => ({
  match: { prefix: '/' },
  route: { cluster: 'c' },
  ...(perFilter ? { typed_per_filter_config: perFilter } : {}),
});

// As Istio writes a corsPolicy.
const POLICY = {
  allow_origin_string_match: [
    { exact: 'https://a.example' },
    { prefix: 'https://b.' },
    { safe_regex: { regex: 'https://[a-z]+\\.c\\.example' } },
  ],
  allow_methods: 'GET,POST',
  allow_headers: 'x-a,x-b',
  expose_headers: 'x-c',
  max_age: '86400',
  allow_credentials: true,
  forward_not_matching_preflights: true,
  filter_enabled: { default_value: { numerator: 100 } },
};

const filter = () => makeCorsFilter({}, { name: NAME, statPrefix: 'p' }).filter as CorsFilter;

function preflight(origin: string, policy: Obj = POLICY, extra: Record<string, string> = {}) {
  return routedStream([route(cors(policy))], {
    method: 'OPTIONS',
    headers: { origin, 'access-control-request-method': 'POST', ...extra },
  });
}

test('a preflight from an allowed origin is answered here: 200, the access-control-* headers', () => {
  const f = filter();
  for (const origin of ['https://a.example', 'https://b.example', 'https://x.c.example']) {
    const s = preflight(origin);
    const reply = f.onRequest(s) as LocalReply;
    assert.deepEqual(reply, {
      status: 200,
      body: '',
      headers: {
        'access-control-allow-origin': origin,
        'access-control-allow-credentials': 'true',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'x-a,x-b',
        'access-control-max-age': '86400',
      },
    });
    assert.equal(s.responseCodeDetails, 'cors_response');
  }
  assert.equal(f.stats.get('origin_valid'), 3);
});

test('unmatched preflights: forwarded by default, answered without CORS headers under IGNORE', () => {
  const f = filter();
  assert.equal(f.onRequest(preflight('https://evil.example')), undefined);
  const ignore = { ...POLICY, forward_not_matching_preflights: false };
  assert.deepEqual(f.onRequest(preflight('https://evil.example', ignore)), {
    status: 200,
    body: '',
    headers: {
      'access-control-allow-credentials': 'true',
      'access-control-allow-methods': 'GET,POST',
      'access-control-allow-headers': 'x-a,x-b',
      'access-control-max-age': '86400',
    },
  });
  assert.equal(f.stats.get('origin_invalid'), 2);
});

test('"*" methods and headers echo what the preflight asks for', () => {
  const reply = filter().onRequest(
    preflight(
      'https://a.example',
      { ...POLICY, allow_methods: '*', allow_headers: '*' },
      {
        'access-control-request-headers': 'x-custom',
      },
    ),
  ) as LocalReply;
  assert.equal(reply.headers?.['access-control-allow-methods'], 'POST');
  assert.equal(reply.headers?.['access-control-allow-headers'], 'x-custom');
});

test('an actual request continues; its response gets allow-origin, credentials, expose-headers', () => {
  const f = filter();
  const s = routedStream([route(cors(POLICY))], {
    method: 'POST',
    headers: { origin: 'https://a.example' },
  });
  assert.equal(f.onRequest(s), undefined);
  const out: Record<string, string | number | string[]> = {};
  f.onResponseHeaders(s, 200, new ObjectHeaderMap(out));
  assert.deepEqual(out, {
    'access-control-allow-origin': 'https://a.example',
    'access-control-allow-credentials': 'true',
    'access-control-expose-headers': 'x-c',
  });
  const other = routedStream([route(cors(POLICY))], {
    headers: { origin: 'https://evil.example' },
  });
  f.onRequest(other);
  const none: Record<string, string> = {};
  f.onResponseHeaders(other, 200, new ObjectHeaderMap(none));
  assert.deepEqual(none, {}, 'a disallowed origin gets nothing');
});

test('no policy, no Origin, or a disabled filter: nothing happens', () => {
  const f = filter();
  assert.equal(
    f.onRequest(routedStream([route()], { method: 'OPTIONS', headers: { origin: 'x' } })),
    undefined,
  );
  assert.equal(f.onRequest(preflight('')), undefined);
  const off = { ...POLICY, filter_enabled: { default_value: { numerator: 0 } } };
  assert.equal(f.onRequest(preflight('https://a.example', off)), undefined);
  // Shadow mode counts origins and enforces nothing.
  const shadow = { ...off, shadow_enabled: { default_value: { numerator: 100 } } };
  assert.equal(f.onRequest(preflight('https://a.example', shadow)), undefined);
  assert.equal(f.stats.get('origin_valid'), 1);
});

test('the route policy wins field by field over the virtual host one', () => {
  const vhostPolicy = cors({ ...POLICY, max_age: '60', allow_methods: 'PUT' });
  const s = routedStream(
    [
      route(
        cors({ allow_origin_string_match: [{ exact: 'https://r.example' }], allow_methods: 'GET' }),
      ),
    ],
    {
      method: 'OPTIONS',
      headers: { origin: 'https://r.example', 'access-control-request-method': 'GET' },
    },
    { typed_per_filter_config: vhostPolicy },
  );
  const reply = filter().onRequest(s) as LocalReply;
  assert.equal(reply.headers?.['access-control-allow-methods'], 'GET');
  assert.equal(reply.headers?.['access-control-max-age'], '60');
});
