// Connection pools and circuit breakers through a real sidecar: DestinationRule
// connectionPool.tcp (maxConnections, connectTimeout, tcpKeepalive, maxConnectionDuration,
// idleTimeout) and .http (http1MaxPendingRequests, http2MaxRequests, maxRequestsPerConnection,
// maxRetries, idleTimeout, h2UpgradePolicy, useClientProtocol), and retryBudget. Each service's
// endpoint is a WorkloadEntry served by the test, so the test sees the very connections the
// client's sidecar makes; overflow answers 503 at once (Envoy's UO).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { keepaliveParamsOf } from '../src/proxy/upstream/keepalive.js';
import { startMesh } from '../src/launcher/mesh.js';
import { IDLE_APP, SKIFF, closeAgent, eventually, getJson, tempTree } from './support/skiff.js';
import {
  TestServer,
  blackhole,
  closeUpstreamAgent,
  clusterStat,
  clusterStatus,
  dumpedCluster,
  outboundCluster,
  send,
} from './support/upstream.js';
import { destinationRule, service, workloadEntry } from './support/upstream-mesh.js';

type Obj = Record<string, unknown>;

const OVERFLOW_BODY =
  'upstream connect error or disconnect/reset before headers. reset reason: overflow';

const retries = (name: string) => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: ${name} }
spec:
  hosts: [${name}]
  http: [{ route: [{ destination: { host: ${name} } }], retries: { attempts: 3, retryOn: 5xx } }]
