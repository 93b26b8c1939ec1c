import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProxyNode } from '../../xds/node.js';
import type { SidecarScope } from '../model/sidecar-scope.js';
import { defaultEndpointPort, routerPortMap, withSidecarIngress } from './proxy-ports.js';

const node: ProxyNode = {
  id: 'sidecar~127.0.0.1~echo-0.ns~ns.svc.cluster.local',
  type: 'sidecar',
  name: 'echo-0',
  namespace: 'ns',
  workloadName: 'echo',
  serviceAccount: 'default',
  labels: {},
  ip: '127.0.0.1',
  outboundPort: 1,
  inbound: [
    { containerPort: 9080, name: 'http', listenPort: 30001, appPort: 30002 },
    { containerPort: 9090, name: 'admin', listenPort: 30003, appPort: 30004 },
  ],
  istioVersion: '',
};

const scope = (ingress: SidecarScope['ingress']) => ({ ingress }) as unknown as SidecarScope;

test('defaultEndpoint ports: loopback, any address, IPv6; none for unix sockets', () => {
  assert.equal(defaultEndpointPort('127.0.0.1:8080'), 8080);
  assert.equal(defaultEndpointPort('0.0.0.0:8081'), 8081);
  assert.equal(defaultEndpointPort('[::1]:8082'), 8082);
  assert.equal(defaultEndpointPort('unix:///var/run/app.sock'), undefined);
  assert.equal(defaultEndpointPort(undefined), undefined);
});

test('Sidecar ingress: only the listed ports keep a listener, sent to their defaultEndpoint', () => {
  assert.equal(withSidecarIngress(node, undefined), node);
  assert.equal(withSidecarIngress(node, scope([])), node);
  const out = withSidecarIngress(
    node,
    scope([
      {
        port: 9080,
        protocol: 'HTTP',
        name: 'http',
        defaultEndpoint: '127.0.0.1:8080',
        captureMode: 'NONE',
      },
    ]),
  );
  assert.deepEqual(out.inbound, [
    { containerPort: 9080, name: 'http', listenPort: 30001, appPort: 8080 },
  ]);
});

test("a router's own port map wins over the control plane's", () => {
  assert.deepEqual(routerPortMap({ ...node, inbound: [] }, { 80: 8080 }), { 80: 8080 });
  assert.deepEqual(
    routerPortMap(
      {
        ...node,
        type: 'router',
        inbound: [{ containerPort: 80, name: 'http-80', listenPort: 31000, appPort: 31000 }],
      },
      { 80: 8080, 443: 8443 },
    ),
    { 80: 31000, 443: 8443 },
  );
});
