// Response flags and response code details on every path a request can take through a real
// connection manager (real sockets, real upstreams on port 0): what access logs and metrics read.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { HttpStream } from '../../../http/stream.js';
import { ListenerStats } from '../../../listeners/listener-stats.js';
import { RouteStore } from '../../../routes/route-store.js';
import { ClusterManager } from '../../../upstream/cluster-manager.js';
import { compileCluster } from '../../../upstream/cluster-config.js';
import { compileHcm } from '../../network/http_connection_manager/config.js';
import { HttpConnectionManager } from '../../network/http_connection_manager/filter.js';

type Obj = Record<string, unknown>;
const T = 'type.googleapis.com/';

let upstream: http.Server;
let proxy: http.Server;
let proxyPort = 0;
let closedPort = 0;
const done: HttpStream[] = [];
let failuresLeft = 0;

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

const cluster = (name: string, port?: number) => ({
  name,
  type: 'STATIC',
  connect_timeout: '1s',
  load_assignment: {
    cluster_name: name,
    endpoints: port
      ? [
          {
            lb_endpoints: [
              {
                endpoint: {
                  address: { socket_address: { address: '127.0.0.1', port_value: port } },
                },
              },
            ],
          },
        ]
      : [],
  },
});

const route = (prefix: string, r: Obj, extra: Obj = {}) => ({ match: { prefix }, ...r, ...extra });
const fault = (o: Obj) => ({
  typed_per_filter_config: {
    'envoy.filters.http.fault': {
      '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault`,
      ...o,
    },
  },
});

before(async () => {
  upstream = http.createServer((req, res) => {
    const path = req.url ?? '/';
    if (path.includes('/hang')) return; // never answers
    if (path.startsWith('/reset')) return req.socket.destroy();
    if (path.startsWith('/half')) {
      res.writeHead(200, { 'content-length': '100' });
      res.write('partial');
      setImmediate(() => req.socket.destroy());
      return;
    }
    if (path.startsWith('/flaky') && failuresLeft-- > 0) {
      res.writeHead(503).end('no');
      return;
    }
    if (path.startsWith('/always503')) return void res.writeHead(503).end('no');
    res.end('ok');
  });
  const up = await listen(upstream);
  const closer = http.createServer();
  closedPort = await listen(closer);
  await new Promise<void>((r) => closer.close(() => r()));
  const clusters = new ClusterManager();
  clusters.applyClusters(
    [cluster('up', up), cluster('empty'), cluster('closed', closedPort)].map(compileCluster),
  );
  const config = compileHcm({
    stat_prefix: 'test',
    http_filters: [
      {
        name: 'envoy.filters.http.fault',
        typed_config: { '@type': `${T}envoy.extensions.filters.http.fault.v3.HTTPFault` },
      },
      {
        name: 'envoy.filters.http.cors',
        typed_config: { '@type': `${T}envoy.extensions.filters.http.cors.v3.Cors` },
      },
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
          domains: ['svc'],
          routes: [
            route('/nc', { route: { cluster: 'missing' } }),
            route('/uh', { route: { cluster: 'empty' } }),
            route('/uf', { route: { cluster: 'closed' } }),
            route('/direct', { direct_response: { status: 418, body: { inline_string: 'tea' } } }),
            route(
              '/abort',
              { route: { cluster: 'up' } },
              fault({ abort: { http_status: 500, percentage: { numerator: 100 } } }),
            ),
            route(
              '/delay',
              { route: { cluster: 'up' } },
              fault({ delay: { fixed_delay: '0.001s', percentage: { numerator: 100 } } }),
            ),
            route('/hang', { route: { cluster: 'up', timeout: '0.1s' } }),
            route('/slow', { route: { cluster: 'up', timeout: '0s' } }),
            route('/pertry', {
              route: {
                cluster: 'up',
                timeout: '5s',
                retry_policy: {
                  retry_on: '5xx',
                  num_retries: 1,
                  per_try_timeout: '0.05s',
                  retry_back_off: { base_interval: '0.001s' },
                },
              },
            }),
            route('/flaky', {
              route: {
                cluster: 'up',
                retry_policy: {
                  retry_on: '5xx',
                  num_retries: 2,
                  retry_back_off: { base_interval: '0.001s' },
                },
              },
            }),
            route('/always503', {
              route: {
                cluster: 'up',
                retry_policy: {
                  retry_on: '5xx',
                  num_retries: 1,
                  retry_back_off: { base_interval: '0.001s' },
                },
              },
            }),
            route('/', { route: { cluster: 'up' } }),
          ],
        },
      ],
    },
  });
  const hcm = new HttpConnectionManager(
    config,
    {
      routes: new RouteStore(),
      clusters,
      stats: new ListenerStats(),
      log: () => undefined,
      onStreamComplete: (s) => done.push(s),
    },
    'test',
  );
  proxy = http.createServer((req, res) => hcm.handle(req, res));
  proxyPort = await listen(proxy);
});