`;

/** A service whose one endpoint (a WorkloadEntry) is `port`, with `policy` as its trafficPolicy. */
const upstream = (name: string, port: number, policy?: string) =>
  [
    service(name, `svc: ${name}`),
    workloadEntry(name, port, `svc: ${name}`),
    ...(policy ? [destinationRule(name, policy)] : []),
  ].join('---');

/** An h2c-only server (prior knowledge) answering the HTTP version it saw; holds `/hold`. */
function h2cServer(held: http2.Http2ServerResponse[]): http2.Http2Server {
  return http2.createServer((req, res) => {
    if (req.url.startsWith('/hold')) held.push(res);
    else res.end(`h${req.httpVersion}`);
  });
}

/** One port speaking HTTP/1.1 and h2c (by the client preface), answering the version it saw. */
function dualServer(): net.Server {
  const answer = (req: { httpVersion: string }, res: { end(s: string): void }) =>
    res.end(`h${req.httpVersion}`);
  const h1 = http.createServer(answer);
  const h2 = http2.createServer(answer);
  return net.createServer((socket) => {
    socket.once('readable', () => {
      const head = socket.read(3) as Buffer | null;
      if (head) socket.unshift(head);
      (head?.toString() === 'PRI' ? h2 : h1).emit('connection', socket);
    });
  });
}

const listen = (s: net.Server) =>
  new Promise<number>((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)),
  );

describe(
  'connection pools and circuit breakers through a real sidecar',
  { timeout: 600_000 },
  () => {
    let mesh: Mesh;
    let outbound: number;
    let admin: number;
    const s = {
      maxConn: new TestServer('max-conn'),
      pending: new TestServer('pending'),
      maxRequests: new TestServer('max-requests'),
      perConn: new TestServer('per-conn'),
      retries: new TestServer('retries'),
      budget: new TestServer('budget'),
      duration: new TestServer('duration'),
      idle: new TestServer('idle'),
      tcpIdle: new TestServer('tcp-idle'),
      noIdle: new TestServer('no-idle'),
      keepalive: new TestServer('keepalive'),
      noKeepalive: new TestServer('no-keepalive'),
      keepaliveProbes: new TestServer('keepalive-probes'),
    };
    const h2Held: http2.Http2ServerResponse[] = [];
    const h2 = h2cServer(h2Held);
    // Its own port, so that the sidecar's one connection to it is the HTTP/2 pool's keepalive.
    const h2Keepalive = h2cServer([]);
    let h2KeepalivePort = 0;
    const dual = dualServer();
    let hole: Awaited<ReturnType<typeof blackhole>>;
    const url = (svc: string, path = '/') => `http://${svc}:8080${path}`;
    const stat = (svc: string, name: string) =>
      clusterStat(admin, outboundCluster(svc, 8080), name);

    before(async () => {
      for (const server of Object.values(s)) await server.listen();
      const h2Port = await listen(h2);
      const dualPort = await listen(dual);
      h2KeepalivePort = await listen(h2Keepalive);
      hole = await blackhole();
      // Retries: the first attempt fails at once, retries wait (so that they stay in flight).
      for (const server of [s.retries, s.budget]) {
        server.handle = (req, res) => {
          if (req.url?.startsWith('/hold')) return false;
          if (req.headers['x-envoy-attempt-count'] === undefined) {
            res.statusCode = 503;
            res.end(`${server.name} 503`);
          } else server.held.push(res);
          return true;
        };
      }
      const config = [
        upstream('max-conn', s.maxConn.port, 'connectionPool: { tcp: { maxConnections: 1 } }'),
        upstream(
          'pending',
          s.pending.port,
          'connectionPool: { tcp: { maxConnections: 1 }, http: { http1MaxPendingRequests: 1 } }',
        ),
        upstream(
          'max-requests',
          s.maxRequests.port,
          'connectionPool: { http: { http2MaxRequests: 2 } }',
        ),
        upstream(
          'per-conn',
          s.perConn.port,
          'connectionPool: { http: { maxRequestsPerConnection: 2 } }',
        ),
        upstream('retries', s.retries.port, 'connectionPool: { http: { maxRetries: 1 } }'),
        retries('retries'),
        upstream('budget', s.budget.port, 'retryBudget: { percent: 25, minRetryConcurrency: 1 }'),
        retries('budget'),
        upstream(
          'duration',
          s.duration.port,
          'connectionPool: { tcp: { maxConnectionDuration: 1s } }',
        ),
        upstream('idle', s.idle.port, 'connectionPool: { http: { idleTimeout: 1s } }'),
        upstream('tcp-idle', s.tcpIdle.port, 'connectionPool: { tcp: { idleTimeout: 1s } }'),
        upstream('no-idle', s.noIdle.port),
        upstream(
          'keepalive',
          s.keepalive.port,
          'connectionPool: { tcp: { tcpKeepalive: { time: 30s } } }',
        ),
        upstream('no-keepalive', s.noKeepalive.port),
        upstream(
          'keepalive-probes',
          s.keepaliveProbes.port,
          'connectionPool: { tcp: { tcpKeepalive: { time: 30s, interval: 7s, probes: 3 } } }',
        ),
        upstream(
          'keepalive-h2',
          h2KeepalivePort,
          'connectionPool: { tcp: { tcpKeepalive: { time: 20s, interval: 4s, probes: 5 } }, ' +
            'http: { h2UpgradePolicy: UPGRADE } }',
        ),
        upstream(
          'connect-timeout',
          hole.port,
          'connectionPool: { tcp: { connectTimeout: 300ms } }',
        ),
        upstream('slow-connect', hole.port, 'connectionPool: { tcp: { connectTimeout: 120s } }'),
        upstream('h2-upgrade', h2Port, 'connectionPool: { http: { h2UpgradePolicy: UPGRADE } }'),
        upstream(
          'h2-max',
          h2Port,
          'connectionPool: { http: { h2UpgradePolicy: UPGRADE, http2MaxRequests: 1 } }',
        ),
        upstream(
          'client-protocol',
          dualPort,
          'connectionPool: { http: { useClientProtocol: true } }',
        ),
      ].join('---');
      const dir = tempTree('skiff-upstream-pools-', {
        'mesh.yaml': `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: client, labels: { app: client } }
spec:
  command: [node, idle.mjs]
`,
        'rules.yaml': config,
        'idle.mjs': IDLE_APP,
      });
      mesh = await startMesh({
        dir: '.',
        cwd: dir,
        skiffCommand: SKIFF,
        ingressPort: 0,
        startTimeoutMs: 180_000,
      });
      const client = mesh.record.instances.find((i) => i.workloadName === 'client')!;
      outbound = client.outboundPort;
      admin = client.adminPort;
      await eventually(
        'every cluster has its endpoint',
        async () => {
          const all = await getJson<{
            cluster_statuses: { name: string; host_statuses: unknown[] }[];
          }>(`http://127.0.0.1:${admin}/clusters?format=json`);
          const out = all.cluster_statuses.filter((c) => c.name.startsWith('outbound|'));
          return out.length === 19 && out.every((c) => c.host_statuses.length === 1);
        },
        60_000,
      );
    });

    after(async () => {
      closeAgent();
      closeUpstreamAgent();
      await mesh?.stop();
      for (const server of Object.values(s)) await server.close();
      h2.close();
      dual.close();
      h2Keepalive.close();
      await hole?.close();
    });

    test('maxConnections: one connection; the other requests wait for it (pending), then use it', async () => {
      const replies = [1, 2, 3].map(() => send(outbound, url('max-conn', '/hold')));
      await eventually(
        'one request upstream, two pending',
        async () =>
          s.maxConn.held.length === 1 &&
          (await stat('max-conn', 'upstream_rq_pending_active')) === 2,
      );
      assert.equal(s.maxConn.connections.length, 1);
      assert.ok((await stat('max-conn', 'upstream_cx_overflow')) >= 1);
      const cb = (await clusterStatus(admin, outboundCluster('max-conn', 8080))).circuit_breakers
        .state;
      assert.equal(cb['cx_open'], 1);
      assert.equal(cb['remaining_cx'], 0);
      for (let i = 0; i < 3; i++) {
        await eventually(`request ${i + 1} upstream`, () => s.maxConn.held.length === 1);
        s.maxConn.release();
      }
      for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
      assert.equal(s.maxConn.connections.length, 1, 'all three over the one connection');
    });

    test('http1MaxPendingRequests: past the pending limit, 503 at once (overflow)', async () => {
      // One at a time: a request waiting for its connection to open is pending too (as in
      // Envoy), so two sent at once could already overflow the limit of one.
      const replies = [send(outbound, url('pending', '/hold'))];
      await eventually('one request upstream', () => s.pending.held.length === 1);
      replies.push(send(outbound, url('pending', '/hold')));
      await eventually(
        'one upstream, one pending',
        async () =>
          s.pending.held.length === 1 &&
          (await stat('pending', 'upstream_rq_pending_active')) === 1,
      );
      const over = await send(outbound, url('pending', '/hold'));
      assert.equal(over.status, 503);
      assert.equal(over.body, OVERFLOW_BODY);
      assert.equal(await stat('pending', 'upstream_rq_pending_overflow'), 1);
      assert.equal(await stat('pending', 'circuit_breakers.default.rq_pending_open'), 1);
      assert.equal(await stat('pending', 'circuit_breakers.default.remaining_pending'), 0);
      s.pending.release();
      await eventually('the pending one upstream', () => s.pending.held.length === 1);
      s.pending.release();
      for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
      assert.equal(s.pending.seen.length, 2, 'the overflowed request never went upstream');
    });

    test('http2MaxRequests: past the active request limit, 503 at once (overflow)', async () => {
      const replies = [1, 2].map(() => send(outbound, url('max-requests', '/hold')));
      await eventually('two requests upstream', () => s.maxRequests.held.length === 2);
      const over = await send(outbound, url('max-requests', '/hold'));
      assert.equal(over.status, 503);
      assert.equal(over.body, OVERFLOW_BODY);
      assert.equal(await stat('max-requests', 'upstream_rq_pending_overflow'), 1);
      assert.equal(await stat('max-requests', 'circuit_breakers.default.rq_open'), 1);
      s.maxRequests.release();
      for (const r of await Promise.all(replies)) assert.equal(r.status, 200);
    });

    test('maxRequestsPerConnection: a connection carries that many requests, then closes', async () => {
      for (let i = 0; i < 6; i++) assert.equal((await send(outbound, url('per-conn'))).status, 200);
      const perConnection = new Map<number, number>();
      for (const r of s.perConn.seen)
        perConnection.set(r.remotePort, (perConnection.get(r.remotePort) ?? 0) + 1);
      assert.deepEqual([...perConnection.values()], [2, 2, 2]);
      assert.equal(await stat('per-conn', 'upstream_cx_max_requests'), 3);
    });

    /** Starts requests one by one; each ends with its retry held upstream or with its answer. */
    async function failingRequests(svc: string, server: TestServer, n: number) {
      const answered: number[] = [];
      const replies = [];
      for (let i = 0; i < n; i++) {
        const heldBefore = server.held.length;
        let status: number | undefined;
        const reply = send(outbound, url(svc, '/fail')).then((r) => ((status = r.status), r));
        replies.push(reply);
        await eventually(
          `request ${i + 1}: retried or answered`,
          () => server.held.length > heldBefore || status !== undefined,
        );
        if (status !== undefined) answered.push(status);
      }
      return { answered, replies };
    }

    test('maxRetries: retries beyond it are not made (the 503 stands, upstream_rq_retry_overflow)', async () => {
      const { answered, replies } = await failingRequests('retries', s.retries, 3);
      assert.equal(s.retries.held.length, 1, 'one retry in flight');
      assert.deepEqual(
        answered,
        [503, 503],
        'the others answered with the upstream 503, not retried',
      );
      assert.equal(await stat('retries', 'upstream_rq_retry_overflow'), 2);
      s.retries.release();
      assert.deepEqual(
        (await Promise.all(replies)).map((r) => r.status),
        [200, 503, 503],
      );
    });

    test('retryBudget: retries capped at a share of the active requests', async () => {
      const thresholds = (
        (await dumpedCluster(admin, outboundCluster('budget', 8080)))?.['circuit_breakers'] as Obj
      )['thresholds'] as Obj[];
      assert.deepEqual(thresholds[0]?.['retry_budget'], {
        budget_percent: { value: 25 },
        min_retry_concurrency: 1,
      });
      // Eight requests in flight: 25% of 8 to 11 live requests allows two retries at once.
      const background = Array.from({ length: 8 }, () => send(outbound, url('budget', '/hold')));
      await eventually('eight requests in flight', () => s.budget.held.length === 8);
      const { answered, replies } = await failingRequests('budget', s.budget, 4);
      assert.equal(s.budget.held.length, 10, 'two retries in flight');
      assert.deepEqual(answered, [503, 503]);
      assert.equal(await stat('budget', 'upstream_rq_retry_overflow'), 2);
      s.budget.release();
      await Promise.all([...background, ...replies]);
    });

    test('maxConnectionDuration: a connection is closed once that old, between requests', async () => {
      await eventually(
        'a second connection, the first one closed by the sidecar',
        async () => {
          assert.equal((await send(outbound, url('duration'))).status, 200);
          const [first] = s.duration.connections;
          return s.duration.connections.length >= 2 && first?.closed === true;
        },
        30_000,
      );
      assert.ok((await stat('duration', 'upstream_cx_max_duration_reached')) >= 1);
    });

    test('idleTimeout (http, and tcp standing in for it): an idle connection is closed; without, it stays', async () => {
      for (const svc of ['idle', 'tcp-idle', 'no-idle'])
        assert.equal((await send(outbound, url(svc))).status, 200);
      await eventually(
        'the idle connections closed',
        () => s.idle.openConnections === 0 && s.tcpIdle.openConnections === 0,
      );
      assert.equal(s.noIdle.openConnections, 1, 'the default idle timeout (1 h) keeps it');
      assert.equal(await stat('idle', 'upstream_cx_idle_timeout'), 1);
      assert.equal(await stat('tcp-idle', 'upstream_cx_idle_timeout'), 1);
      const common = (name: string) =>
        dumpedCluster(admin, outboundCluster(name, 8080)).then(
          (c) =>
            (
              (c?.['typed_extension_protocol_options'] as Obj)[
                'envoy.extensions.upstreams.http.v3.HttpProtocolOptions'
              ] as Obj
            )['common_http_protocol_options'],
        );
      assert.deepEqual(await common('idle'), { idle_timeout: '1s' });
      assert.deepEqual(await common('tcp-idle'), { idle_timeout: '1s' });
    });

    test('tcpKeepalive: SO_KEEPALIVE on the upstream socket with the given idle time', async () => {
      for (const svc of ['keepalive', 'no-keepalive'])
        assert.equal((await send(outbound, url(svc))).status, 200);
      const timer = (port: number) => {
        // The sidecar's end of its connection to `port`, as the kernel reports its timers.
        const out = execFileSync('ss', ['-tnoH', 'state', 'established', `( dport = :${port} )`], {
          encoding: 'utf8',
        });
        return /timer:\(keepalive,(?:(\d+)min)?(\d+)(?:\.\d+)?(?:sec|ms)/.exec(out);
      };
      const on = timer(s.keepalive.port);
      assert.ok(on, 'keepalive timer set');
      const seconds = Number(on[1] ?? 0) * 60 + Number(on[2]);
      assert.ok(seconds > 0 && seconds <= 30, `keepalive in ${seconds}s`);
      assert.equal(timer(s.noKeepalive.port), null, 'no keepalive unless asked');
      const c = await dumpedCluster(admin, outboundCluster('keepalive', 8080));
      assert.deepEqual(c?.['upstream_connection_options'], {
        tcp_keepalive: { keepalive_time: 30 },
      });
    });

    test('tcpKeepalive interval and probes: the kernel has time, interval and probes on the upstream socket (HTTP/1.1 and HTTP/2 pools)', async () => {
      // No iptables here to black-hole the peer, so the values are read from the sidecar's own
      // socket: `ss -p` names its process and descriptor, the addon duplicates it
      // (pidfd_getfd) and reads TCP_KEEPIDLE, TCP_KEEPINTVL and TCP_KEEPCNT.
      const upstreamSocket = (port: number) => {
        const out = execFileSync('ss', ['-tnpoH', 'state', 'established', `( dport = :${port} )`], {
          encoding: 'utf8',
        });
        const lines = out.split('\n').filter((l) => l.trim());
        if (lines.length !== 1) return undefined;
        const m = /pid=(\d+),fd=(\d+)/.exec(lines[0]!);
        assert.ok(m, `ss names the process: ${lines[0]}`);
        assert.match(lines[0]!, /timer:\(keepalive,/, 'keepalive timer set');
        return { pid: Number(m[1]), fd: Number(m[2]) };
      };
      const r1 = await send(outbound, url('keepalive-probes'));
      assert.equal(r1.status, 200);
      const r2 = await send(outbound, url('keepalive-h2'));
      assert.equal(r2.status, 200, r2.body);
      assert.equal(r2.body, 'h2.0', 'over the HTTP/2 pool');
      for (const [port, want] of [
        [s.keepaliveProbes.port, { timeSec: 30, intervalSec: 7, probes: 3 }],
        [h2KeepalivePort, { timeSec: 20, intervalSec: 4, probes: 5 }],
      ] as const) {
        const sock = await eventually(`the sidecar's connection to :${port}`, () =>
          upstreamSocket(port),
        );
        assert.notEqual(sock.pid, process.pid, "the sidecar's socket, not the test's");
        assert.deepEqual(keepaliveParamsOf(sock.pid, sock.fd), { enabled: true, ...want });
      }
      const c = await dumpedCluster(admin, outboundCluster('keepalive-probes', 8080));
      assert.deepEqual(c?.['upstream_connection_options'], {
        tcp_keepalive: { keepalive_time: 30, keepalive_interval: 7, keepalive_probes: 3 },
      });
    });

    test('connectTimeout: a connection that does not complete in time fails (503, connect timeout)', async () => {
      // Still trying when the mesh stops at the end (then it fails: that is expected).
      let slowDone = false;
      void send(outbound, url('slow-connect')).then(
        () => (slowDone = true),
        () => (slowDone = true),
      );
      const r = await send(outbound, url('connect-timeout'));
      assert.equal(r.status, 503);
      assert.match(r.body, /delayed connect error: timeout/);
      assert.ok((await stat('connect-timeout', 'upstream_cx_connect_timeout')) >= 1);
      // The same unreachable endpoint with a 120 s connect timeout is still trying.
      assert.equal(slowDone, false);
      const c = await dumpedCluster(admin, outboundCluster('connect-timeout', 8080));
      assert.equal(c?.['connect_timeout'], '0.3s');
    });

    test('h2UpgradePolicy UPGRADE: HTTP/1.1 from the app goes upstream as HTTP/2', async () => {
      const r = await send(outbound, url('h2-upgrade'));
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, 'h2.0');
    });

    test('http2MaxRequests over an HTTP/2 upstream: streams count too; past the limit, 503 at once', async () => {
      const first = send(outbound, url('h2-max', '/hold'));
      try {
        await eventually('one stream upstream', () => h2Held.length === 1);
        const over = await send(outbound, url('h2-max', '/hold'));
        assert.equal(over.status, 503);
        assert.equal(over.body, OVERFLOW_BODY);
        assert.equal(h2Held.length, 1, 'the overflowed request never went upstream');
        assert.equal(await stat('h2-max', 'upstream_rq_pending_overflow'), 1);
        assert.equal(await stat('h2-max', 'circuit_breakers.default.rq_open'), 1);
      } finally {
        for (const r of h2Held.splice(0)) r.end('held');
      }
      assert.equal((await first).status, 200);
      // The stream ended: the next request goes through.
      assert.equal((await send(outbound, url('h2-max'))).body, 'h2.0');
      assert.equal(await stat('h2-max', 'upstream_rq_total'), 2);
    });

    test('useClientProtocol: upstream speaks what the client spoke', async () => {
      const r1 = await send(outbound, url('client-protocol'));
      assert.equal(r1.body, 'h1.1');
      // An HTTP/2 client (prior knowledge, as gRPC) on the same listener: HTTP/2 upstream.
      const session = http2.connect(`http://127.0.0.1:${outbound}`);
      try {
        const body = await new Promise<string>((resolve, reject) => {
          const req = session.request({
            ':method': 'GET',
            ':path': '/',
            ':authority': 'client-protocol:8080',
          });
          let data = '';
          req.setEncoding('utf8');
          req.on('data', (d: string) => (data += d));
          req.on('end', () => resolve(data));
          req.on('error', reject);
          req.end();
        });
        assert.equal(body, 'h2.0');
      } finally {
        session.close();
      }
    });
  },
);
