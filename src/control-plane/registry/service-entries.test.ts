import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceEntrySpec, WorkloadEntrySpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import type { WorkloadInstance } from './instances.js';
import { fromServiceEntry } from './service-entries.js';

function resource<S>(kind: string, name: string, spec: S, namespace = 'egress'): ConfigResource<S> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind,
    metadata: { name, namespace, labels: {}, annotations: {} },
    spec,
    source: { file: 'se.yaml', line: 1 },
  };
}

const se = (spec: ServiceEntrySpec) => resource<ServiceEntrySpec>('ServiceEntry', 'se', spec);
const addrs = (r: ReturnType<typeof fromServiceEntry>) =>
  r.endpoints.map((e) => `${e.hostname}|${e.servicePort}|${e.address}:${e.port}`);

test('one service per host, with its resolution, location and exportTo', () => {
  const r = fromServiceEntry(
    se({
      hosts: ['api.example.com', 'cache'],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      exportTo: ['.'],
      ports: [{ number: 443, name: 'https', protocol: 'HTTPS' }],
      endpoints: [{ address: '10.0.0.1' }],
    }),
    [],
    [],
  );
  assert.deepEqual(
    r.services.map((s) => [s.hostname, s.resolution, s.meshExternal, s.exportTo.join()]),
    [
      ['api.example.com', 'STATIC', false, '.'],
      // Istio takes a ServiceEntry's hosts as written: a short name stays short.
      ['cache', 'STATIC', false, '.'],
    ],
  );
  assert.equal(r.services[0]?.registry, 'ServiceEntry');
  assert.deepEqual(r.services[0]?.ports, [{ name: 'https', port: 443, protocol: 'HTTPS' }]);
});

