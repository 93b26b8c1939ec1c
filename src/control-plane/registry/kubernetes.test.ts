import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ServiceSpec, WorkloadEntrySpec } from '../../config/kinds.js';
import { parseConfigText } from '../../config/parse.js';
import type { ConfigResource } from '../../config/resource.js';
import { formatProblem } from '../../config/resource.js';
import { kubernetesEndpoints, kubernetesService } from './kubernetes.js';
import type { WorkloadInstance } from './instances.js';

function resource<S>(
  kind: string,
  name: string,
  spec: S,
  annotations: Record<string, string> = {},
): ConfigResource<S> {
  return {
    apiVersion: 'v1',
    kind,
    metadata: { name, namespace: 'shop', labels: { team: 'x' }, annotations },
    spec,
    source: { file: 'k.yaml', line: 1 },
  };
}

function inst(
  name: string,
  labels: Record<string, string>,
  extra: Partial<WorkloadInstance> = {},
): WorkloadInstance {
  return {
    name,
    namespace: 'shop',
    workloadName: name,
    labels,
    serviceAccount: 'default',
    address: '127.0.0.1',
    ports: [
      { containerPort: 8080, name: 'web', listenPort: 32000, appPort: 32001 },
      { containerPort: 9090, name: 'metrics', listenPort: 32002, appPort: 32003 },
    ],
    ready: true,
    ...extra,
  };
}

/** Services are read as the registry sees them: parsed, with Kubernetes' defaults applied. */
function service(yaml: string): ConfigResource<ServiceSpec> {
  const { resources, problems } = parseConfigText(yaml, 'svc.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  const [r] = resources;
  assert.ok(r);
  return r as ConfigResource<ServiceSpec>;
}

const svc = service(`
apiVersion: v1
kind: Service
metadata: {name: cart, namespace: shop, labels: {team: x}}
spec:
  selector: {app: cart}
  ports:
  - {name: http, port: 80, targetPort: web}
  - {name: http-metrics, port: 9090}
  - {name: tcp-none, port: 7000, targetPort: 7777}
`);

test('a Service becomes name.namespace.svc.cluster.local with its ports', () => {
  const s = kubernetesService(svc);
  assert.equal(s.hostname, 'cart.shop.svc.cluster.local');
  // No annotation: the model applies MeshConfig.defaultServiceExportTo.
  assert.deepEqual(s.exportTo, []);
  assert.deepEqual(s.labels, { team: 'x' });
  assert.deepEqual(
    s.ports.map((p) => `${p.name}:${p.port}:${p.protocol}`),
    ['http:80:HTTP', 'http-metrics:9090:HTTP', 'tcp-none:7000:TCP'],
  );
  const scoped = kubernetesService({
    ...svc,
    metadata: { ...svc.metadata, annotations: { 'networking.istio.io/exportTo': ' ., ops ,' } },
  });
  assert.deepEqual(scoped.exportTo, ['.', 'ops']);
});

test('targetPort picks the instance port by name or number; none means the port itself', () => {
  const s = kubernetesService(svc);
  const eps = kubernetesEndpoints(svc, s, [inst('cart-0', { app: 'cart' })], []);
  assert.deepEqual(
    eps.map((e) => `${e.servicePort}->${e.port}`),
    ['80->32000', '9090->32002'],
  );
});

test('only ready instances of the namespace whose labels match the selector', () => {
  const s = kubernetesService(svc);
  const eps = kubernetesEndpoints(
    svc,
    s,
    [
      inst('a', { app: 'cart', v: '1' }),
      inst('b', { app: 'cart' }, { ready: false }),
      inst('c', { app: 'cart' }, { namespace: 'elsewhere' }),
      inst('d', { app: 'checkout' }),
    ],
    [],
  );
  assert.deepEqual([...new Set(eps.map((e) => e.instanceName))], ['a']);
});

test('a Service without selector has no endpoints here', () => {
  const bare = service(`
apiVersion: v1
kind: Service
metadata: {name: ext, namespace: shop}
spec:
  ports: [{port: 80}]
`);
  assert.deepEqual(
    kubernetesEndpoints(bare, kubernetesService(bare), [inst('a', { app: 'x' })], []),
    [],
  );
});

test('selected WorkloadEntries: mapped port by name, else a numeric targetPort, else the port', () => {
  const we = resource<WorkloadEntrySpec>('WorkloadEntry', 'vm', {
    address: '10.0.0.1',
    labels: { app: 'cart' },
    ports: { http: 18080 },
  });
  const other = resource<WorkloadEntrySpec>('WorkloadEntry', 'vm2', {
    address: '10.0.0.2',
    labels: { app: 'nope' },
  });
  const eps = kubernetesEndpoints(svc, kubernetesService(svc), [], [we, other]);
  assert.deepEqual(
    eps.map((e) => `${e.address}:${e.servicePort}->${e.port}`),
    ['10.0.0.1:80->18080', '10.0.0.1:9090->9090', '10.0.0.1:7000->7777'],
  );
});
