import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WorkloadEntrySpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { instanceEndpoint, workloadEntryEndpoint } from './endpoint-builders.js';
import type { WorkloadInstance } from './instances.js';

const base: WorkloadInstance = {
  name: 'reviews-v2-1',
  namespace: 'bookinfo',
  workloadName: 'reviews-v2',
  labels: { app: 'reviews', version: 'v2' },
  serviceAccount: 'bookinfo-reviews',
  address: '127.0.0.1',
  ports: [{ containerPort: 9080, name: 'http', listenPort: 31000, appPort: 31001 }],
  ready: true,
};

function entry(name: string, spec: WorkloadEntrySpec): ConfigResource<WorkloadEntrySpec> {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'WorkloadEntry',
    metadata: { name, namespace: 'vms', labels: {}, annotations: {} },
    spec,
    source: { file: 'we.yaml', line: 1 },
  };
}

test("a launched instance's endpoint is its sidecar's listen port, mTLS capable", () => {
  const ep = instanceEndpoint(base, 'reviews.bookinfo.svc.cluster.local', 9080, 31000);
  assert.deepEqual(ep, {
    hostname: 'reviews.bookinfo.svc.cluster.local',
    servicePort: 9080,
    address: '127.0.0.1',
    port: 31000,
    labels: base.labels,
    namespace: 'bookinfo',
    serviceAccount: 'bookinfo-reviews',
    workloadName: 'reviews-v2',
    instanceName: 'reviews-v2-1',
    locality: '',
    weight: 1,
    tlsMode: 'istio',
  });
});

test('locality comes from istio-locality, else the Kubernetes topology labels', () => {
  const at = (labels: Record<string, string>) =>
    instanceEndpoint({ ...base, labels }, 'h', 1, 2).locality;
  assert.equal(at({ 'istio-locality': 'us-east1.us-east1-b.rack1' }), 'us-east1/us-east1-b/rack1');
  assert.equal(
    at({ 'topology.kubernetes.io/region': 'eu', 'topology.kubernetes.io/zone': 'eu-1' }),
    'eu/eu-1',
  );
  assert.equal(at({ 'topology.kubernetes.io/region': 'eu' }), 'eu');
  assert.equal(at({ 'topology.kubernetes.io/zone': 'eu-1' }), '');
});

test('a WorkloadEntry: ports by service port name, weight, identity, tlsMode by label', () => {
  const we = entry('vm-1', {
    address: '10.1.2.3',
    labels: { app: 'ratings', 'security.istio.io/tlsMode': 'istio' },
    ports: { http: 8080 },
    weight: 5,
    locality: 'us/east',
  });
  const ep = workloadEntryEndpoint(we, 'ratings.vms.svc.cluster.local', 9080, 'http', 9080);
  assert.equal(ep.port, 8080);
  assert.equal(ep.address, '10.1.2.3');
  assert.equal(ep.weight, 5);
  assert.equal(ep.locality, 'us/east');
  assert.equal(ep.tlsMode, 'istio');
  assert.equal(ep.serviceAccount, 'default');
  assert.equal(ep.workloadName, 'ratings');
  assert.equal(ep.instanceName, 'vm-1');
  assert.equal(ep.namespace, 'vms');
  // A port name the entry does not map, or no name: the default (target) port.
  assert.equal(workloadEntryEndpoint(we, 'h', 9090, 'grpc', 9091).port, 9091);
  assert.equal(workloadEntryEndpoint(we, 'h', 9090, undefined, 9091).port, 9091);
  const plain = workloadEntryEndpoint(entry('vm-2', { address: '10.1.2.4' }), 'h', 80, 'http', 80);
  assert.equal(plain.tlsMode, 'disabled');
  assert.equal(plain.weight, 1);
  assert.equal(plain.workloadName, 'vm-2');
});
