// Tables as kubectl prints them; the summary `skiff up` prints; gateway host ports and URLs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ConfigResource } from '../config/resource.js';
import { gatewayServerPorts, gatewayUrls, hostPortFor, INGRESS } from './gateway.js';
import type { MeshRecord } from './mesh-record.js';
import { renderMeshSummary, renderTable } from './table.js';

test('columns are padded to the widest cell, three spaces apart, no trailing spaces', () => {
  const out = renderTable(
    ['NAME', 'CDS', 'VERSION'],
    [
      ['productpage-v1-0.default', 'SYNCED', '0.1.0'],
      ['a', 'NOT SENT', ''],
    ],
  );
  assert.equal(
    out,
    [
      'NAME                       CDS        VERSION',
      'productpage-v1-0.default   SYNCED     0.1.0',
      'a                          NOT SENT',
    ].join('\n'),
  );
});

function res(kind: string, name: string, spec: unknown, namespace = 'default'): ConfigResource {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind,
    metadata: { name, namespace, labels: {}, annotations: {} },
    spec,
    source: { file: 'x.yaml', line: 1 },
  };
}

test('gateway ports: privileged ports shift by 8000, the rest stay', () => {
  assert.equal(hostPortFor(80), 8080);
  assert.equal(hostPortFor(443), 8443);
  assert.equal(hostPortFor(8080), 8080);
  assert.equal(hostPortFor(1024), 1024);
});

test('gateway server ports and URLs come from Gateways that select the ingress', () => {
  const resources = [
    res('Gateway', 'bookinfo-gateway', {
      selector: { istio: 'ingressgateway' },
      servers: [{ port: { number: 80, name: 'http', protocol: 'HTTP' }, hosts: ['*'] }],
    }),
    res('Gateway', 'other', {
      selector: { istio: 'egressgateway' },
      servers: [{ port: { number: 9999, protocol: 'HTTP' }, hosts: ['*'] }],
    }),
    res('VirtualService', 'unbound', {
      gateways: ['other'],
      http: [{ match: [{ uri: { exact: '/x' } }] }],
    }),
    res('VirtualService', 'bookinfo', {
      hosts: ['*'],
      gateways: ['bookinfo-gateway'],
      http: [{ match: [{ uri: { exact: '/productpage' } }, { uri: { prefix: '/static' } }] }],
    }),
  ];
  assert.deepEqual(gatewayServerPorts(resources, INGRESS.labels), [80]);
  assert.deepEqual(gatewayUrls(resources, [{ port: 80, hostPort: 8080 }]), [
    'http://localhost:8080/productpage',
  ]);
  // A VirtualService in another namespace binds with `<ns>/<name>` only.
  const crossNs = [
    resources[0]!,
    res(
      'VirtualService',
      'vs',
      { gateways: ['bookinfo-gateway'], http: [{ match: [{ uri: { prefix: '/a' } }] }] },
      'other',
    ),
    res(
      'VirtualService',
      'vs2',
      { gateways: ['default/bookinfo-gateway'], http: [{ match: [{ uri: { prefix: '/b' } }] }] },
      'other',
    ),
  ];
  assert.deepEqual(gatewayUrls(crossNs, [{ port: 80, hostPort: 8123 }]), [
    'http://localhost:8123/b',
  ]);
});

test('the summary lists every instance, the gateway URLs, the control plane and the record', () => {
  const record: MeshRecord = {
    version: 1,
    launcherPid: 1,
    launcherCwd: '/w',
    dir: '/w/examples/bookinfo',
    stateDir: '/w/.skiff',
    instancesFile: '/w/.skiff/instances.json',
    startedAt: '',
    controlPlane: { grpcAddress: '127.0.0.1:21000', httpAddress: '127.0.0.1:21001', log: '' },
    instances: [
      {
        name: 'reviews-v1-0',
        namespace: 'default',
        workloadName: 'reviews-v1',
        serviceAccount: 'bookinfo-reviews',
        labels: {},
        ports: [{ containerPort: 9080, name: 'http', appPort: 21002, listenPort: 21003 }],
        outboundPort: 21004,
        adminPort: 21005,
        appLog: '',
        sidecarLog: '',
      },
    ],
    gateway: {
      name: 'istio-ingressgateway-0',
      namespace: 'istio-system',
      adminPort: 21006,
      log: '',
      ports: [{ port: 80, hostPort: 8080 }],
      urls: ['http://localhost:8080/productpage'],
    },
  };
  const out = renderMeshSummary(record, '/w/.skiff/mesh.json', '/w');
  const lines = out.split('\n');
  assert.match(lines[0]!, /^WORKLOAD\s+INSTANCE\s+NAMESPACE\s+APP\s+SIDECAR\s+OUTBOUND\s+ADMIN$/);
  assert.match(lines[1]!, /^reviews-v1\s+reviews-v1-0\s+default\s+21002\s+21003\s+21004\s+21005$/);
  assert.match(
    lines[2]!,
    /^istio-ingressgateway\s+istio-ingressgateway-0\s+istio-system\s+-\s+8080\s+-\s+21006$/,
  );
  assert.ok(lines.includes('  http://localhost:8080/productpage'));
  assert.ok(lines.includes('Control plane: xDS 127.0.0.1:21000, HTTP 127.0.0.1:21001'));
  assert.ok(lines.includes('Mesh: .skiff/mesh.json'));
});