after(() => {
  proxy?.closeAllConnections();
  proxy?.close();
  upstream?.closeAllConnections();
  upstream?.close();
});

/** Sends a request, waits for the proxy to finish with it, returns status and its stream. */
async function send(path: string, opts: { host?: string; abortAfterMs?: number } = {}) {
  const before = done.length;
  const status = await new Promise<number>((resolve) => {
    const req = http.get(
      { host: '127.0.0.1', port: proxyPort, path, headers: { host: opts.host ?? 'svc' } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', () => resolve(res.statusCode ?? -1));
        res.on('aborted', () => resolve(res.statusCode ?? -1));
      },
    );
    req.on('error', () => resolve(-1));
    if (opts.abortAfterMs !== undefined) setTimeout(() => req.destroy(), opts.abortAfterMs);
  });
  const deadline = Date.now() + 10_000;
  while (done.length === before) {
    if (Date.now() > deadline) throw new Error(`no completed stream for ${path}`);
    await new Promise((r) => setTimeout(r, 5));
  }
  const s = done[done.length - 1] as HttpStream;
  return { status, flags: [...s.responseFlags].sort(), details: s.responseCodeDetails };
}

test('forwarded: no flags, via_upstream', async () => {
  assert.deepEqual(await send('/ok'), { status: 200, flags: [], details: 'via_upstream' });
});

test('local replies: NC, UH, UF, direct_response', async () => {
  assert.deepEqual(await send('/nc'), { status: 503, flags: ['NC'], details: 'cluster_not_found' });
  assert.deepEqual(await send('/uh'), {
    status: 503,
    flags: ['UH'],
    details: 'no_healthy_upstream',
  });
  assert.deepEqual(await send('/uf'), {
    status: 503,
    flags: ['UF'],
    details: 'upstream_reset_before_response_started{connection_failure}',
  });
  assert.deepEqual(await send('/direct'), { status: 418, flags: [], details: 'direct_response' });
});

test('upstream failures: UC (before and after the response started), UT', async () => {
  assert.deepEqual(await send('/reset'), {
    status: 503,
    flags: ['UC'],
    details: 'upstream_reset_before_response_started{connection_termination}',
  });
  const half = await send('/half');
  assert.deepEqual(
    [half.flags, half.details],
    [['UC'], 'upstream_reset_after_response_started{connection_termination}'],
  );
  assert.deepEqual(await send('/hang'), {
    status: 504,
    flags: ['UT'],
    details: 'response_timeout',
  });
});

test('retries: URX when exhausted (relayed 503, or the per-try timeout)', async () => {
  failuresLeft = 2;
  assert.deepEqual(await send('/flaky'), { status: 200, flags: [], details: 'via_upstream' });
  assert.deepEqual(await send('/always503'), {
    status: 503,
    flags: ['URX'],
    details: 'via_upstream',
  });
  assert.deepEqual(await send('/pertry/hang'), {
    status: 504,
    flags: ['URX', 'UT'],
    details: 'upstream_per_try_timeout',
  });
});

test('faults: FI with fault_filter_abort, DI on a delayed request', async () => {
  assert.deepEqual(await send('/abort'), {
    status: 500,
    flags: ['FI'],
    details: 'fault_filter_abort',
  });
  assert.deepEqual(await send('/delay'), { status: 200, flags: ['DI'], details: 'via_upstream' });
});

test('NR without a route, DC when the client leaves first', async () => {
  assert.deepEqual(await send('/', { host: 'elsewhere' }), {
    status: 404,
    flags: ['NR'],
    details: 'route_not_found',
  });
  const dc = await send('/slow/hang', { abortAfterMs: 50 });
  assert.deepEqual(dc.flags, ['DC']);
  assert.equal(dc.details, 'downstream_remote_disconnect');
});
