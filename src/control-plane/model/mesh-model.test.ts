import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { DEFAULT_MESH_CONFIG } from './mesh-config.js';
import { MeshModel } from './mesh-model.js';

function build(text: string, instances: WorkloadInstance[] = []): MeshModel {
  const { resources, problems } = parseConfigText(text, 'model.yaml');
  const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
  assert.deepEqual(errors, []);
  return MeshModel.build({ resources, instances, meshConfig: DEFAULT_MESH_CONFIG });
}

function instance(
  name: string,
  namespace: string,
  labels: Record<string, string>,
  ports: { containerPort: number; name?: string; listenPort: number }[],
  ready = true,
): WorkloadInstance {
  return {
    name,
    namespace,
    workloadName: name.replace(/-\d+$/, ''),
    labels,
    serviceAccount: 'sa',
    address: '127.0.0.1',
    ports: ports.map((p) => ({ name: p.name ?? '', appPort: p.listenPort + 1, ...p })),
    ready,
  };
}

const eps = (m: MeshModel, host: string, port: number) =>
  m.endpointsOf(host, port).map((e) => `${e.address}:${e.port}`);

describe('services and endpoints', () => {
  const m = build(
    `
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports:
  - {name: http, port: 9080, targetPort: http}
  - {name: grpc-admin, port: 9090, targetPort: 7070}
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: reviews-vm}
spec:
  address: 10.0.0.7
  labels: {app: reviews, version: vm, security.istio.io/tlsMode: istio}
  ports: {http: 19080}
  weight: 3
  serviceAccount: vm-sa
---
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: {name: elsewhere, namespace: other}
spec:
  address: 10.0.0.8
  labels: {app: reviews}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: shadow}
spec:
  hosts: [reviews.default.svc.cluster.local]
  location: MESH_INTERNAL
  resolution: STATIC
  ports: [{number: 9080, name: http, protocol: HTTP}]
  endpoints: [{address: 10.9.9.9}]
`,
    [
      instance('reviews-v1-0', 'default', { app: 'reviews', version: 'v1' }, [
        { containerPort: 9080, name: 'http', listenPort: 30001 },
        { containerPort: 7070, name: 'admin', listenPort: 30002 },
      ]),
      instance('reviews-v2-0', 'default', { app: 'reviews', version: 'v2' }, [
        { containerPort: 9080, name: 'http', listenPort: 30011 },
      ]),
      instance(
        'reviews-v3-0',
        'default',
        { app: 'reviews' },
        [{ containerPort: 9080, name: 'http', listenPort: 30021 }],
        false,
      ),
      instance('reviews-v1-0', 'other', { app: 'reviews' }, [
        { containerPort: 9080, name: 'http', listenPort: 30031 },
      ]),
      instance('ratings-v1-0', 'default', { app: 'ratings' }, [
        { containerPort: 9080, name: 'http', listenPort: 30041 },
      ]),
    ],
  );
  const host = 'reviews.default.svc.cluster.local';

  test('a Kubernetes Service is a service with its ports and protocols', () => {
    const svc = m.services.get(host);
    assert.ok(svc);
    assert.equal(svc.registry, 'Kubernetes');
    assert.equal(svc.name, 'reviews');
    assert.equal(svc.namespace, 'default');
    assert.equal(svc.resolution, 'STATIC');
    assert.deepEqual(
      svc.ports.map((p) => [p.port, p.protocol]),
      [
        [9080, 'HTTP'],
        [9090, 'GRPC'],
      ],
    );
  });

  test('ready instances of its namespace whose labels it selects, by targetPort', () => {
    // targetPort `http` names the instance port; the WorkloadEntry maps the port name to 19080.
    assert.deepEqual(eps(m, host, 9080), ['10.0.0.7:19080', '127.0.0.1:30001', '127.0.0.1:30011']);
    // targetPort 7070 is only on v1; a WorkloadEntry without a ports entry uses targetPort.
    assert.deepEqual(eps(m, host, 9090), ['10.0.0.7:7070', '127.0.0.1:30002']);
    assert.deepEqual(eps(m, host, 1234), []);
  });

  test('endpoints carry identity, labels, weight and tlsMode', () => {
    const [vm, v1] = m.endpointsOf(host, 9080);
    assert.ok(vm && v1);
    assert.equal(vm.weight, 3);
    assert.equal(vm.serviceAccount, 'vm-sa');
    assert.equal(vm.tlsMode, 'istio');
    assert.equal(vm.instanceName, 'reviews-vm');
    assert.equal(vm.workloadName, 'reviews');
    assert.equal(v1.labels['version'], 'v1');
    assert.equal(v1.instanceName, 'reviews-v1-0');
    assert.equal(v1.workloadName, 'reviews-v1');
    assert.equal(v1.tlsMode, 'istio');
    assert.equal(v1.weight, 1);
  });

  test('a Kubernetes Service wins over a ServiceEntry for the same host', () => {
    assert.equal(m.services.get(host)?.registry, 'Kubernetes');
    assert.ok(!eps(m, host, 9080).includes('10.9.9.9:9080'));
  });
});

