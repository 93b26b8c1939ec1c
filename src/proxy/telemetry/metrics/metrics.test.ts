// The metrics module alone: the registry's exposition text, the peer header's protobuf Struct,
// PluginConfig plans, expressions, and a recorder's label sets for both reporters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../config-error.js';
import { ExpressionError, compileExpression } from './expression.js';
import type { ExpressionInput } from './expression.js';
import { IstioFamilies, StatsRecorder } from './istio-stats.js';
import {
  decodePeerHeader,
  encodePeerHeader,
  localPeerInfo,
  peerFromEndpointMetadata,
} from './peer.js';
import { STANDARD_TAGS, compilePluginConfig } from './plugin-config.js';
import { Registry, renderLabels } from './registry.js';

test('registry: counters and cumulative histograms in exposition format', () => {
  const r = new Registry();
  const c = r.counter('c_total', 'A counter.');
  const h = r.histogram('h', 'A histogram.', [1, 10, 1e6]);
  c.get(renderLabels(['a'], ['x"y\\z\n'])).inc(2);
  const s = h.get('{a="1"}');
  for (const v of [0.5, 1, 5, 2e6]) s.observe(v);
  const out: string[] = [];
  r.render(out);
  assert.deepEqual(out, [
    '# HELP c_total A counter.',
    '# TYPE c_total counter',
    'c_total{a="x\\"y\\\\z\\n"} 2',
    '# HELP h A histogram.',
    '# TYPE h histogram',
    'h_bucket{a="1",le="1"} 2',
    'h_bucket{a="1",le="10"} 3',
    'h_bucket{a="1",le="1e+06"} 3',
    'h_bucket{a="1",le="+Inf"} 4',
    'h_sum{a="1"} 2000006.5',
    'h_count{a="1"} 4',
  ]);
});

test("peer metadata: Istio's Struct round-trips; canonical defaults; endpoint encoding", () => {
  const local = localPeerInfo({
    name: 'reviews-v2-0',
    namespace: 'default',
    workloadName: 'reviews-v2',
    labels: { app: 'reviews', version: 'v2' },
  });
  assert.equal(local.canonicalName, 'reviews');
  assert.equal(local.canonicalRevision, 'v2');
  const header = encodePeerHeader(local);
  assert.deepEqual(decodePeerHeader(header), local);
  // Deterministic (keys sorted), as Istio serialises it: equal metadata, equal header.
  assert.equal(encodePeerHeader({ ...local }), header);
  assert.equal(decodePeerHeader('not protobuf!'), undefined);
  const bare = localPeerInfo({ name: 'x-0', namespace: 'ns', workloadName: 'x', labels: {} });
  assert.equal(bare.canonicalName, 'x');
  assert.equal(bare.canonicalRevision, 'latest');
  assert.deepEqual(peerFromEndpointMetadata('ratings-v1;default;ratings;v1;'), {
    instanceName: '',
    namespace: 'default',
    workloadName: 'ratings-v1',
    clusterId: '',
    canonicalName: 'ratings',
    canonicalRevision: 'v1',
    app: '',
    version: '',
  });
});

test('expressions: the supported forms, and a clear error for the rest', () => {
  const input: ExpressionInput = {
    header: (n) => (n === 'x-user' ? 'jason' : undefined),
    host: 'reviews:9080',
    method: 'POST',
    path: '/a/b?c=1',
    scheme: 'http',
    protocol: 'HTTP/1.1',
    requestId: 'id',
    responseCode: 503,
    grpcStatus: '',
    destinationPort: 9080,
    clusterName: 'outbound|9080||reviews',
    upstreamPeer: undefined,
    downstreamPeer: undefined,
  };
  const ev = (e: string) => compileExpression(e)(input);
  assert.equal(ev("'literal'"), 'literal');
  assert.equal(ev(`request.headers["X-User"]`), 'jason');
  assert.equal(ev("request.headers['missing']"), undefined);
  assert.equal(ev('request.url_path'), '/a/b');
  assert.equal(ev('string(response.code)'), '503');
  assert.equal(ev('destination.port'), '9080');
  assert.equal(ev('upstream_peer.app'), undefined);
  assert.throws(() => compileExpression('request.size > 10'), ExpressionError);
  assert.throws(() => compileExpression('has(request.host) ? "a" : "b"'), /supported:/);
});

