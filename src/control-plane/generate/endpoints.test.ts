import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { compileAssignment } from '../../proxy/upstream/assignment.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import { MeshModel } from '../model/mesh-model.js';
import { buildEndpoints } from './endpoints.js';

type Obj = Record<string, unknown>;

const CONFIG = `
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: v1
kind: Service
metadata: {name: idle}
spec:
  selector: {app: idle}
  ports: [{name: http, port: 80}]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: reviews}
spec:
  host: reviews
  subsets:
  - {name: v1, labels: {version: v1}}
  - {name: v2, labels: {version: v2}}
  - {name: none, labels: {version: v9}}
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: dns}
spec:
  hosts: [api.example.com]
  resolution: DNS
  ports: [{number: 443, name: tls, protocol: TLS}]
`;

function instance(
  name: string,
  version: string,
  port: number,
  labels: Record<string, string> = {},
): WorkloadInstance {
  return {
    name,
    namespace: 'default',
    workloadName: name.replace(/-\d+$/, ''),
    labels: { app: 'reviews', version, ...labels },
    serviceAccount: 'reviews',
    address: '127.0.0.1',
    ports: [{ containerPort: 9080, name: 'http', listenPort: port, appPort: port + 1 }],
    ready: true,
  };
}

const node: ProxyNode = {
  id: 'sidecar~127.0.0.1~p-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'p-0',
  namespace: 'default',
  workloadName: 'p',
  serviceAccount: 'default',
  labels: {},
  ip: '127.0.0.1',
  inbound: [],
  istioVersion: '',
};

function assignments(): Map<string, Obj> {
  const { resources } = parseConfigText(CONFIG, 'e.yaml');
  const m = MeshModel.build({
    resources,
    meshConfig: DEFAULT_MESH_CONFIG,
    instances: [
      instance('reviews-v2-0', 'v2', 30020, {
        'topology.kubernetes.io/region': 'us',
        'topology.kubernetes.io/zone': 'us-b',
      }),
      instance('reviews-v1-0', 'v1', 30010, {
        'topology.kubernetes.io/region': 'us',
        'topology.kubernetes.io/zone': 'us-a',
      }),
      instance('reviews-v1-1', 'v1', 30011),
    ],
  });
  const out = new Map<string, Obj>();
  for (const { name, resource } of buildEndpoints(node, m)) {
    const decoded = unpackAny(packAny(TypeUrl.ClusterLoadAssignment, resource));
    compileAssignment(decoded);
    out.set(name, decoded);
  }
  return out;
}

const name = (subset: string) => `outbound|9080|${subset}|reviews.default.svc.cluster.local`;
const hosts = (cla: Obj | undefined) =>
  ((cla?.['endpoints'] as Obj[] | undefined) ?? []).flatMap((g) =>
    (g['lb_endpoints'] as Obj[]).map((e) => {
      const s = ((e['endpoint'] as Obj)['address'] as Obj)['socket_address'] as Obj;
      return `${String(s['address'])}:${String(s['port_value'])}`;
    }),
  );

test('one assignment per STATIC service port and subset; DNS services carry theirs inline', () => {
  const a = assignments();
  assert.deepEqual(
    [...a.keys()].sort(),
    [
      'outbound|80||idle.default.svc.cluster.local',
      name(''),
      name('none'),
      name('v1'),
      name('v2'),
    ].sort(),
  );
  // Every EDS cluster gets an assignment, even an empty one, so it does not stay warming.
  assert.deepEqual(a.get('outbound|80||idle.default.svc.cluster.local'), {
    cluster_name: 'outbound|80||idle.default.svc.cluster.local',
  });
  assert.deepEqual(hosts(a.get(name('none'))), []);
});

test("a subset's assignment has only the endpoints whose labels match", () => {
  const a = assignments();
  assert.deepEqual(hosts(a.get(name('v1'))), ['127.0.0.1:30011', '127.0.0.1:30010']);
  assert.deepEqual(hosts(a.get(name('v2'))), ['127.0.0.1:30020']);
  assert.deepEqual(hosts(a.get(name(''))).sort(), [
    '127.0.0.1:30010',
    '127.0.0.1:30011',
    '127.0.0.1:30020',
  ]);
});

test('endpoints are grouped by locality, sorted, with Istio metadata', () => {
  const all = assignments().get(name(''));
  const groups = all?.['endpoints'] as Obj[];
  assert.deepEqual(
    groups.map((g) => g['locality']),
    [{}, { region: 'us', zone: 'us-a' }, { region: 'us', zone: 'us-b' }],
  );
  const [first] = (groups[1]?.['lb_endpoints'] as Obj[]) ?? [];
  assert.deepEqual(first, {
    endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: 30010 } } },
    health_status: 'HEALTHY',
    load_balancing_weight: 1,
    metadata: {
      filter_metadata: {
        istio: { workload: 'reviews-v1;default;reviews;v1;' },
        'envoy.transport_socket_match': { tlsMode: 'istio' },
      },
    },
  });
  const compiled = compileAssignment(all ?? {});
  assert.deepEqual(
    compiled.hosts.map((h) => h.locality),
    ['', 'us/us-a', 'us/us-b'],
  );
});