describe('visibility (exportTo)', () => {
  const m = build(`
apiVersion: v1
kind: Service
metadata: {name: public, namespace: a}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: private
  namespace: a
  annotations: {networking.istio.io/exportTo: "."}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: listed
  namespace: a
  annotations: {networking.istio.io/exportTo: "b, c"}
spec:
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext, namespace: a}
spec:
  hosts: [api.example.com]
  exportTo: [".", "c"]
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTPS}]
`);
  const visible = (ns: string) => m.servicesVisibleTo(ns).map((s) => s.name);

  test('Service annotations and ServiceEntry exportTo scope who sees what', () => {
    assert.deepEqual(visible('a'), ['api.example.com', 'private', 'public']);
    assert.deepEqual(visible('b'), ['listed', 'public']);
    assert.deepEqual(visible('c'), ['api.example.com', 'listed', 'public']);
    assert.deepEqual(visible('d'), ['public']);
  });
});

describe('VirtualService binding', () => {
  const m = build(`
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: mesh-only, namespace: a}
spec:
  hosts: [reviews]
  http: [{route: [{destination: {host: reviews}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: both, namespace: a}
spec:
  hosts: [ratings, "*.example.com"]
  gateways: [mesh, gw, istio-system/ingress]
  http: [{route: [{destination: {host: ratings}}]}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: private, namespace: a}
spec:
  hosts: [details]
  exportTo: ["."]
  http: [{route: [{destination: {host: details}}]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: ingress, namespace: istio-system}
spec:
  selector: {istio: ingressgateway}
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
---
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: {name: no-selector, namespace: istio-system}
spec:
  servers: [{port: {number: 80, name: http, protocol: HTTP}, hosts: ["*"]}]
`);
  const names = (list: { resource: { metadata: { name: string } } }[]) =>
    list.map((v) => v.resource.metadata.name);

  test('hosts resolve in the VirtualService namespace; gateways name namespace/name', () => {
    const both = m.virtualServices.find((v) => v.resource.metadata.name === 'both');
    assert.deepEqual(both?.hosts, ['ratings.a.svc.cluster.local', '*.example.com']);
    assert.deepEqual(both?.gateways, ['mesh', 'a/gw', 'istio-system/ingress']);
    const meshOnly = m.virtualServices.find((v) => v.resource.metadata.name === 'mesh-only');
    assert.deepEqual(meshOnly?.gateways, ['mesh']);
  });

  test('sidecars get mesh-bound VirtualServices exported to them; gateways get theirs', () => {
    // Istio's order: the namespace's private ones first, then exported, then public ones.
    assert.deepEqual(names(m.virtualServicesFor('mesh', 'a')), ['private', 'mesh-only', 'both']);
    assert.deepEqual(names(m.virtualServicesFor('mesh', 'b')), ['mesh-only', 'both']);
    assert.deepEqual(names(m.virtualServicesFor('istio-system/ingress', 'istio-system')), ['both']);
    assert.deepEqual(names(m.virtualServicesFor('a/gw', 'istio-system')), ['both']);
    assert.deepEqual(names(m.virtualServicesFor('istio-system/other', 'istio-system')), []);
  });

  test('a Gateway selects routers by labels; one without selector selects none', () => {
    assert.deepEqual(
      m.gatewaysSelecting({ istio: 'ingressgateway', app: 'x' }).map((g) => g.metadata.name),
      ['ingress'],
    );
    assert.deepEqual(m.gatewaysSelecting({ istio: 'egressgateway' }), []);
    assert.deepEqual(m.gatewaysSelecting({}), []);
  });
});

