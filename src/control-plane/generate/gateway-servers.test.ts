import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import type { ProxyNode } from '../../xds/node.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import { MeshModel } from '../model/mesh-model.js';
import { gatewayServerPorts, isHttpServer, localHostPort } from './gateway-servers.js';

const router = (labels: Record<string, string>): ProxyNode => ({
  id: 'router~127.0.0.1~gw-0.istio-system~istio-system.svc.cluster.local',
  type: 'router',
  name: 'gw-0',
  namespace: 'istio-system',
  workloadName: 'gw',
  serviceAccount: 'gw',
  labels,
  ip: '127.0.0.1',
  inbound: [],
  istioVersion: '',
});

const CONFIG = `
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: web, namespace: front}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 443, name: https, protocol: HTTPS}
    hosts: ["*"]
    tls: {mode: SIMPLE, credentialName: cert}
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["./Shop.Example.com", "*/api.example.com", "*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: more, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers:
  - port: {number: 80, name: http2, protocol: http}
    hosts: ["team/*.internal"]
  - port: {number: 9000, name: grpc, protocol: GRPC}
    hosts: ["*"]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: egress, namespace: istio-system}
spec:
  selector: {istio: egressgateway}
  servers:
  - port: {number: 80, name: http, protocol: HTTP}
    hosts: ["*"]
`;

test('servers of every Gateway selecting the router, grouped and sorted by port', () => {
  const { resources, problems } = parseConfigText(CONFIG, 'g.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  const m = MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
  const ports = gatewayServerPorts(router({ istio: 'ingressgateway' }), m, { 9000: 19000 });
  assert.deepEqual(
    ports.map((p) => [p.port, p.hostPort, p.protocol, isHttpServer(p)]),
    [
      [80, 8080, 'HTTP', true],
      [443, 8443, 'HTTPS', false],
      [9000, 19000, 'GRPC', true],
    ],
  );
  assert.deepEqual(ports[0]?.servers, [
    {
      gateway: 'front/web',
      hosts: [
        // "." is the Gateway's namespace; no namespace part means any namespace.
        { namespace: 'front', host: 'shop.example.com' },
        { namespace: '*', host: 'api.example.com' },
        { namespace: '*', host: '*' },
      ],
      portName: 'http',
      index: 1,
    },
    {
      gateway: 'istio-system/more',
      hosts: [{ namespace: 'team', host: '*.internal' }],
      portName: 'http2',
      index: 0,
    },
  ]);
  assert.deepEqual(
    gatewayServerPorts(router({ istio: 'egressgateway' }), m, {}).map((p) => p.port),
    [80],
  );
  assert.deepEqual(gatewayServerPorts(router({}), m, {}), []);
});

test('local mode serves privileged server ports at 8000 + port unless told otherwise', () => {
  assert.equal(localHostPort(80, {}), 8080);
  assert.equal(localHostPort(443, {}), 8443);
  assert.equal(localHostPort(1023, {}), 9023);
  assert.equal(localHostPort(1024, {}), 1024);
  assert.equal(localHostPort(8080, {}), 8080);
  assert.equal(localHostPort(80, { 80: 18080 }), 18080);
});
