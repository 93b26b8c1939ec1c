// ext_authz against a real HTTP authorizer on port 0: allow (upstream headers), deny (the
// answer, filtered headers), errors (status_on_error, failure_mode_allow, timeout), and
// filter_enabled_metadata (the shadow RBAC result decides whether the authorizer is asked).
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setAuthzClusters } from '../../../authz/clusters.js';
import { setDynamicMetadata } from '../../../authz/metadata.js';
import type { ClusterManager } from '../../../upstream/cluster-manager.js';
import { routedStream } from '../testing.js';
import { makeExtAuthzFilter } from './filter.js';
import type { ExtAuthzFilter } from './filter.js';

type Obj = Record<string, unknown>;

let server: http.Server;
let port = 0;
let deadPort = 0;
const asked: http.IncomingMessage[] = [];

function useClusters(): void {
  const clusters = {
    get: (name: string) =>
      name === 'outbound|8000||authz' ||
      name === 'outbound|8000||dead' ||
      name === 'outbound|8000||slow'
        ? {
            chooseHost: () => ({
              address: '127.0.0.1',
              port: name.endsWith('dead') ? deadPort : port,
            }),
          }
        : undefined,
  } as unknown as ClusterManager;
  setAuthzClusters(clusters);
}

function filter(extra: Obj = {}, cluster = 'outbound|8000||authz'): ExtAuthzFilter {
  return makeExtAuthzFilter(
    {
      http_service: {
        server_uri: { uri: 'http://authz', cluster, timeout: '1s' },
        path_prefix: '/check',

        authorization_response: {
          allowed_upstream_headers: { patterns: [{ exact: 'x-user' }] },
          allowed_client_headers: { patterns: [{ exact: 'x-why' }] },
        },
      },
      allowed_headers: { patterns: [{ exact: 'x-decide', ignore_case: true }] },
      ...extra,
    },
    { name: 'envoy.filters.http.ext_authz', statPrefix: 't' },
  ).filter as ExtAuthzFilter;
}

const stream = (headers: Record<string, string>) => {
  const s = routedStream([{ match: { prefix: '/' }, route: { cluster: 'c' } }], {
    path: '/p',
    query: 'q=1',
    headers,
  });
  (s.req as unknown as { rawHeaders: string[] }).rawHeaders = Object.entries(headers).flat();
  return s;
};

describe('ext_authz (HTTP authorizer)', () => {
  before(async () => {
    server = http.createServer((req, res) => {
      asked.push(req);
      req.resume();
      if (req.url?.includes('slow')) return;
      if (req.headers['x-decide'] === 'drip') {
        // Never silent, never done: only a deadline on the whole check ends it.
        res.writeHead(200);
        const t = setInterval(() => res.write(' '), 100);
        res.once('close', () => clearInterval(t));
        return;
      }
      if (req.headers['x-decide'] === 'crash') {
        res.writeHead(503, { 'x-why': 'down' });
        res.end('authorizer broken');
      } else if (req.headers['x-decide'] === 'yes') {
        res.writeHead(200, { 'x-user': 'alice', 'x-other': '1' });
        res.end();
      } else {
        res.writeHead(401, { 'x-why': 'no', 'x-hidden': '1' });
        res.end('nope');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    deadPort = (dead.address() as AddressInfo).port;
    await new Promise<void>((r) => dead.close(() => r()));
    useClusters();
  });
  after(() => server.close());

  it('allow: only allowed headers go to the authorizer; allowed answer headers go upstream', async () => {
    const s = stream({ 'x-decide': 'yes', 'x-private': 'p', 'x-user': 'spoofed' });
    assert.equal(await filter().onRequest(s), undefined);
    const check = asked.at(-1);
    assert.equal(check?.url, '/check/p?q=1');
    assert.equal(check?.headers['x-private'], undefined);
    assert.equal(s.req.headers['x-user'], 'alice');
    assert.equal(s.req.headers['x-other'], undefined);
  });

  it("deny: the authorizer's status and body, only allowed client headers; flag UAEX", async () => {
    const s = stream({ 'x-decide': 'no' });
    const reply = await filter().onRequest(s);
    assert.equal(reply?.status, 401);
    assert.equal(reply?.body, 'nope');
    assert.equal((reply?.headers as Obj)['x-why'], 'no');
    assert.equal((reply?.headers as Obj)['x-hidden'], undefined);
    assert.ok(s.responseFlags.has('UAEX'));
  });

  it('errors (refused, missing, 5xx): status_on_error (403 by default), failure_mode_allow lets through', async () => {
    const dead = 'outbound|8000||dead';
    assert.equal((await filter({}, dead).onRequest(stream({})))?.status, 403);
    assert.equal(
      (await filter({ status_on_error: { code: 503 } }, dead).onRequest(stream({})))?.status,
      503,
    );
    assert.equal(await filter({ failure_mode_allow: true }, dead).onRequest(stream({})), undefined);
    assert.equal((await filter({}, 'outbound|1||missing').onRequest(stream({})))?.status, 403);
    // A 5xx answer is an error (Envoy), not the authorizer's denial: status_on_error, no body.
    const crashed = await filter().onRequest(stream({ 'x-decide': 'crash' }));
    assert.deepEqual(crashed, { status: 403, body: '' });
    const open = await filter({ failure_mode_allow: true }).onRequest(
      stream({ 'x-decide': 'crash' }),
    );
    assert.equal(open, undefined);
  });

  it(
    'timeout bounds the whole check: an authorizer that keeps talking is an error',
    { timeout: 10_000 },
    async () => {
      const reply = await filter().onRequest(stream({ 'x-decide': 'drip' }));
      assert.deepEqual(reply, { status: 403, body: '' });
    },
  );

  it('filter_enabled_metadata: asked only when the shadow rules matched a CUSTOM policy', async () => {
    const f = filter({
      filter_enabled_metadata: {
        filter: 'envoy.filters.http.rbac',
        path: [{ key: 'istio_ext_authz_shadow_effective_policy_id' }],
        value: { string_match: { prefix: 'istio-ext-authz' } },
      },
    });
    const n = asked.length;
    assert.equal(await f.onRequest(stream({ 'x-decide': 'no' })), undefined);
    assert.equal(asked.length, n, 'not asked');
    const s = stream({ 'x-decide': 'no' });
    setDynamicMetadata(s, 'envoy.filters.http.rbac', {
      istio_ext_authz_shadow_effective_policy_id: 'istio-ext-authz-ns[a]-policy[b]-rule[0]',
    });
    assert.equal((await f.onRequest(s))?.status, 401);
  });
});
