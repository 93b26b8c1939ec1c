import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { RouteTable } from '../../proxy/routes/route-table.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { GRPC_WEB_FILTER } from './grpc-web.js';
import { buildGatewayListeners, buildSidecarListeners } from './listeners.js';
import { sidecarHttpProxyRoute } from './routes.js';
import { modelOf as model } from './testing.js';

type Obj = Record<string, unknown>;

const SERVICES = `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  ports: [{name: grpc-web, port: 9090}, {name: http, port: 8080}, {name: api, port: 7070, appProtocol: grpc-web}]
`;

const node: ProxyNode = {
  id: 'sidecar~127.0.0.1~web-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'web-0',
  namespace: 'default',
  workloadName: 'web',
  serviceAccount: 'default',
  labels: {},
  ip: '127.0.0.1',
  outboundPort: 15001,
  inbound: [
    { containerPort: 9090, name: 'grpc-web', listenPort: 31000, appPort: 31001 },
    { containerPort: 8080, name: 'http', listenPort: 31002, appPort: 31003 },
  ],
  istioVersion: '',
};

const onWire = (type: string, resource: object) => unpackAny(packAny(type, resource));

/** The decoded http_filters of a listener's (first) HTTP connection manager. */
function httpFilters(listener: Obj): Obj[] {
  const chains = listener['filter_chains'] as Obj[];
  const hcm = (chains[0]?.['filters'] as Obj[])[0]?.['typed_config'] as Obj;
  return hcm['http_filters'] as Obj[];
}

test('gRPC-Web ports: grpc_web first in their inbound listener, as Istio orders it', () => {
  const listeners = buildSidecarListeners(node, model(SERVICES));
  const byName = new Map(listeners.map((l) => [l.name, onWire(TypeUrl.Listener, l.resource)]));
  const grpcWeb = byName.get('127.0.0.1_31000');
  const http = byName.get('127.0.0.1_31002');
  assert.ok(grpcWeb && http);
  assert.deepEqual(
    httpFilters(grpcWeb).map((f) => [f['name'], f['disabled'] ?? false]),
    [
      [GRPC_WEB_FILTER, false],
      ['envoy.filters.http.fault', false],
      ['envoy.filters.http.cors', false],
      ['envoy.filters.http.router', false],
    ],
  );
  assert.ok(!httpFilters(http).some((f) => f['name'] === GRPC_WEB_FILTER));
  // The proxy compiles it.
  const compiled = compileListener(grpcWeb);
  assert.equal(compiled.filterChains[0]?.hcm?.filters[0]?.name, GRPC_WEB_FILTER);
});

test("local mode's outbound listener: grpc_web disabled, enabled by gRPC-Web ports' virtual hosts", () => {
  const m = model(SERVICES);
  const out = buildSidecarListeners(node, m).find((l) => l.name === 'virtualOutbound');
  assert.ok(out);
  const wire = onWire(TypeUrl.Listener, out.resource);
  const first = httpFilters(wire)[0];
  assert.equal(first?.['name'], GRPC_WEB_FILTER);
  assert.equal(first?.['disabled'], true);
  assert.ok(compileListener(wire));
  const routes = onWire(TypeUrl.RouteConfiguration, sidecarHttpProxyRoute(node, m).resource);
  const enabled = (routes['virtual_hosts'] as Obj[])
    .filter((v) => (v['typed_per_filter_config'] as Obj | undefined)?.[GRPC_WEB_FILTER])
    .map((v) => v['name']);
  assert.deepEqual(enabled, [
    'web.default.svc.cluster.local:9090',
    'web.default.svc.cluster.local:7070',
  ]);
  assert.ok(RouteTable.compile(routes));
  // No gRPC-Web service in sight: no grpc_web filter at all.
  const plain = model(SERVICES.replace(/grpc-web/g, 'grpc'));
  const outPlain = buildSidecarListeners(node, plain).find((l) => l.name === 'virtualOutbound');
  assert.ok(outPlain);
  assert.ok(
    !httpFilters(onWire(TypeUrl.Listener, outPlain.resource)).some(
      (f) => f['name'] === GRPC_WEB_FILTER,
    ),
  );
});

test('a gateway server of protocol GRPC-WEB gets grpc_web; an HTTP one does not', () => {
  const gateway: ProxyNode = { ...node, type: 'router', inbound: [] };
  const listeners = buildGatewayListeners(gateway, [
    { port: 8080, hostPort: 18080, protocol: 'GRPC-WEB', servers: [] },
    { port: 8081, hostPort: 18081, protocol: 'HTTP', servers: [] },
  ]).map((l) => onWire(TypeUrl.Listener, l.resource));
  assert.equal(listeners.length, 2);
  const [web, http] = listeners.map((l) => httpFilters(l).map((f) => f['name']));
  assert.equal(web?.[0], GRPC_WEB_FILTER);
  assert.ok(!http?.includes(GRPC_WEB_FILTER));
});
