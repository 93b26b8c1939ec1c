// Access logs end to end, Istio's way: mesh config accessLogFile=/dev/stdout prints Istio's
// default text format on both sidecars of a call (parsed here field by field), tcp_proxy logs
// TCP connections; a second mesh enables logs through the Telemetry API only, with JSON
// encoding, a `response.code >= 400` filter, and one workload silenced by `disabled: true`.
// Proxies' stdout lands in their log files (.skiff/logs): the tests wait for lines there.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import type { InstanceRecord } from '../src/launcher/mesh-record.js';
import { SKIFF, closeAgent, eventually, meshSynced, tempTree, viaProxy } from './support/skiff.js';

const APP = `
import http from 'node:http';
import net from 'node:net';
http.createServer((req, res) => {
  const m = /^\\/status\\/(\\d+)/.exec(req.url);
  res.writeHead(m ? Number(m[1]) : 200, { 'content-type': 'text/plain' });
  res.end('hello ' + req.url);
}).listen(Number(process.env.PORT_HTTP), '127.0.0.1');
if (process.env.PORT_TCP)
  net.createServer((s) => s.on('data', (d) => s.write(String(d).toUpperCase())))
    .listen(Number(process.env.PORT_TCP), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
`;
const IDLE = `setInterval(() => {}, 1 << 30); process.on('SIGTERM', () => process.exit(0));`;

const workload = (name: string, app: string, ports = '') => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: default, labels: { app: ${name} } }
spec:
  command: [node, ${app}]
  ${ports}`;

const SERVICES = `
apiVersion: v1
kind: Service
metadata: { name: reviews, namespace: default }
spec:
  selector: { app: reviews }
  ports: [{ name: http, port: 9080, targetPort: http }, { name: tcp, port: 9000, targetPort: tcp }]
