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
      // A short host resolves in the ServiceEntry's namespace.
      ['cache.egress.svc.cluster.local', 'STATIC', false, '.'],
    ],
  );
  assert.equal(r.services[0]?.registry, 'ServiceEntry');
  assert.deepEqual(r.services[0]?.ports, [{ name: 'https', port: 443, protocol: 'HTTPS' }]);
});

test('defaults: resolution NONE, MESH_EXTERNAL, exported everywhere, no endpoints', () => {
  const r = fromServiceEntry(
    se({ hosts: ['*.example.com'], ports: [{ number: 80, name: 'http', protocol: 'HTTP' }] }),
    [],
    [],
  );
  assert.equal(r.services[0]?.resolution, 'NONE');
  assert.equal(r.services[0]?.meshExternal, true);
  assert.deepEqual(r.services[0]?.exportTo, ['*']);
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
