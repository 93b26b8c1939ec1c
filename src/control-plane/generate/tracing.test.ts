import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import type { TelemetrySpec } from '../../config/kinds.js';
import { applyMeshConfig } from '../../config/mesh-config.js';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import { MeshModel } from '../model/mesh-model.js';
import { buildSidecarListeners } from './listeners.js';
import { hcmTracing, mergeTracing, routeOperation } from './tracing.js';

type Obj = Record<string, unknown>;

const node: ProxyNode = {
  id: 'sidecar~127.0.0.1~reviews-v2-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'reviews-v2-0',
  namespace: 'default',
  workloadName: 'reviews-v2',
  serviceAccount: 'reviews',
  labels: { app: 'reviews', version: 'v2' },
  ip: '127.0.0.1',
  outboundPort: 15001,
  inbound: [{ containerPort: 9080, name: 'http', listenPort: 31000, appPort: 31001 }],
  istioVersion: '',
};

const COLLECTORS = `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: zipkin, namespace: istio-system }
spec:
  hosts: [zipkin.istio-system.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9411, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1 }]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: otel, namespace: istio-system }
spec:
  hosts: [otel.istio-system.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 4318, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1 }]
`;

const PROVIDERS = [
  { name: 'zipkin', zipkin: { service: 'zipkin.istio-system.svc.cluster.local', port: 9411 } },
  {
    name: 'otel',
    opentelemetry: {
      service: 'istio-system/otel.istio-system.svc.cluster.local',
      port: 4318,
      http: { path: '/v1/traces', timeout: '2s', headers: [{ name: 'x-key', value: 'k' }] },
    },
  },
];

function model(yaml: string, mesh: Obj = {}): MeshModel {
  const { resources, problems } = parseConfigText(COLLECTORS + '---\n' + yaml, 'c.yaml');
  assert.deepEqual(problems.map(formatProblem), []);
  const meshConfig = applyMeshConfig(DEFAULT_MESH_CONFIG, {
    extensionProviders: PROVIDERS,
    ...mesh,
  });
  return MeshModel.build({ resources, instances: [], meshConfig });
}

test('the tracing section merges root → namespace → workload, field by field', () => {
  const levels: TelemetrySpec[] = [
    {
      tracing: [
        {
          providers: [{ name: 'zipkin' }],
          randomSamplingPercentage: 10,
          customTags: { a: { literal: { value: '1' } } },
        },
      ],
    },
    { tracing: [{ customTags: { b: { literal: { value: '2' } } } }] },
    { tracing: [{ randomSamplingPercentage: 50, match: { mode: 'SERVER' } }] },
  ];
  const client = mergeTracing(levels, 'CLIENT');
  assert.deepEqual(client?.providers, ['zipkin']);
  assert.equal(client?.randomSamplingPercentage, 10);
  assert.deepEqual(Object.keys(client?.customTags ?? {}), ['a', 'b']);
  assert.equal(mergeTracing(levels, 'SERVER')?.randomSamplingPercentage, 50);
  assert.equal(mergeTracing([{}], 'CLIENT'), undefined);
});

test('no provider anywhere: no tracing block (nothing to do per request)', () => {
  assert.equal(hcmTracing(node, model(''), 'CLIENT'), undefined);
});

test('a zipkin provider from the Telemetry API, as Istio writes it, packs and compiles', () => {
  const m = model(`
apiVersion: telemetry.istio.io/v1
kind: Telemetry
metadata: { name: mesh-default, namespace: istio-system }
spec:
  tracing:
    - providers: [{ name: zipkin }]
      randomSamplingPercentage: 25
      customTags:
        env: { environment: { name: HOME, defaultValue: none } }
        hdr: { header: { name: x-user } }
`);
  const tracing = hcmTracing(node, m, 'CLIENT');
  assert.ok(tracing);
  assert.deepEqual(tracing['random_sampling'], { value: 25 });
  assert.equal(tracing['spawn_upstream_span'], false);
  const provider = tracing['provider'] as Obj;
  assert.equal(provider['name'], 'envoy.tracers.zipkin');
  const typed = provider['typed_config'] as Obj;
  assert.equal(typed['collector_cluster'], 'outbound|9411||zipkin.istio-system.svc.cluster.local');
  assert.equal(typed['shared_span_context'], false);
  const tags = (tracing['custom_tags'] as Obj[]).map((t) => t['tag']);
  assert.deepEqual(tags, [
    'istio.canonical_revision',
    'istio.canonical_service',
    'istio.mesh_id',
    'istio.namespace',
    'env',
    'hdr',
  ]);
  // Through the wire and the proxy's compiler: the field names are Envoy's.
  const [out] = buildSidecarListeners(node, m).map((l) =>
    compileListener(unpackAny(packAny(TypeUrl.Listener, l.resource))),
  );
  const compiled = out?.filterChains[0]?.hcm?.tracing;
  assert.equal(compiled?.randomSampling, 25);
  assert.equal(compiled?.provider?.kind, 'zipkin');
  assert.deepEqual(
    compiled?.customTags.find((t) => t.tag === 'istio.canonical_service'),
    { tag: 'istio.canonical_service', kind: 'fixed', value: 'reviews' },
  );
});

test('defaultProviders and ProxyConfig sampling; OTLP/HTTP; enableTracing false turns it off', () => {
  const mesh = {
    defaultProviders: { tracing: ['otel'] },
    defaultConfig: { tracing: { sampling: 7 } },
  };
  const m = model('', mesh);
  const tracing = hcmTracing(node, m, 'SERVER');
  assert.ok(tracing);
  assert.deepEqual(tracing['random_sampling'], { value: 7 });
  const typed = (tracing['provider'] as Obj)['typed_config'] as Obj;
  assert.deepEqual((typed['http_service'] as Obj)['http_uri'], {
    uri: 'otel.istio-system.svc.cluster.local/v1/traces',
    cluster: 'outbound|4318||otel.istio-system.svc.cluster.local',
    timeout: '2s',
  });
  assert.equal(typed['service_name'], 'reviews.default');
  const inbound = buildSidecarListeners(node, m)
    .filter((l) => l.name === '127.0.0.1_31000')
    .map((l) => compileListener(unpackAny(packAny(TypeUrl.Listener, l.resource))))[0];
  const p = inbound?.filterChains[0]?.hcm?.tracing?.provider;
  assert.equal(p?.kind, 'otlp-http');
  assert.equal(hcmTracing(node, model('', { ...mesh, enableTracing: false }), 'CLIENT'), undefined);
});

test("route operations: the one cluster's host:port and the match's path, else the VirtualService", () => {
  const route = (match: Obj, cluster?: string): Obj => ({
    match,
    ...(cluster ? { route: { cluster } } : { route: { weighted_clusters: {} } }),
    metadata: {
      filter_metadata: {
        istio: {
          config: '/apis/networking.istio.io/v1/namespaces/default/virtual-service/reviews',
        },
      },
    },
  });
  const c = 'outbound|9080|v1|reviews.default.svc.cluster.local';
  assert.equal(
    routeOperation(route({ prefix: '/' }, c), 80, 'x'),
    'reviews.default.svc.cluster.local:9080/*',
  );
  assert.equal(
    routeOperation(route({ path: '/login' }, c), 80, 'x'),
    'reviews.default.svc.cluster.local:9080/login',
  );
  assert.equal(routeOperation(route({ prefix: '/api' }), 8080, 'x'), 'reviews:8080/api*');
});