test('defaults: resolution NONE, MESH_EXTERNAL, the mesh default exportTo, no endpoints', () => {
  const r = fromServiceEntry(
    se({ hosts: ['*.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] }),
    [],
    [],
  );
  assert.equal(r.services[0]?.resolution, 'NONE');
  assert.equal(r.services[0]?.meshExternal, true);
  // No exportTo: the model applies MeshConfig.defaultServiceExportTo.
  assert.deepEqual(r.services[0]?.exportTo, []);
  assert.deepEqual(r.endpoints, []);
});

test('DNS without endpoints: the host itself is the endpoint, on targetPort if given', () => {
  const r = fromServiceEntry(
    se({
      hosts: ['api.example.com', '*.wild.example.com'],
      resolution: 'DNS',
      ports: [
        { number: 80, name: 'http', protocol: 'HTTP' },
        { number: 443, name: 'tls', protocol: 'TLS', targetPort: 8443 },
      ],
    }),
    [],
    [],
  );
  assert.deepEqual(addrs(r), [
    'api.example.com|80|api.example.com:80',
    'api.example.com|443|api.example.com:8443',
  ]);
  assert.equal(r.endpoints[0]?.tlsMode, 'disabled');
});

test('inline endpoints: per-port overrides, labels and weight', () => {
  const r = fromServiceEntry(
    se({
      hosts: ['db.internal'],
      resolution: 'STATIC',
      ports: [
        { number: 5432, name: 'tcp-pg', protocol: 'TCP' },
        { number: 8080, name: 'http', protocol: 'HTTP', targetPort: 18080 },
      ],
      endpoints: [
        { address: '10.0.0.1', ports: { 'tcp-pg': 15432 }, labels: { version: 'a' }, weight: 2 },
        { address: '10.0.0.2' },
      ],
    }),
    [],
    [],
  );
  assert.deepEqual(addrs(r), [
    'db.internal|5432|10.0.0.1:15432',
    'db.internal|5432|10.0.0.2:5432',
    'db.internal|8080|10.0.0.1:18080',
    'db.internal|8080|10.0.0.2:18080',
  ]);
  assert.equal(r.endpoints[0]?.weight, 2);
  assert.equal(r.endpoints[0]?.labels['version'], 'a');
});

test('workloadSelector: WorkloadEntries and ready instances of the namespace', () => {
  const we = resource<WorkloadEntrySpec>('WorkloadEntry', 'vm', {
    address: '10.0.0.5',
    labels: { app: 'legacy' },
    ports: { http: 9999 },
  });
  const elsewhere = resource<WorkloadEntrySpec>(
    'WorkloadEntry',
    'vm',
    { address: '10.0.0.6', labels: { app: 'legacy' } },
    'other',
  );
  const instance = (name: string, ready: boolean, namespace = 'egress'): WorkloadInstance => ({
    name,
    namespace,
    workloadName: 'legacy',
    labels: { app: 'legacy' },
    serviceAccount: 'sa',
    address: '127.0.0.1',
    ports: [{ containerPort: 80, name: 'http', listenPort: 33000, appPort: 33001 }],
    ready,
  });
  const r = fromServiceEntry(
    se({
      hosts: ['legacy.internal'],
      resolution: 'STATIC',
      location: 'MESH_INTERNAL',
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      workloadSelector: { labels: { app: 'legacy' } },
    }),
    [instance('legacy-0', true), instance('legacy-1', false), instance('legacy-2', true, 'other')],
    [we, elsewhere],
  );
  assert.deepEqual(addrs(r), [
    'legacy.internal|80|10.0.0.5:9999',
    'legacy.internal|80|127.0.0.1:33000',
  ]);
  assert.equal(r.endpoints[1]?.tlsMode, 'istio');
});

test('MESH_EXTERNAL services get canonical-service labels (for telemetry); MESH_INTERNAL keep theirs', () => {
  const ext = fromServiceEntry(
    {
      ...se({ hosts: ['a.example.com'], ports: [{ number: 80, name: 'http' }] }),
      metadata: { name: 'se', namespace: 'egress', labels: { app: 'payments' }, annotations: {} },
    },
    [],
    [],
  );
  assert.deepEqual(ext.services[0]?.labels, {
    app: 'payments',
    'service.istio.io/canonical-name': 'payments',
    'service.istio.io/canonical-revision': 'latest',
  });
  const internal = fromServiceEntry(
    se({ hosts: ['b.internal'], location: 'MESH_INTERNAL', ports: [{ number: 80, name: 'http' }] }),
    [],
    [],
  );
  assert.deepEqual(internal.services[0]?.labels, {});
});

test('addresses become service VIPs (a /32 or IPv6 /128 as its IP); NONE keeps no endpoints', () => {
  const r = fromServiceEntry(
    se({
      hosts: ['db.example.com'],
      addresses: ['10.0.0.1/32', '10.1.0.0/16', '192.168.1.1', 'fd00::1/128', 'fd00:77::/32'],
      resolution: 'NONE',
      ports: [{ number: 5432, name: 'tcp', protocol: 'TCP' }],
    }),
    [],
    [],
  );
  assert.deepEqual(r.services[0]?.addresses, [
    '10.0.0.1',
    '10.1.0.0/16',
    '192.168.1.1',
    'fd00::1',
    'fd00:77::/32', // an IPv6 /32 is a block, not an address
  ]);
  assert.deepEqual(r.endpoints, []);
});

test('inline endpoints: tlsMode from the label, else istio when a serviceAccount is named; unix sockets skipped', () => {
  const r = fromServiceEntry(
    se({
      hosts: ['vm.internal'],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      ports: [{ number: 80, name: 'http', protocol: 'HTTP' }],
      endpoints: [
        { address: '10.0.0.1', serviceAccount: 'vm' },
        {
          address: '10.0.0.2',
          labels: { 'security.istio.io/tlsMode': 'disabled' },
          serviceAccount: 'vm',
        },
        { address: '10.0.0.3' },
        { address: 'unix:///var/run/vm.sock' },
      ],
    }),
    [],
    [],
  );
  assert.deepEqual(
    r.endpoints.map((e) => `${e.address}:${e.tlsMode}`),
    ['10.0.0.1:istio', '10.0.0.2:disabled', '10.0.0.3:disabled'],
  );
});

test('selected Workload instances: the container port numbered as targetPort, or named as the port', () => {
  const instance: WorkloadInstance = {
    name: 'app-0',
    namespace: 'egress',
    workloadName: 'app',
    labels: { app: 'app' },
    serviceAccount: 'sa',
    address: '127.0.0.1',
    ports: [
      { containerPort: 8080, name: 'web', listenPort: 31000, appPort: 31001 },
      { containerPort: 7000, name: 'grpc', listenPort: 31002, appPort: 31003 },
    ],
    ready: true,
  };
  const r = fromServiceEntry(
    se({
      hosts: ['app.internal'],
      location: 'MESH_INTERNAL',
      resolution: 'STATIC',
      workloadSelector: { labels: { app: 'app' } },
      ports: [
        { number: 80, name: 'http', protocol: 'HTTP', targetPort: 8080 },
        { number: 9000, name: 'grpc', protocol: 'GRPC' },
        { number: 9999, name: 'none', protocol: 'HTTP' },
      ],
    }),
    [instance],
    [],
  );
  assert.deepEqual(addrs(r), [
    'app.internal|80|127.0.0.1:31000',
    'app.internal|9000|127.0.0.1:31002',
  ]);
});