test('PluginConfig: drop, tags_to_remove, dimensions in place and appended (sorted)', () => {
  const c = compilePluginConfig({
    metrics: [
      { name: 'request_bytes', drop: true },
      {
        name: 'requests_total',
        dimensions: { zz: "'z'", request_method: 'request.method', destination_app: "'x'" },
        tags_to_remove: ['source_principal', 'not_a_tag'],
      },
      { dimensions: { aa: "'all'" } },
    ],
  });
  assert.equal(c.plans.request_bytes.dropped, true);
  assert.equal(c.plans.requests_total.dropped, false);
  assert.deepEqual(c.plans.requests_total.names, [
    ...STANDARD_TAGS.filter((t) => t !== 'source_principal'),
    'request_method',
    'zz',
    'aa',
  ]);
  assert.deepEqual(c.plans.tcp_sent_bytes_total.names, [
    ...STANDARD_TAGS.filter((t) => t !== 'response_code' && t !== 'grpc_response_status'),
    'aa',
  ]);
  assert.throws(
    () => compilePluginConfig({ metrics: [{ dimensions: { a: 'size(request.path)' } }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'metrics[0].dimensions.a',
  );
  assert.throws(
    () => compilePluginConfig({ metrics: [{ name: 'my_metric' }] }),
    (e: unknown) => e instanceof ConfigError && e.field === 'metrics[0].name',
  );
});

test('recorder: one series per label set, source and destination views of the same peers', () => {
  const { registry, families } = IstioFamilies.create();
  const local = localPeerInfo({
    name: 'server-0',
    namespace: 'default',
    workloadName: 'server',
    labels: { app: 'server', version: 'v1' },
  });
  const peer = localPeerInfo({
    name: 'client-0',
    namespace: 'other',
    workloadName: 'client',
    labels: { app: 'client' },
  });
  const config = compilePluginConfig({});
  const inbound = new StatsRecorder(config, families, local, 'INBOUND');
  const outcome = {
    protocol: 'http',
    responseCode: '200',
    grpcStatus: '',
    flags: '-',
    expressionInput: undefined,
  } as const;
  const rec = {
    peer,
    authority: 'server:80',
    cluster: undefined,
    clusterName: 'inbound|8080||',
    durationMs: 3,
    requestBytes: 100,
    responseBytes: 200,
  };
  inbound.recordHttp(rec, outcome);
  inbound.recordHttp(rec, outcome);
  const out: string[] = [];
  registry.render(out);
  const line = out.find((l) => l.startsWith('istio_requests_total{'));
  assert.equal(
    line,
    'istio_requests_total{reporter="destination",source_workload="client",' +
      'source_canonical_service="client",source_canonical_revision="latest",' +
      'source_workload_namespace="other",source_principal="unknown",source_app="client",' +
      'source_version="unknown",source_cluster="Kubernetes",destination_workload="server",' +
      'destination_workload_namespace="default",destination_principal="unknown",' +
      'destination_app="server",destination_version="v1",destination_service="server:80",' +
      'destination_canonical_service="server",destination_canonical_revision="v1",' +
      'destination_service_name="server:80",destination_service_namespace="default",' +
      'destination_cluster="Kubernetes",request_protocol="http",response_code="200",' +
      'grpc_response_status="",response_flags="-",connection_security_policy="none"} 2',
  );
  assert.equal(families.requests.size, 1);
  const outbound = new StatsRecorder(config, families, peer, 'OUTBOUND');
  outbound.recordHttp(
    { ...rec, peer: undefined },
    { ...outcome, flags: 'UH', responseCode: '503' },
  );
  const out2: string[] = [];
  registry.render(out2);
  const src = out2.find((l) => l.includes('reporter="source"')) ?? '';
  assert.match(src, /destination_workload="unknown"/);
  assert.match(src, /destination_canonical_revision="latest"/);
  assert.match(src, /response_flags="UH"/);
  assert.match(src, /connection_security_policy="unknown"/);
});