describe('DestinationRule lookup (proxy namespace, service namespace, root namespace)', () => {
  const dr = (name: string, ns: string, host: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
  host: "${host}"
${extra}
`;
  const svc = `
apiVersion: v1
kind: Service
metadata: {name: reviews, namespace: bookinfo}
spec:
  ports: [{name: http, port: 9080}]
`;
  const host = 'reviews.bookinfo.svc.cluster.local';
  const pick = (m: MeshModel, proxyNs: string) => {
    const found = m.destinationRuleFor(host, proxyNs);
    return found ? `${found.resource.metadata.namespace}/${found.resource.metadata.name}` : '';
  };

  test("the proxy's namespace first, then the service's, then the root namespace", () => {
    const m = build(
      [
        svc,
        dr('root', 'istio-system', '*.svc.cluster.local'),
        dr('owner', 'bookinfo', 'reviews'),
        dr('client', 'frontend', host),
      ].join('---\n'),
    );
    assert.equal(pick(m, 'frontend'), 'frontend/client');
    assert.equal(pick(m, 'bookinfo'), 'bookinfo/owner');
    assert.equal(pick(m, 'batch'), 'bookinfo/owner');
    const rootOnly = build([svc, dr('root', 'istio-system', '*.svc.cluster.local')].join('---\n'));
    assert.equal(pick(rootOnly, 'batch'), 'istio-system/root');
  });

  test('regression: a rule in an unrelated namespace never applies', () => {
    // Istio looks in three namespaces only; skiff used to rank every other one last instead.
    const m = build([svc, dr('stray', 'team-x', host)].join('---\n'));
    assert.equal(pick(m, 'frontend'), '');
    assert.equal(pick(m, 'team-x'), 'team-x/stray');
  });

  test('within a namespace the most specific host wins, whatever the order', () => {
    const m = build(
      [
        svc,
        dr('any', 'bookinfo', '*'),
        dr('local', 'bookinfo', '*.svc.cluster.local'),
        dr('exact', 'bookinfo', 'reviews'),
        dr('ns', 'bookinfo', '*.bookinfo.svc.cluster.local'),
      ].join('---\n'),
    );
    assert.equal(pick(m, 'frontend'), 'bookinfo/exact');
    const wild = build(
      [
        svc,
        dr('local', 'bookinfo', '*.svc.cluster.local'),
        dr('ns', 'bookinfo', '*.bookinfo.svc.cluster.local'),
      ].join('---\n'),
    );
    assert.equal(pick(wild, 'frontend'), 'bookinfo/ns');
    // A wildcard in the proxy's namespace still beats an exact rule in the service's.
    const nsFirst = build(
      [svc, dr('exact', 'bookinfo', 'reviews'), dr('wild', 'frontend', '*.svc.cluster.local')].join(
        '---\n',
      ),
    );
    assert.equal(pick(nsFirst, 'frontend'), 'frontend/wild');
  });

  test('exportTo hides a rule from other namespaces', () => {
    const m = build(
      [
        svc,
        dr('private', 'bookinfo', 'reviews', '  exportTo: ["."]'),
        dr('root', 'istio-system', host),
        dr('root-private', 'istio-system', '*.svc.cluster.local', '  exportTo: ["."]'),
      ].join('---\n'),
    );
    assert.equal(pick(m, 'bookinfo'), 'bookinfo/private');
    assert.equal(pick(m, 'frontend'), 'istio-system/root');
    const rootPrivate = build(
      [svc, dr('root-private', 'istio-system', '*.svc.cluster.local', '  exportTo: ["."]')].join(
        '---\n',
      ),
    );
    assert.equal(pick(rootPrivate, 'frontend'), '');
    assert.equal(pick(rootPrivate, 'istio-system'), 'istio-system/root-private');
    const listed = build(
      [svc, dr('listed', 'bookinfo', 'reviews', '  exportTo: [frontend]')].join('---\n'),
    );
    assert.equal(pick(listed, 'frontend'), 'bookinfo/listed');
    assert.equal(pick(listed, 'batch'), '');
  });
});

describe('a proxy view (forProxy)', () => {
  const text = `
apiVersion: v1
kind: ConfigMap
metadata: {name: istio, namespace: istio-system}
data:
  mesh: |
    defaultServiceExportTo: ["."]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache, namespace: a}
spec:
  hosts: [cache.example.com]
  exportTo: ["*"]
  resolution: STATIC
  ports: [{number: 80, name: http}]
  endpoints: [{address: 10.0.0.1}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: cache, namespace: b}
spec:
  hosts: [cache.example.com]
  exportTo: ["*"]
  resolution: STATIC
  ports: [{number: 80, name: http}]
  endpoints: [{address: 10.0.0.2}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: local, namespace: a}
spec:
  hosts: [local.example.com]
  resolution: STATIC
  ports: [{number: 80, name: http}]
  endpoints: [{address: 10.0.0.3}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: cache-canary, namespace: a}
spec:
  host: cache.example.com
  workloadSelector: {matchLabels: {track: canary}}
  subsets: [{name: canary}]
`;
  const m = build(text);
  const view = (namespace: string, labels: Record<string, string> = {}) =>
    m.forProxy({ type: 'sidecar', namespace, labels });

  test('one hostname in two namespaces: each proxy its own namespace, with its endpoints', () => {
    assert.deepEqual(eps(view('a'), 'cache.example.com', 80), ['10.0.0.1:80']);
    assert.deepEqual(eps(view('b'), 'cache.example.com', 80), ['10.0.0.2:80']);
  });

  test("the ConfigMap's defaultServiceExportTo applies to services that set no exportTo", () => {
    assert.equal(m.meshConfig.defaultServiceExportTo[0], '.');
    assert.ok(view('a').services.has('local.example.com'));
    assert.ok(!view('b').services.has('local.example.com'));
  });

  test("a DestinationRule's workloadSelector picks the proxies that get it", () => {
    assert.equal(
      view('a', { track: 'canary' }).destinationRuleFor('cache.example.com', 'a')?.resource.metadata
        .name,
      'cache-canary',
    );
    assert.equal(view('a').destinationRuleFor('cache.example.com', 'a'), undefined);
    // A gateway in the namespace with the labels gets it too.
    const gw = m.forProxy({ type: 'router', namespace: 'a', labels: { track: 'canary' } });
    assert.equal(
      gw.destinationRuleFor('cache.example.com', 'a')?.resource.metadata.name,
      'cache-canary',
    );
  });
});
