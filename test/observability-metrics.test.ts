// Istio's standard metrics end to end: a client's sidecar and the servers' sidecars serve
// /stats/prometheus; the test sends known HTTP, gRPC and TCP traffic, then reads both sides'
// exposition text and checks the exact series: reporter, both workloads' labels (the peer
// metadata exchange), codes, flags, gRPC status, histograms, TCP bytes and connections, and a
// Telemetry resource's tagOverrides and disabled metrics on the client side.
import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as loader from '@grpc/proto-loader';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { ECHO_PROTO, GRPC_SERVER, TCP_ECHO } from './support/protocol-apps.js';
import { IDLE_APP, SKIFF, closeAgent, eventually, tempTree } from './support/skiff.js';

/** Answers with the request's headers as JSON; /fail answers 500. */
const HEADERS_APP = `
import http from 'node:http';
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(req.url === '/fail' ? 500 : 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(req.headers));
  });
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => { server.closeAllConnections(); process.exit(0); });
`;

const workload = (name: string, labels: string, app: string, port: string) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${name}, namespace: default, labels: { ${labels} } }
spec:
  command: [node, ${app}]
  env: { VERSION: v1 }
${port ? `  ports: [${port}]` : ''}
`;

const service = (name: string, app: string, port: string) => `
apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: default }
spec:
  selector: { app: ${app} }
  ports: [${port}]
`;

const MESH = [
  workload('client-v1', 'app: client, version: v1', 'idle.mjs', ''),
  workload(
    'server-v1',
    'app: server, version: v1',
    'web.mjs',
    '{ name: http, containerPort: 8080 }',
  ),
  workload(
    'grpc-v1',
    'app: grpc-echo, version: v1',
    'grpc.mjs',
    '{ name: grpc, containerPort: 9090 }',
  ),
  workload('tcp-v1', 'app: tcp-echo, version: v1', 'tcp.mjs', '{ name: tcp, containerPort: 9000 }'),
  service('server', 'server', '{ name: http, port: 80, targetPort: 8080 }'),
  service('nobody', 'nobody', '{ name: http, port: 80 }'),
  service('grpc-echo', 'grpc-echo', '{ name: grpc, port: 9090 }'),
  service('tcp-echo', 'tcp-echo', '{ name: tcp, port: 9000 }'),
  `
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: client-metrics, namespace: default }
spec:
  selector: { matchLabels: { app: client } }
  metrics:
    - providers: [{ name: prometheus }]
      overrides:
        - match: { metric: REQUEST_COUNT, mode: CLIENT }
          tagOverrides:
            request_method: { value: request.method }
            source_principal: { operation: REMOVE }
        - match: { metric: REQUEST_SIZE, mode: CLIENT }
          disabled: true