---
apiVersion: v1
kind: Service
metadata: { name: empty, namespace: default }
spec:
  selector: { app: nobody }
  ports: [{ name: http, port: 9080 }]`;

const meshConfig = (body: string) => `
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
${body.replace(/^/gm, '    ')}`;

const REVIEWS = workload(
  'reviews',
  'app.mjs',
  'ports: [{ name: http, containerPort: 9080 }, { name: tcp, containerPort: 9000 }]',
);

/** Istio's default text format, one capture per operator. */
const TEXT_LINE = new RegExp(
  '^\\[(?<start>[^\\]]+)\\] "(?<method>\\S+) (?<path>\\S+) (?<protocol>\\S+)" (?<code>\\d+) ' +
    '(?<flags>\\S+) (?<details>\\S+) (?<termination>\\S+) "(?<transportFailure>[^"]*)" ' +
    '(?<received>\\d+) (?<sent>\\d+) (?<duration>\\d+) (?<serviceTime>\\S+) "(?<xff>[^"]*)" ' +
    '"(?<userAgent>[^"]*)" "(?<requestId>[^"]*)" "(?<authority>[^"]*)" "(?<upstreamHost>[^"]*)" ' +
    '(?<cluster>\\S+) (?<upstreamLocal>\\S+) (?<downstreamLocal>\\S+) (?<downstreamRemote>\\S+) ' +
    '(?<sni>\\S+) (?<route>\\S+)$',
);

type Fields = Record<string, string>;

function textLines(file: string): Fields[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => TEXT_LINE.exec(l)?.groups)
    .filter((g): g is Fields => g !== undefined);
}

function jsonLines(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{"'))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

async function startAndSync(files: Record<string, string>): Promise<Mesh> {
  const dir = tempTree('skiff-access-log-', { 'app.mjs': APP, 'idle.mjs': IDLE, ...files });
  const mesh = await startMesh({
    dir: '.',
    cwd: dir,
    skiffCommand: SKIFF,
    ingressPort: 0,
    startTimeoutMs: 240_000,
  });
  await meshSynced(mesh, 120_000);
  return mesh;
}

function instanceOf(mesh: Mesh, name: string): InstanceRecord {
  const i = mesh.record.instances.find((x) => x.workloadName === name);
  assert.ok(i, `instance of ${name}`);
  return i;
}

describe(
  'access logs from mesh config (accessLogFile: /dev/stdout, TEXT)',
  { timeout: 600_000 },
  () => {
    let mesh: Mesh;
    before(async () => {
      mesh = await startAndSync({
        'mesh.yaml': [
          meshConfig('accessLogFile: /dev/stdout'),
          workload('client', 'idle.mjs'),
          REVIEWS,
          SERVICES,
        ].join('\n---\n'),
      });
    });
    after(async () => {
      closeAgent();
      await mesh?.stop();
    });

    test("one line of Istio's default format per request on the client and server sidecars", async () => {
      const client = instanceOf(mesh, 'client');
      const reviews = instanceOf(mesh, 'reviews');
      const key = `k${Date.now()}`;
      const reply = await viaProxy(
        client.outboundPort,
        `http://reviews:9080/reviews/1?key=${key}`,
        {
          'user-agent': 'access-log-test/1',
        },
      );
      assert.equal(reply.status, 200);
      const out = await eventually('the client sidecar logged the request', () =>
        textLines(client.sidecarLog).find((f) => f['path'] === `/reviews/1?key=${key}`),
      );
      const inbound = await eventually('the server sidecar logged the request', () =>
        textLines(reviews.sidecarLog).find((f) => f['requestId'] === out['requestId']),
      );
      const httpPort = reviews.ports.find((p) => p.name === 'http');
      for (const [side, f] of [
        ['client', out],
        ['server', inbound],
      ] as const) {
        assert.ok(!Number.isNaN(Date.parse(f['start'] ?? '')), `${side} start time`);
        assert.match(f['start'] ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
        assert.equal(f['method'], 'GET', side);
        assert.equal(f['path'], `/reviews/1?key=${key}`, side);
        assert.equal(f['protocol'], 'HTTP/1.1', side);
        assert.equal(f['code'], '200', side);
        assert.equal(f['flags'], '-', side);
        assert.equal(f['details'], 'via_upstream', side);
        assert.equal(f['termination'], '-', side);
        assert.equal(f['transportFailure'], '-', side);
        assert.equal(f['received'], '0', side);
        assert.equal(f['sent'], String(`hello /reviews/1?key=${key}`.length), side);
        assert.ok(Number(f['duration']) >= 0 && Number(f['duration']) < 10_000, side);
        assert.match(f['serviceTime'] ?? '', /^\d+$/, side);
        assert.equal(f['userAgent'], 'access-log-test/1', side);
        assert.match(f['requestId'] ?? '', /^[0-9a-f-]{36}$/, side);
        assert.equal(f['authority'], 'reviews:9080', side);
        // The server sidecar sees the SNI of the client's mTLS (auto mTLS), as Istio logs it.
        assert.equal(
          f['sni'],
          side === 'server' ? 'outbound_.9080_._.reviews.default.svc.cluster.local' : '-',
          side,
        );
        assert.equal(f['route'], 'default', side);
        assert.match(f['downstreamRemote'] ?? '', /^127\.0\.0\.1:\d+$/, side);
      }
      assert.equal(inbound['requestId'], out['requestId'], 'one x-request-id on both sides');
      assert.equal(out['cluster'], 'outbound|9080||reviews.default.svc.cluster.local');
      assert.equal(out['upstreamHost'], `127.0.0.1:${httpPort?.listenPort}`);
      assert.equal(out['downstreamLocal'], `127.0.0.1:${client.outboundPort}`);
      assert.equal(inbound['cluster'], 'inbound|9080||');
      assert.equal(inbound['upstreamHost'], `127.0.0.1:${httpPort?.appPort}`);
      assert.equal(inbound['downstreamLocal'], `127.0.0.1:${httpPort?.listenPort}`);
      // Exactly one line per side for this request.
      assert.equal(textLines(client.sidecarLog).filter((f) => f['path']?.includes(key)).length, 1);
    });

    test('a service without endpoints: 503 UH no_healthy_upstream, no upstream host', async () => {
      const client = instanceOf(mesh, 'client');
      const path = `/nothing-${Date.now()}`;
      assert.equal((await viaProxy(client.outboundPort, `http://empty:9080${path}`)).status, 503);
      const f = await eventually('the 503 is logged', () =>
        textLines(client.sidecarLog).find((l) => l['path'] === path),
      );
      assert.equal(f['code'], '503');
      assert.equal(f['flags'], 'UH');
      assert.equal(f['details'], 'no_healthy_upstream');
      assert.equal(f['upstreamHost'], '-');
      assert.equal(f['serviceTime'], '-');
      assert.equal(f['cluster'], 'outbound|9080||empty.default.svc.cluster.local');
    });

    test('tcp_proxy logs each TCP connection with its bytes and cluster', async () => {
      const reviews = instanceOf(mesh, 'reviews');
      const tcp = reviews.ports.find((p) => p.name === 'tcp');
      assert.ok(tcp);
      const before = textLines(reviews.sidecarLog).filter((f) => f['cluster'] === 'inbound|9000||');
      const socket = net.connect(tcp.listenPort, '127.0.0.1');
      socket.setEncoding('utf8');
      let got = '';
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (d: string) => {
          got += d;
          if (got === 'PING\n') socket.end();
        });
        socket.on('close', () => resolve());
        socket.on('error', reject);
        socket.write('ping\n');
      });
      assert.equal(got, 'PING\n');
      const f = await eventually('the TCP connection is logged', () => {
        const now = textLines(reviews.sidecarLog).filter((l) => l['cluster'] === 'inbound|9000||');
        return now.length > before.length ? now[now.length - 1] : undefined;
      });
      // Envoy's tcp_proxy line: no HTTP fields, code 0, bytes both ways.
      assert.equal(f['method'], '-');
      assert.equal(f['path'], '-');
      assert.equal(f['protocol'], '-');
      assert.equal(f['code'], '0');
      assert.equal(f['received'], '5');
      assert.equal(f['sent'], '5');
      assert.equal(f['upstreamHost'], `127.0.0.1:${tcp.appPort}`);
      assert.equal(f['downstreamLocal'], `127.0.0.1:${tcp.listenPort}`);
      assert.equal(f['route'], '-');
    });
  },
);

