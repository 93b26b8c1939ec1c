import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { buildGatewayListeners, buildSidecarListeners } from './listeners.js';

type Obj = Record<string, unknown>;

const sidecar: ProxyNode = {
  id: 'sidecar~127.0.0.1~reviews-v1-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'reviews-v1-0',
  namespace: 'default',
  workloadName: 'reviews-v1',
  serviceAccount: 'reviews',
  labels: { app: 'reviews' },
  ip: '127.0.0.1',
  outboundPort: 15001,
  inbound: [
    { containerPort: 9080, name: 'http', listenPort: 31000, appPort: 31001 },
    { containerPort: 9090, name: 'admin', listenPort: 31002, appPort: 31003 },
  ],
  istioVersion: '',
};

const onWire = (resource: object) => unpackAny(packAny(TypeUrl.Listener, resource));

test('a sidecar: virtualOutbound (HTTP proxy over RDS http_proxy) and 127.0.0.1_<listenPort> per port', () => {
  const listeners = buildSidecarListeners(sidecar);
  assert.deepEqual(
    listeners.map((l) => l.name),
    ['virtualOutbound', '127.0.0.1_31000', '127.0.0.1_31002'],
  );
  const [out, in9080] = listeners.map((l) => compileListener(onWire(l.resource)));
  assert.ok(out && in9080);
  assert.equal(out.port, 15001);
  assert.equal(out.direction, 'OUTBOUND');
  const hcm = out.filterChains[0]?.hcm;
  assert.deepEqual(hcm?.routes, { kind: 'rds', name: 'http_proxy' });
  assert.equal(hcm?.allowAbsoluteUrl, true);
  assert.equal(hcm?.useRemoteAddress, false);
  assert.equal(hcm?.normalizePath, true);
  assert.equal(hcm?.serverName, 'istio-envoy');
  assert.equal(hcm?.statPrefix, 'outbound_127.0.0.1_15001');
  assert.equal(in9080.port, 31000);
  assert.equal(in9080.direction, 'INBOUND');
  // PERMISSIVE by default: an mTLS chain and the plaintext one (inbound-tls.ts).
  assert.deepEqual(
    in9080.filterChains.map((c) => c.name),
    ['inbound|9080||-mtls', 'inbound|9080||'],
  );
  const inboundRoutes = in9080.filterChains[1]?.hcm?.routes;
  assert.equal(inboundRoutes?.kind, 'inline');
  assert.equal(inboundRoutes?.kind === 'inline' ? inboundRoutes.table.name : '', 'inbound|9080||');
  // Without an outbound port (no HTTP_PROXY), only the inbound listeners.
  const { outboundPort: _omit, ...noOutbound } = sidecar;
  assert.deepEqual(
    buildSidecarListeners(noOutbound).map((l) => l.name),
    ['127.0.0.1_31000', '127.0.0.1_31002'],
  );
});

test('a router: one listener per HTTP server port, on its host port, routes over RDS http.<port>', () => {
  const router: ProxyNode = { ...sidecar, type: 'router', inbound: [] };
  const listeners = buildGatewayListeners(router, [
    { port: 80, hostPort: 8080, protocol: 'HTTP', servers: [] },
    { port: 443, hostPort: 8443, protocol: 'HTTPS', servers: [] },
    { port: 9000, hostPort: 9000, protocol: 'GRPC', servers: [] },
  ]);
  assert.deepEqual(
    listeners.map((l) => l.name),
    ['127.0.0.1_8080', '127.0.0.1_9000'],
  );
  const compiled = compileListener(onWire(listeners[0]?.resource ?? {}));
  assert.equal(compiled.port, 8080);
  assert.deepEqual(compiled.filterChains[0]?.hcm?.routes, { kind: 'rds', name: 'http.80' });
  // Gateways are the edge: they trust the connection's address for x-forwarded-for.
  assert.equal(compiled.filterChains[0]?.hcm?.useRemoteAddress, true);
  const typed = (
    (onWire(listeners[1]?.resource ?? {})['filter_chains'] as Obj[])[0]?.['filters'] as Obj[]
  )[0];
  assert.equal(typed?.['name'], 'envoy.filters.network.http_connection_manager');
});