`,
].join('\n---\n');

interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Label names in the order the line has them. */
  readonly order: readonly string[];
  readonly value: number;
}

/** Parses Prometheus text (exposition format 0.0.4): one sample per non-comment line. */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const order: string[] = [];
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (const l of (m[2] ?? '').matchAll(re)) {
      labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, (_, c: string) =>
        c === 'n' ? '\n' : c,
      );
      order.push(l[1] as string);
    }
    out.push({ name: m[1] as string, labels, order, value: Number(m[3]) });
  }
  return out;
}

/** The one sample of `name` whose labels include `want`; fails listing the candidates. */
function only(samples: Sample[], name: string, want: Record<string, string>): Sample {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v),
  );
  assert.equal(
    found.length,
    1,
    `one ${name} with ${JSON.stringify(want)}; have:\n${samples
      .filter((s) => s.name === name)
      .map((s) => JSON.stringify(s.labels))
      .join('\n')}`,
  );
  return found[0] as Sample;
}

const STANDARD_LABELS = [
  'reporter',
  'source_workload',
  'source_canonical_service',
  'source_canonical_revision',
  'source_workload_namespace',
  'source_principal',
  'source_app',
  'source_version',
  'source_cluster',
  'destination_workload',
  'destination_workload_namespace',
  'destination_principal',
  'destination_app',
  'destination_version',
  'destination_service',
  'destination_canonical_service',
  'destination_canonical_revision',
  'destination_service_name',
  'destination_service_namespace',
  'destination_cluster',
  'request_protocol',
  'response_code',
  'grpc_response_status',
  'response_flags',
  'connection_security_policy',
];

interface EchoClient extends grpc.Client {
  Unary(
    req: { message: string },
    cb: (err: grpc.ServiceError | null, reply?: { message: string }) => void,
  ): grpc.ClientUnaryCall;
}

describe('Istio standard metrics at /stats/prometheus', { timeout: 300_000 }, () => {
  let mesh: Mesh;
  let outbound: number;
  let Echo: grpc.ServiceClientConstructor;
  const agent = new http.Agent({ keepAlive: false });
  const admin = (workload: string) => {
    const i = mesh.record.instances.find((x) => x.workloadName === workload);
    assert.ok(i, workload);
    return i.adminPort;
  };
  const scrape = async (workload: string) => {
    const res = await fetch(`http://127.0.0.1:${admin(workload)}/stats/prometheus`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return parseExposition(await res.text());
  };
  /** A request through the client's sidecar (absolute form, as an HTTP_PROXY app sends it). */
  const send = (url: string, method = 'GET', body?: string) =>
    new Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }>(
      (resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port: outbound, path: url, method, agent },
          (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (c: string) => (text += c));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      },
    );

  before(async () => {
    const dir = tempTree('skiff-metrics-', {
      'mesh.yaml': MESH,
      'idle.mjs': IDLE_APP,
      'web.mjs': HEADERS_APP,
      'grpc.mjs': GRPC_SERVER,
      'tcp.mjs': TCP_ECHO,
      'echo.proto': ECHO_PROTO,
    });
    const def = loader.loadSync(path.join(dir, 'echo.proto'), { keepCase: true });
    Echo = (
      grpc.loadPackageDefinition(def) as unknown as {
        skiff: { test: { Echo: grpc.ServiceClientConstructor } };
      }
    ).skiff.test.Echo;
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      startTimeoutMs: 120_000,
    });
    const client = mesh.record.instances.find((i) => i.workloadName === 'client-v1');
    assert.ok(client);
    outbound = client.outboundPort;

    // Known traffic: 3 × 200 (one a POST with a body), 1 × 500, 1 × 503 UH.
    await eventually(
      'server answers',
      async () => (await send('http://server/hello')).status === 200,
    );
  });

  after(async () => {
    agent.destroy();
    closeAgent();
    await mesh?.stop();
  });

  test('HTTP: both reporters, both workloads, codes and flags; peer headers never reach apps', async () => {
    const before = (await scrape('server-v1')).filter((s) => s.name === 'istio_requests_total');
    const already = before.reduce(
      (n, s) => n + (s.labels['response_code'] === '200' ? s.value : 0),
      0,
    );
    const ok = await send('http://server/hello');
    assert.equal(ok.status, 200);
    const seenByApp = JSON.parse(ok.body) as Record<string, string>;
    assert.equal(seenByApp['x-envoy-peer-metadata'], undefined, 'stripped before the server app');
    assert.equal(seenByApp['x-envoy-peer-metadata-id'], undefined);
    assert.equal(ok.headers['x-envoy-peer-metadata'], undefined, 'stripped before the client app');
    assert.equal((await send('http://server/hello', 'POST', 'x'.repeat(2000))).status, 200);
    assert.equal((await send('http://server/fail')).status, 500);
    assert.equal((await send('http://nobody/')).status, 503);

    const server = await scrape('server-v1');
    const dest = only(server, 'istio_requests_total', {
      reporter: 'destination',
      response_code: '200',
      request_protocol: 'http',
    });
    assert.deepEqual(dest.order, STANDARD_LABELS, "Istio's label set and order");
    assert.equal(dest.value, already + 2);
    assert.deepEqual(dest.labels, {
      reporter: 'destination',
      source_workload: 'client-v1',
      source_canonical_service: 'client',
      source_canonical_revision: 'v1',
      source_workload_namespace: 'default',
      // auto mTLS between the two sidecars: the peers' SPIFFE identities, as Istio reports.
      source_principal: 'spiffe://cluster.local/ns/default/sa/default',
      source_app: 'client',
      source_version: 'v1',
      source_cluster: 'Kubernetes',
      destination_workload: 'server-v1',
      destination_workload_namespace: 'default',
      destination_principal: 'spiffe://cluster.local/ns/default/sa/default',
      destination_app: 'server',
      destination_version: 'v1',
      destination_service: 'server.default.svc.cluster.local',
      destination_canonical_service: 'server',
      destination_canonical_revision: 'v1',
      destination_service_name: 'server',
      destination_service_namespace: 'default',
      destination_cluster: 'Kubernetes',
      request_protocol: 'http',
      response_code: '200',
      grpc_response_status: '',
      response_flags: '-',
      connection_security_policy: 'mutual_tls',
    });
    assert.equal(
      only(server, 'istio_requests_total', { reporter: 'destination', response_code: '500' }).value,
      1,
    );

    const client = await scrape('client-v1');
    const src = only(client, 'istio_requests_total', {
      reporter: 'source',
      response_code: '500',
    });
    assert.equal(src.value, 1);
    // The Telemetry's tagOverrides: source_principal removed, request_method appended.
    assert.deepEqual(src.order, [
      ...STANDARD_LABELS.filter((l) => l !== 'source_principal'),
      'request_method',
    ]);
    assert.deepEqual(
      {
        ...src.labels,
      },
      {
        reporter: 'source',
        source_workload: 'client-v1',
        source_canonical_service: 'client',
        source_canonical_revision: 'v1',
        source_workload_namespace: 'default',
        source_app: 'client',
        source_version: 'v1',
        source_cluster: 'Kubernetes',
        destination_workload: 'server-v1',
        destination_workload_namespace: 'default',
        destination_principal: 'spiffe://cluster.local/ns/default/sa/default',
        destination_app: 'server',
        destination_version: 'v1',
        destination_service: 'server.default.svc.cluster.local',
        destination_canonical_service: 'server',
        destination_canonical_revision: 'v1',
        destination_service_name: 'server',
        destination_service_namespace: 'default',
        destination_cluster: 'Kubernetes',
        request_protocol: 'http',
        response_code: '500',
        grpc_response_status: '',
        response_flags: '-',
        connection_security_policy: 'unknown',
        request_method: 'GET',
      },
    );
    only(client, 'istio_requests_total', { reporter: 'source', request_method: 'POST' });
    const uh = only(client, 'istio_requests_total', { response_code: '503' });
    assert.equal(uh.labels['response_flags'], 'UH');
    assert.equal(uh.labels['destination_workload'], 'unknown');
    assert.equal(uh.labels['destination_service'], 'nobody.default.svc.cluster.local');
    assert.equal(uh.labels['destination_canonical_revision'], 'latest');

    // Disabled on the client (REQUEST_SIZE, CLIENT): no istio_request_bytes there; the server has it.
    assert.equal(client.filter((s) => s.name.startsWith('istio_request_bytes')).length, 0);
    assert.ok(client.some((s) => s.name === 'istio_response_bytes_count'));
    assert.ok(server.some((s) => s.name === 'istio_request_bytes_count'));
  });

  test('histograms: Istio buckets, cumulative, with sum and count', async () => {
    const server = await scrape('server-v1');
    const want = { reporter: 'destination', response_code: '500' };
    const buckets = server.filter(
      (s) =>
        s.name === 'istio_request_duration_milliseconds_bucket' &&
        Object.entries(want).every(([k, v]) => s.labels[k] === v),
    );
    assert.deepEqual(
      buckets.map((b) => b.labels['le']),
      [
        '0.5',
        '1',
        '5',
        '10',
        '25',
        '50',
        '100',
        '250',
        '500',
        '1000',
        '2500',
        '5000',
        '10000',
        '30000',
        '60000',
        '300000',
        '600000',
        '1.8e+06',
        '3.6e+06',
        '+Inf',
      ],
    );
    for (let i = 1; i < buckets.length; i++)
      assert.ok((buckets[i]?.value ?? 0) >= (buckets[i - 1]?.value ?? 0), 'cumulative');
    const count = only(server, 'istio_request_duration_milliseconds_count', want).value;
    assert.equal(count, 1);
    assert.equal(buckets.at(-1)?.value, count);
    assert.ok(only(server, 'istio_request_duration_milliseconds_sum', want).value > 0);
    // The POST's 2000-byte body is in the request size (headers counted too, as Envoy's wire bytes).
    const sizes = server.filter(
      (s) => s.name === 'istio_request_bytes_sum' && s.labels['response_code'] === '200',
    );
    assert.equal(sizes.length, 1);
    assert.ok((sizes[0]?.value ?? 0) > 2000, `request bytes ${sizes[0]?.value}`);
    const bigBucket = only(server, 'istio_request_bytes_bucket', {
      response_code: '200',
      le: '1000',
    });
    const all = only(server, 'istio_request_bytes_bucket', { response_code: '200', le: '+Inf' });
    assert.equal(all.value - bigBucket.value, 1, 'one request over 1000 bytes');
  });

  test('gRPC: request_protocol grpc and grpc_response_status on both sides', async () => {
    const c = new Echo(`127.0.0.1:${outbound}`, grpc.credentials.createInsecure(), {
      'grpc.default_authority': 'grpc-echo:9090',
      'grpc.enable_http_proxy': 0,
    }) as unknown as EchoClient;
    try {
      const call = (message: string) =>
        new Promise<grpc.status>((resolve) =>
          c.Unary({ message }, (err) => resolve(err ? err.code : grpc.status.OK)),
        );
      assert.equal(await call('hi'), grpc.status.OK);
      assert.equal(await call('missing'), grpc.status.NOT_FOUND);
    } finally {
      c.close();
    }
    const server = await scrape('grpc-v1');
    for (const [status, code] of [
      ['0', '200'],
      ['5', '200'],
    ] as const) {
      const s = only(server, 'istio_requests_total', {
        reporter: 'destination',
        grpc_response_status: status,
      });
      assert.equal(s.labels['request_protocol'], 'grpc');
      assert.equal(s.labels['response_code'], code);
      assert.equal(s.labels['source_workload'], 'client-v1');
      assert.equal(s.labels['destination_service'], 'grpc-echo.default.svc.cluster.local');
    }
    const client = await scrape('client-v1');
    const s = only(client, 'istio_requests_total', {
      reporter: 'source',
      grpc_response_status: '5',
    });
    assert.equal(s.labels['destination_workload'], 'grpc-v1');
    assert.equal(s.labels['destination_app'], 'grpc-echo');
  });

  test('TCP: bytes and connections, destination from the endpoint metadata', async () => {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({
        host: '127.0.0.1',
        port: outbound,
        method: 'CONNECT',
        path: 'tcp-echo:9000',
        agent: false,
      });
      req.once('connect', (res, s, head) => {
        assert.equal(res.statusCode, 200);
        if (head.length) s.unshift(head);
        resolve(s);
      });
      req.once('error', reject);
      req.end();
    });
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (c: string) => (text += c));
    await eventually('greeting', () => Promise.resolve(text.includes('\n')));
    socket.write('ping\n');
    await eventually('echo', () => Promise.resolve(text.includes('v1: ping\n')));
    const closed = new Promise<void>((r) => socket.once('close', () => r()));
    socket.end();
    await closed;
    const server = await eventually('server reported the connection', async () => {
      const s = await scrape('tcp-v1');
      return s.some((x) => x.name === 'istio_tcp_connections_closed_total') ? s : undefined;
    });
    const opened = only(server, 'istio_tcp_connections_opened_total', { reporter: 'destination' });
    assert.deepEqual(
      opened.order,
      STANDARD_LABELS.filter((l) => l !== 'response_code' && l !== 'grpc_response_status'),
    );
    assert.equal(opened.value, 1);
    assert.equal(opened.labels['request_protocol'], 'tcp');
    assert.equal(opened.labels['destination_workload'], 'tcp-v1');
    assert.equal(opened.labels['destination_service'], 'tcp-echo.default.svc.cluster.local');
    // No TCP metadata exchange (Istio's needs mTLS): the server does not know its client.
    assert.equal(opened.labels['source_workload'], 'unknown');
    assert.equal(only(server, 'istio_tcp_connections_closed_total', {}).value, 1);
    assert.equal(only(server, 'istio_tcp_received_bytes_total', {}).value, 'ping\n'.length);
    assert.equal(
      only(server, 'istio_tcp_sent_bytes_total', {}).value,
      'hello from v1\nv1: ping\n'.length,
    );
    const client = await eventually('client reported the connection', async () => {
      const s = await scrape('client-v1');
      return s.some((x) => x.name === 'istio_tcp_connections_closed_total') ? s : undefined;
    });
    const src = only(client, 'istio_tcp_connections_closed_total', { reporter: 'source' });
    assert.equal(src.labels['destination_workload'], 'tcp-v1');
    assert.equal(src.labels['destination_canonical_service'], 'tcp-echo');
    assert.equal(src.labels['source_workload'], 'client-v1');
    assert.ok(only(client, 'istio_tcp_received_bytes_total', {}).value >= 'ping\n'.length);
    assert.ok(only(client, 'istio_tcp_sent_bytes_total', {}).value >= 23);
  });

  test("Envoy's stats: per cluster and per listener, Envoy's Prometheus names", async () => {
    const client = await scrape('client-v1');
    const rq = only(client, 'envoy_cluster_upstream_rq_total', {
      envoy_cluster_name: 'outbound|80||server.default.svc.cluster.local',
    });
    assert.ok(rq.value >= 4);
    only(client, 'envoy_cluster_upstream_cx_active', {
      envoy_cluster_name: 'outbound|80||server.default.svc.cluster.local',
    });
    only(client, 'envoy_cluster_upstream_rq_retry', {
      envoy_cluster_name: 'outbound|80||server.default.svc.cluster.local',
    });
    only(client, 'envoy_cluster_upstream_rq_pending_overflow', {
      envoy_cluster_name: 'outbound|80||server.default.svc.cluster.local',
    });
    assert.ok(
      client.some((s) => s.name === 'envoy_listener_downstream_cx_total' && s.value > 0),
      'listener connections',
    );
    assert.equal(only(client, 'envoy_control_plane_connected_state', {}).value, 1);
    // xDS subscription stats where Envoy keeps them: CDS and LDS once each, EDS per cluster,
    // RDS per route configuration and connection manager.
    assert.ok(only(client, 'envoy_cluster_manager_cds_update_success', {}).value >= 1);
    assert.equal(only(client, 'envoy_cluster_manager_cds_update_rejected', {}).value, 0);
    assert.ok(only(client, 'envoy_listener_manager_lds_update_success', {}).value >= 1);
    const eds = only(client, 'envoy_cluster_update_success', {
      envoy_cluster_name: 'outbound|80||server.default.svc.cluster.local',
    });
    assert.ok(eds.value >= 1);
    // Local mode's outbound listener and its tunnel both take the `http_proxy` routes: each
    // connection manager shows the subscription, as in Envoy.
    const rds = client.filter(
      (x) =>
        x.name === 'envoy_http_rds_update_success' &&
        x.labels['envoy_rds_route_config'] === 'http_proxy',
    );
    assert.deepEqual(
      rds
        .map((x) => x.labels['envoy_http_conn_manager_prefix']?.replace(/_\d+$/, '_<port>'))
        .sort(),
      ['outbound_127.0.0.1_<port>', 'outbound_tunnel'],
    );
    assert.ok(rds.every((x) => x.value >= 1));
    assert.ok(only(client, 'envoy_listener_manager_lds_update_time', {}).value > 1.7e12);
  });
});