describe(
  'access logs from the Telemetry API (JSON, filter, disabled)',
  { timeout: 600_000 },
  () => {
    let mesh: Mesh;
    before(async () => {
      mesh = await startAndSync({
        'mesh.yaml': [
          meshConfig('accessLogEncoding: JSON'),
          workload('client', 'idle.mjs'),
          workload('quiet', 'idle.mjs'),
          REVIEWS,
          SERVICES,
          `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: failures, namespace: default }
spec:
  accessLogging:
    - providers: [{ name: envoy }]
      filter: { expression: "response.code >= 400" }
---
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: quiet, namespace: default }
spec:
  selector: { matchLabels: { app: quiet } }
  accessLogging:
    - disabled: true`,
        ].join('\n---\n'),
      });
    });
    after(async () => {
      closeAgent();
      await mesh?.stop();
    });

    test('only failures are logged, in JSON with Istio keys; a disabled workload logs nothing', async () => {
      const client = instanceOf(mesh, 'client');
      const quiet = instanceOf(mesh, 'quiet');
      const reviews = instanceOf(mesh, 'reviews');
      const key = `k${Date.now()}`;
      assert.equal(
        (await viaProxy(client.outboundPort, `http://reviews:9080/ok?${key}`)).status,
        200,
      );
      assert.equal(
        (await viaProxy(client.outboundPort, `http://reviews:9080/status/404?${key}`)).status,
        404,
      );
      assert.equal(
        (await viaProxy(quiet.outboundPort, `http://reviews:9080/status/500?${key}`)).status,
        500,
      );
      const mine = (file: string) =>
        jsonLines(file).filter((l) => String(l['path']).endsWith(`?${key}`));
      const failed = await eventually('the client logged the 404', () =>
        mine(client.sidecarLog).find((l) => l['response_code'] === 404),
      );
      assert.deepEqual(Object.keys(failed).sort(), [
        'authority',
        'bytes_received',
        'bytes_sent',
        'connection_termination_details',
        'downstream_local_address',
        'downstream_remote_address',
        'duration',
        'method',
        'path',
        'protocol',
        'request_id',
        'requested_server_name',
        'response_code',
        'response_code_details',
        'response_flags',
        'route_name',
        'start_time',
        'upstream_cluster',
        'upstream_host',
        'upstream_local_address',
        'upstream_service_time',
        'upstream_transport_failure_reason',
        'user_agent',
        'x_forwarded_for',
      ]);
      assert.equal(failed['method'], 'GET');
      assert.equal(failed['protocol'], 'HTTP/1.1');
      assert.equal(failed['response_flags'], '-');
      assert.equal(failed['upstream_cluster'], 'outbound|9080||reviews.default.svc.cluster.local');
      assert.equal(failed['requested_server_name'], null);
      assert.equal(typeof failed['bytes_sent'], 'number');
      assert.equal(typeof failed['duration'], 'number');
      // The server side logs both failures (the namespace's Telemetry), never the 200.
      await eventually('reviews logged the 404 and the 500', () => {
        const codes = mine(reviews.sidecarLog).map((l) => l['response_code']);
        return codes.includes(404) && codes.includes(500);
      });
      assert.deepEqual(
        mine(client.sidecarLog).map((l) => l['response_code']),
        [404],
        'the 200 before the 404 was filtered out',
      );
      assert.ok(mine(reviews.sidecarLog).every((l) => l['upstream_cluster'] === 'inbound|9080||'));
      // quiet's Telemetry disables its logs: its listeners carry none, and nothing was printed.
      const dump = async (i: InstanceRecord) =>
        (await fetch(`http://127.0.0.1:${i.adminPort}/config_dump`)).text();
      assert.match(await dump(client), /envoy\.access_loggers\.file/);
      assert.doesNotMatch(await dump(quiet), /access_log/);
      assert.deepEqual(jsonLines(quiet.sidecarLog), []);
    });
  },
);
