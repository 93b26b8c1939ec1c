// Flag parsing: what `skiff proxy` and `skiff control-plane` turn their flags into; kind names.
import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { controlPlaneOptions } from './control-plane.js';
import { parseGatewayPorts, parseHostPort, parseLabels } from './flags.js';
import { UsageError } from './io.js';
import { resolveKind, resourceTypeName } from './kinds.js';
import { parseInbound, proxyOptions, type ProxyFlags } from './proxy.js';

const sidecar: ProxyFlags = {
  type: 'sidecar',
  name: 'reviews-v1-0',
  namespace: 'default',
  workload: 'reviews-v1',
  serviceAccount: 'bookinfo-reviews',
  labels: 'app=reviews,version=v1',
  xds: '127.0.0.1:21000',
  adminPort: '21001',
  outboundPort: '21002',
  inbound: ['9080:http:21003:21004', '9090::21005:21006'],
  readyFile: 'run/x.json',
  ip: '127.0.0.1',
};

test('proxy flags become ProxyOptions with an Istio node id', () => {
  const opts = proxyOptions(sidecar);
  assert.equal(opts.node.id, 'sidecar~127.0.0.1~reviews-v1-0.default~default.svc.cluster.local');
  assert.deepEqual(opts.node.labels, { app: 'reviews', version: 'v1' });
  assert.equal(opts.node.serviceAccount, 'bookinfo-reviews');
  assert.equal(opts.node.outboundPort, 21002);
  assert.deepEqual(opts.node.inbound, [
    { containerPort: 9080, name: 'http', listenPort: 21003, appPort: 21004 },
    { containerPort: 9090, name: '', listenPort: 21005, appPort: 21006 },
  ]);
  assert.equal(opts.xdsAddress, '127.0.0.1:21000');
  assert.equal(opts.adminPort, 21001);
  assert.equal(opts.adminBind, '127.0.0.1');
  assert.equal(opts.readyFile, path.resolve('run/x.json'));
});

test('a router has no outbound port and no inbound ports', () => {
  const opts = proxyOptions({
    ...sidecar,
    type: 'router',
    name: 'istio-ingressgateway-0',
    namespace: 'istio-system',
    outboundPort: undefined,
    inbound: [],
  });
  assert.equal(opts.node.type, 'router');
  assert.equal(opts.node.outboundPort, undefined);
  assert.match(opts.node.id, /^router~127\.0\.0\.1~istio-ingressgateway-0\.istio-system~/);
});

test('bad proxy flags are usage errors naming the flag', () => {
  assert.throws(() => proxyOptions({ ...sidecar, type: 'gateway' }), UsageError);
  assert.throws(() => parseInbound('9080:http:21003'), /--inbound: "9080:http:21003" is not/);
  assert.throws(() => parseInbound('9080:http:x:1'), /--inbound: "x" is not a port number/);
  assert.throws(() => parseLabels('app'), /--labels: "app" is not key=value/);
  assert.throws(() => parseHostPort('nohost', '--xds'), /--xds: "nohost" is not HOST:PORT/);
  assert.throws(() => proxyOptions({ ...sidecar, adminPort: '70000' }), /--admin-port/);
});

test('control-plane flags become ControlPlaneOptions', () => {
  const opts = controlPlaneOptions({
    config: ['mesh'],
    stateDir: '.skiff',
    bind: '127.0.0.1',
    grpcPort: '0',
    httpPort: '15014',
    gatewayPort: ['80=8080', '443=8443'],
    instances: '.skiff/instances.json',
    debounceMs: '100',
  });
  assert.deepEqual(opts.configPaths, ['mesh']);
  assert.equal(opts.stateDir, path.resolve('.skiff'));
  assert.equal(opts.grpcPort, 0);
  assert.deepEqual(opts.gatewayPorts, { 80: 8080, 443: 8443 });
  assert.equal(opts.instancesFile, path.resolve('.skiff/instances.json'));
  assert.equal(opts.debounceMs, 100);
  assert.throws(
    () => parseGatewayPorts(['80:8080']),
    /--gateway-port: "80:8080" is not PORT=HOSTPORT/,
  );
});

test('kinds resolve from kubectl-style names, and print as kubectl does', () => {
  for (const name of [
    'vs',
    'VirtualService',
    'virtualservices',
    'virtualservice.networking.istio.io',
  ]) {
    assert.equal(resolveKind(name)?.kind, 'VirtualService', name);
  }
  assert.equal(resolveKind('gw')?.kind, 'Gateway');
  assert.equal(resolveKind('gateways')?.kind, 'Gateway');
  assert.equal(resolveKind('svc')?.kind, 'Service');
  assert.equal(resolveKind('telemetries')?.kind, 'Telemetry');
  assert.equal(resolveKind('authorizationpolicies')?.kind, 'AuthorizationPolicy');
  assert.equal(resolveKind('pods'), undefined);
  assert.equal(resourceTypeName('VirtualService'), 'virtualservice.networking.istio.io');
  assert.equal(resourceTypeName('Service'), 'service');
  assert.equal(resourceTypeName('Workload'), 'workload.skiff.dev');
});
