// Registry and scoping end to end through real sidecars: ServiceEntry (locations, resolutions,
// endpoints, workloadSelector, ports, exportTo, wildcard hosts) against servers on loopback,
// Istio's mesh config (--mesh-config and the `istio` ConfigMap, followed live), BlackHole and
// Passthrough, an egress gateway route, the Sidecar resource (egress hosts, workloadSelector,
// ingress, outboundTrafficPolicy), DestinationRule workloadSelector and exportTo, VirtualService
// wildcard hosts, exportTo and several VirtualServices for one host.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runValidate } from '../src/cli/validate.js';
import type { Mesh } from '../src/launcher/mesh.js';
import { startMesh } from '../src/launcher/mesh.js';
import { nodeId } from '../src/xds/node.js';
import {
  IDLE_APP,
  SKIFF,
  VERSION_SERVER,
  closeAgent,
  eventually,
  getJson,
  synced,
  tempTree,
  viaProxy,
} from './support/skiff.js';

type Obj = Record<string, unknown>;

/** A server outside the mesh: says who it is, the Host it got and any x-forwarded-for. */
function externalServer(name: string): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(`${name} host=${req.headers.host} xff=${req.headers['x-forwarded-for'] ?? ''}`);
  });
  server.keepAliveTimeout = 60_000;
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const portOf = (s: http.Server) => (s.address() as AddressInfo).port;

/** The echo app: its PORT for readiness, and INGRESS_PORT, where its Sidecar's ingress sends. */
const ECHO_APP = `
import http from 'node:http';
const answer = (text) => (req, res) => res.end(text);
const a = http.createServer(answer('echo-port ' + process.env.SKIFF_INSTANCE)).listen(Number(process.env.PORT), '127.0.0.1');
const b = http.createServer(answer('echo-ingress ' + process.env.SKIFF_INSTANCE)).listen(Number(process.env.INGRESS_PORT), '127.0.0.1');
process.on('SIGTERM', () => { a.close(); b.close(); process.exit(0); });
`;

const workload = (o: {
  name: string;
  ns: string;
  labels: string;
  app: string;
  port?: number;
  env?: string;
}) => `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: { name: ${o.name}, namespace: ${o.ns}, labels: { ${o.labels} } }
spec:
  command: [node, ${o.app}]
  env: { VERSION: ${o.name}${o.env ? `, ${o.env}` : ''} }
  ${o.port ? `ports: [{ name: http, containerPort: ${o.port} }]` : ''}
`;

function meshYaml(ingressPort: number): string {
  return [
    workload({ name: 'client', ns: 'default', labels: 'app: client', app: 'idle.mjs' }),
    workload({
      name: 'legacy',
      ns: 'default',
      labels: 'app: legacy',
      app: 'server.mjs',
      port: 9080,
    }),
    workload({ name: 'opener', ns: 'open', labels: 'app: opener', app: 'idle.mjs' }),
    workload({ name: 'scoped', ns: 'restricted', labels: 'app: scoped', app: 'idle.mjs' }),
    workload({
      name: 'echo',
      ns: 'restricted',
      labels: 'app: echo',
      app: 'echo.mjs',
      port: 9080,
      env: `INGRESS_PORT: "${ingressPort}"`,
    }),
    `
apiVersion: v1
kind: Service
metadata: { name: echo, namespace: restricted }
spec:
  selector: { app: echo }
  ports: [{ name: http, port: 9080 }]
`,
  ].join('\n---\n');
}

/** ServiceEntries: ext1 and ext2 are the two servers outside the mesh. */
function entriesYaml(p1: number, p2: number): string {
  const se = (name: string, ns: string, body: string) => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: ${name}, namespace: ${ns} }
spec:
${body}`;
  const http80 = `  ports: [{ number: 80, name: http, protocol: HTTP }]`;
  const twoVersions = (loc1: string, loc2: string, w2: number) => `  endpoints:
    - { address: 127.0.0.1, ports: { http: ${p1} }, labels: { version: v1 }, locality: ${loc1}, weight: 1 }
    - { address: 127.0.0.1, ports: { http: ${p2} }, labels: { version: v2 }, locality: ${loc2}, weight: ${w2} }`;
  return [
    se(
      'api',
      'default',
      `  hosts: [api.example.test]\n  location: MESH_EXTERNAL\n  resolution: STATIC\n${http80}\n${twoVersions('us-east/zone-a', 'us-west/zone-b', 3)}`,
    ),
    se(
      'weighted',
      'default',
      `  hosts: [weighted.example.test]\n  resolution: STATIC\n${http80}\n${twoVersions('eu/z', 'eu/z', 3)}`,
    ),
    se(
      'root-se',
      'default',
      `  hosts: [root.example.test]\n  resolution: STATIC\n${http80}\n${twoVersions('eu/z', 'eu/z', 1)}`,
    ),
    se(
      'dns',
      'default',
      `  hosts: [dns.example.test]\n  resolution: DNS\n${http80}\n  endpoints: [{ address: localhost, ports: { http: ${p1} } }]`,
    ),
    se(
      'rr',
      'default',
      `  hosts: [rr.example.test]\n  resolution: DNS_ROUND_ROBIN\n${http80}\n  endpoints: [{ address: localhost, ports: { http: ${p2} } }]`,
    ),
    se(
      'localhost',
      'default',
      `  hosts: [localhost]\n  resolution: DNS\n  ports: [{ number: ${p1}, name: http, protocol: HTTP }]`,
    ),
    se(
      'passthrough',
      'default',
      `  hosts: [pass.example.test]\n  addresses: [127.0.0.1]\n  resolution: NONE\n  ports: [{ number: ${p2}, name: http, protocol: HTTP }]`,
    ),
    se(
      'wild',
      'default',
      `  hosts: ["*.wild.test"]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p1} } }]`,
    ),
    se(
      'vs-wild',
      'default',
      `  hosts: ["*.vs.test"]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p1} } }]`,
    ),
    se(
      'dup',
      'default',
      `  hosts: [dup.example.test]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p1} } }]`,
    ),
    se(
      'egress',
      'default',
      `  hosts: [egress.example.test]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p1} } }]`,
    ),
    // The Service-like entry of a workload: its Workload instances and a WorkloadEntry, on targetPort.
    se(
      'legacy',
      'default',
      `  hosts: [legacy.internal]\n  location: MESH_INTERNAL\n  resolution: STATIC\n  ports: [{ number: 80, name: http, protocol: HTTP, targetPort: 9080 }]\n  workloadSelector: { labels: { app: legacy } }`,
    ),
    `
apiVersion: networking.istio.io/v1
kind: WorkloadEntry
metadata: { name: legacy-vm, namespace: default }
spec:
  address: 127.0.0.1
  labels: { app: legacy }
  ports: { http: ${p1} }
`,
    se(
      'private',
      'open',
      `  hosts: [private.example.test]\n  exportTo: ["."]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p1} } }]`,
    ),
    se(
      'open',
      'open',
      `  hosts: [open.example.test]\n  resolution: STATIC\n${http80}\n  endpoints: [{ address: 127.0.0.1, ports: { http: ${p2} } }]`,
    ),
    se(
      'exp',
      'open',
      `  hosts: [exp.example.test]\n  resolution: STATIC\n${http80}\n${twoVersions('eu/z', 'eu/z', 1)}`,
    ),
  ].join('\n---\n');
}

const RULES = `
# DestinationRule workloadSelector: the client's proxy pins api to v2, every other proxy to v1.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api, namespace: default }
spec:
  host: api.example.test
  subsets: [{ name: pinned, labels: { version: v1 } }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: api-for-client, namespace: default }
spec:
  host: api.example.test
  workloadSelector: { matchLabels: { app: client } }
  subsets: [{ name: pinned, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: api-pinned, namespace: default }
spec:
  hosts: [api.example.test]
  http: [{ route: [{ destination: { host: api.example.test, subset: pinned } }] }]
---
# The root namespace (mesh-root, from the mesh config) holds mesh-wide DestinationRules.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: root, namespace: mesh-root }
spec:
  host: root.example.test
  subsets: [{ name: r, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: root-vs, namespace: default }
spec:
  hosts: [root.example.test]
  http: [{ route: [{ destination: { host: root.example.test, subset: r } }] }]
---
# DestinationRule exportTo: only proxies of namespace open have the subset.
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: exp, namespace: open }
spec:
  host: exp.example.test
  exportTo: ["."]
  subsets: [{ name: s, labels: { version: v2 } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: exp, namespace: open }
spec:
  hosts: [exp.example.test]
  http: [{ route: [{ destination: { host: exp.example.test, subset: s } }] }]
---
# VirtualService exportTo: only proxies of namespace open see this one.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: open-private, namespace: open }
spec:
  hosts: [open.example.test]
  exportTo: ["."]
  http: [{ directResponse: { status: 298, body: { string: open-private } } }]
---
# A wildcard VirtualService host governs the services under it.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: wild-vs, namespace: default }
spec:
  hosts: ["*.vs.test"]
  http:
    - match: [{ uri: { prefix: /vs } }]
      directResponse: { status: 299, body: { string: wild } }
---
# Two VirtualServices for one host: sidecars take the first.
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: dup-a, namespace: default }
spec:
  hosts: [dup.example.test]
  http: [{ directResponse: { status: 281, body: { string: a } } }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: dup-b, namespace: default }
spec:
  hosts: [dup.example.test]
  http: [{ directResponse: { status: 282, body: { string: b } } }]
---
# Sidecars (namespace open's is in its own file): restricted imports little and blocks the rest;
# echo (selected) keeps everything and gets an ingress listener to another port.
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: restrict, namespace: restricted }
spec:
  egress:
    - hosts: ["./*", "*/api.example.test", "open/*", "~open/open.example.test"]
  outboundTrafficPolicy: { mode: REGISTRY_ONLY }
---
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: echo-ingress, namespace: restricted }
spec:
  workloadSelector: { labels: { app: echo } }
  ingress:
    - port: { number: 9080, protocol: HTTP, name: http }
      defaultEndpoint: 127.0.0.1:INGRESS_PORT
      captureMode: NONE
---
# Istio's egress gateway task: mesh → egress gateway → the external host.
apiVersion: networking.istio.io/v1
kind: Gateway
metadata: { name: istio-egressgateway, namespace: default }
spec:
  selector: { istio: egressgateway }
  servers: [{ port: { number: 80, name: http, protocol: HTTP }, hosts: [egress.example.test] }]
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: { name: egressgateway-for-ext, namespace: default }
spec:
  host: istio-egressgateway.istio-system.svc.cluster.local
  subsets: [{ name: ext }]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: direct-ext-through-egress-gateway, namespace: default }
spec:
  hosts: [egress.example.test]
  gateways: [istio-egressgateway, mesh]
  http:
    - match: [{ gateways: [mesh], port: 80 }]
      route:
        - destination: { host: istio-egressgateway.istio-system.svc.cluster.local, subset: ext, port: { number: 80 } }
    - match: [{ gateways: [istio-egressgateway], port: 80 }]
      route: [{ destination: { host: egress.example.test, port: { number: 80 } } }]
`;

// Namespace open's Sidecar: import every host or none, and let unknown hosts through.
const openSidecar = (hosts: string) => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: { name: default, namespace: open }
spec:
  egress: [{ hosts: ["${hosts}"] }]
  outboundTrafficPolicy: { mode: ALLOW_ANY }
`;

const MESH_CONFIG = `
# What istiod reads from /etc/istio/config/mesh.
rootNamespace: mesh-root
trustDomain: example.org
outboundTrafficPolicy: { mode: REGISTRY_ONLY }
`;

const ALLOW_ANY_CONFIGMAP = `
apiVersion: v1
kind: ConfigMap
metadata: { name: istio, namespace: istio-system }
data:
  mesh: |
    outboundTrafficPolicy:
      mode: ALLOW_ANY
`;

describe('registry and scoping through real sidecars', { timeout: 400_000 }, () => {
  let dir: string;
  let mesh: Mesh;
  let ext1: http.Server;
  let ext2: http.Server;
  const outbound: Record<string, number> = {};
  const from = (who: string, url: string) => viaProxy(outbound[who]!, url);
  const cp = () => `http://${mesh.record.controlPlane.httpAddress}`;
  const proxyId = (workload: string, ns: string) =>
    nodeId({ type: 'sidecar', ip: '127.0.0.1', name: `${workload}-0`, namespace: ns });
  const dump = (name: string, ns: string) =>
    getJson<Record<string, Obj[]>>(
      `${cp()}/debug/config_dump?proxyID=${encodeURIComponent(proxyId(name, ns))}`,
    );
  const clusters = async (name: string, ns: string) =>
    Object.entries(await dump(name, ns))
      .filter(([t]) => t.endsWith('.Cluster'))
      .flatMap(([, list]) => list as Obj[]);

  before(async () => {
    ext1 = await externalServer('ext1');
    ext2 = await externalServer('ext2');
    const p1 = portOf(ext1);
    const p2 = portOf(ext2);
    // The echo app's second port, where its Sidecar's ingress sends traffic.
    const spare = await externalServer('spare');
    const ingressPort = portOf(spare);
    await new Promise((r) => spare.close(r));
    dir = tempTree('skiff-registry-', {
      'mesh.yaml': meshYaml(ingressPort),
      'entries.yaml': entriesYaml(p1, p2),
      'rules.yaml': RULES.replace('INGRESS_PORT', String(ingressPort)),
      'open-sidecar.yaml': openSidecar('*/*'),
      // Not config (no .yaml): the file given to --mesh-config, as istiod's mesh file.
      meshconfig: MESH_CONFIG,
      'server.mjs': VERSION_SERVER,
      'echo.mjs': ECHO_APP,
      'idle.mjs': IDLE_APP,
    });
    mesh = await startMesh({
      dir: '.',
      cwd: dir,
      skiffCommand: SKIFF,
      ingressPort: 0,
      meshConfigFile: 'meshconfig',
      startTimeoutMs: 180_000,
    }).catch((e: Error & { lines?: string[] }) => {
      throw new Error(`${e.message}\n${(e.lines ?? []).join('\n')}`);
    });
    for (const i of mesh.record.instances) outbound[i.workloadName] = i.outboundPort;
    // Five sidecars, the ingress and the egress gateway.
    await eventually(
      'all proxies synced',
      async () => synced(await getJson(`${cp()}/debug/syncz`), 7),
      120_000,
    );
  });

  after(async () => {
    closeAgent();
    await mesh?.stop();
    ext1?.close();
    ext2?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('ServiceEntry STATIC: an external host reaches its endpoints through the sidecar', async () => {
    // The proxy of namespace restricted has no workload-selected DestinationRule: subset v1.
    const r = await from('scoped', 'http://api.example.test/');
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^ext1 host=api\.example\.test xff=$/);
  });

  test('ServiceEntry endpoints: weights, labels (subsets) and locality reach the proxy', async () => {
    const counts = { ext1: 0, ext2: 0 };
    for (let i = 0; i < 400; i++) {
      const r = await from('client', 'http://weighted.example.test/');
      assert.equal(r.status, 200, r.body);
      counts[r.body.split(' ')[0] as 'ext1' | 'ext2']++;
    }
    const share = counts.ext2 / 400;
    assert.ok(Math.abs(share - 0.75) <= 0.08, `weight 3 of 4 got ${JSON.stringify(counts)}`);
    const eds = Object.entries(await dump('client', 'default'))
      .filter(([t]) => t.endsWith('ClusterLoadAssignment'))
      .flatMap(([, l]) => l as Obj[])
      .find((a) => a['cluster_name'] === 'outbound|80||api.example.test');
    const localities = (eds?.['endpoints'] as Obj[]).map((e) => e['locality']);
    assert.deepEqual(localities, [
      { region: 'us-east', zone: 'zone-a' },
      { region: 'us-west', zone: 'zone-b' },
    ]);
  });

  test('ServiceEntry DNS and DNS_ROUND_ROBIN: endpoint addresses and hosts resolved', async () => {
    assert.match((await from('client', 'http://dns.example.test/')).body, /^ext1 /);
    assert.match((await from('client', 'http://rr.example.test/')).body, /^ext2 /);
    // A host resolved itself: `localhost`, under REGISTRY_ONLY, so through the registry.
    const r = await from('client', `http://localhost:${portOf(ext1)}/`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^ext1 host=localhost:/);
    const types = Object.fromEntries(
      (await clusters('client', 'default')).map((c) => [c['name'], c['type']]),
    );
    assert.equal(types['outbound|80||dns.example.test'], 'STRICT_DNS');
    assert.equal(types['outbound|80||rr.example.test'], 'LOGICAL_DNS');
    assert.equal(types['outbound|80||api.example.test'], 'EDS');
    assert.equal(types[`outbound|${portOf(ext2)}||pass.example.test`], 'ORIGINAL_DST');
  });

  test('ServiceEntry NONE passes through to the requested address; REGISTRY_ONLY blocks others', async () => {
    const ok = await from('client', `http://127.0.0.1:${portOf(ext2)}/`);
    assert.equal(ok.status, 200, ok.body);
    assert.match(ok.body, /^ext2 /);
    const blocked = await from('client', `http://127.0.0.1:${portOf(ext1)}/`);
    assert.equal(blocked.status, 502, 'BlackHole: no ServiceEntry for this address');
  });

  test('ServiceEntry wildcard hosts; a wildcard VirtualService host governs them', async () => {
    for (const h of ['a.wild.test', 'b.c.wild.test']) {
      const r = await from('client', `http://${h}/`);
      assert.equal(r.status, 200, r.body);
      assert.equal(r.body, `ext1 host=${h} xff=`);
    }
    const wild = await from('client', 'http://x.vs.test/vs/1');
    assert.equal(wild.status, 299);
    assert.equal(wild.body, 'wild');
    // The VirtualService owns the host: paths it does not match have no route.
    assert.equal((await from('client', 'http://x.vs.test/other')).status, 404);
  });

  test('ServiceEntry workloadSelector: Workload instances and WorkloadEntries on targetPort; MESH_INTERNAL', async () => {
    const seen = new Set<string>();
    await eventually('both endpoints of legacy.internal answer', async () => {
      const r = await from('client', 'http://legacy.internal/');
      assert.equal(r.status, 200, r.body);
      seen.add(r.body.split(' ')[0] ?? '');
      return seen.has('legacy') && seen.has('ext1');
    });
    const eds = Object.entries(await dump('client', 'default'))
      .filter(([t]) => t.endsWith('ClusterLoadAssignment'))
      .flatMap(([, l]) => l as Obj[]);
    const tlsModes = (cluster: string) =>
      (eds.find((a) => a['cluster_name'] === cluster)?.['endpoints'] as Obj[])
        .flatMap((e) => e['lb_endpoints'] as Obj[])
        .map(
          (e) => ((e['metadata'] as Obj)['filter_metadata'] as Obj)['envoy.transport_socket_match'],
        )
        .map((m) => (m as Obj)['tlsMode']);
    // A workload behind a sidecar in the mesh is mTLS capable (later); external hosts are not.
    assert.deepEqual(tlsModes('outbound|80||legacy.internal').sort(), ['disabled', 'istio']);
    assert.deepEqual(tlsModes('outbound|80||api.example.test'), ['disabled', 'disabled']);
  });

  test('exportTo: ServiceEntry, VirtualService and DestinationRule visible only where exported', async () => {
    // ServiceEntry exported to its namespace only.
    assert.match((await from('opener', 'http://private.example.test/')).body, /^ext1 /);
    assert.equal((await from('client', 'http://private.example.test/')).status, 502);
    // VirtualService exported to its namespace only.
    const own = await from('opener', 'http://open.example.test/');
    assert.equal(own.status, 298);
    assert.match((await from('client', 'http://open.example.test/')).body, /^ext2 /);
    // DestinationRule exported to its namespace only: elsewhere the subset does not exist.
    assert.match((await from('opener', 'http://exp.example.test/')).body, /^ext2 /);
    assert.equal((await from('client', 'http://exp.example.test/')).status, 503);
    const names = (await clusters('client', 'default')).map((c) => c['name']);
    assert.ok(!names.includes('outbound|80|s|exp.example.test'));
    assert.ok(names.includes('outbound|80||exp.example.test'));
  });

  test('DestinationRule workloadSelector applies only to the selected proxies', async () => {
    for (let i = 0; i < 5; i++) {
      assert.match((await from('client', 'http://api.example.test/')).body, /^ext2 /);
      assert.match((await from('legacy', 'http://api.example.test/')).body, /^ext1 /);
    }
  });

  test("mesh config: the root namespace's DestinationRules apply mesh-wide", async () => {
    assert.match((await from('client', 'http://root.example.test/')).body, /^ext2 /);
    const meshConfig = await getJson<{ trustDomain: string; rootNamespace: string }>(
      `${cp()}/debug/mesh`,
    );
    assert.equal(meshConfig.trustDomain, 'example.org');
    assert.equal(meshConfig.rootNamespace, 'mesh-root');
  });

  test('Sidecar egress hosts: the proxy gets only what it imports', async () => {
    // ./*, */api.example.test, open/* but not open/open.example.test.
    assert.match((await from('scoped', 'http://echo.restricted:9080/')).body, /^echo-/);
    assert.match((await from('scoped', 'http://api.example.test/')).body, /^ext1 /);
    assert.equal((await from('scoped', 'http://dns.example.test/')).status, 502);
    assert.equal((await from('scoped', 'http://open.example.test/')).status, 502);
    const names = (await clusters('scoped', 'restricted')).map((c) => String(c['name']));
    const outboundNames = names.filter((n) => n.startsWith('outbound|')).sort();
    assert.deepEqual(outboundNames, [
      'outbound|80|pinned|api.example.test',
      // (exp's subset comes from a DestinationRule exported to its own namespace only.)
      'outbound|80||api.example.test',
      'outbound|80||exp.example.test',
      'outbound|9080||echo.restricted.svc.cluster.local',
    ]);
    // The unscoped proxy of the same namespace (another Sidecar selects it) sees it all.
    assert.match((await from('echo', 'http://dns.example.test/')).body, /^ext1 /);
    assert.ok((await clusters('echo', 'restricted')).length > names.length + 10);
  });

  test('Sidecar egress hosts ~/* imports nothing; */* everything', async () => {
    const file = path.join(dir, 'open-sidecar.yaml');
    const outboundClusters = async () =>
      (await clusters('opener', 'open')).filter((c) => String(c['name']).startsWith('outbound|'));
    assert.ok((await outboundClusters()).length > 10);
    writeFileSync(file, openSidecar('~/*'));
    await eventually(
      'the opener imports nothing',
      async () => (await outboundClusters()).length === 0,
    );
    // Nothing is known: private.example.test now passes through to its name (which no DNS has).
    await eventually(
      'private.example.test no longer routed',
      async () => (await from('opener', 'http://private.example.test/')).status !== 200,
    );
    writeFileSync(file, openSidecar('*/*'));
    await eventually('back to everything', async () =>
      /^ext1 /.test((await from('opener', 'http://private.example.test/')).body),
    );
  });

  test('Sidecar ingress: the inbound listener sends to its defaultEndpoint', async () => {
    const r = await from('client', 'http://echo.restricted:9080/');
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^echo-ingress echo-0$/);
  });

  test('Sidecar outboundTrafficPolicy: ALLOW_ANY in one namespace, the mesh REGISTRY_ONLY elsewhere', async () => {
    const r = await from('opener', `http://127.0.0.1:${portOf(ext1)}/`);
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /^ext1 /);
    assert.equal((await from('client', `http://127.0.0.1:${portOf(ext1)}/`)).status, 502);
  });

  test('an egress gateway route: mesh → istio-egressgateway → the external host', async () => {
    const egress = mesh.record.egressGateway;
    assert.ok(egress, 'the egress gateway runs');
    // Its server port 80 is served on a free host port, not for people to browse.
    assert.equal(egress.ports[0]?.port, 80);
    assert.ok((egress.ports[0]?.hostPort ?? 0) >= 20000);
    const r = await from('client', 'http://egress.example.test/');
    assert.equal(r.status, 200, r.body);
    // Only the gateway (use_remote_address) adds x-forwarded-for: the request went through it.
    assert.equal(r.body, 'ext1 host=egress.example.test xff=127.0.0.1');
  });

  test('several VirtualServices for one host: the first wins, the others are reported', async () => {
    const r = await from('client', 'http://dup.example.test/');
    assert.equal(r.status, 281);
    assert.equal(r.body, 'a');
    const expected =
      /rules\.yaml:\d+: VirtualService default\/dup-b: spec\.hosts\[0\]: warning: ignored for host dup\.example\.test: VirtualService default\/dup-a already routes it/;
    assert.ok(
      mesh.warnings.some((w) => expected.test(w)),
      mesh.warnings.join('\n'),
    );
    const lines: string[] = [];
    const code = await runValidate([dir], {
      log: (l) => lines.push(l),
      error: (l) => lines.push(l),
    });
    assert.equal(code, 0, lines.join('\n'));
    assert.ok(
      lines.some((l) => expected.test(l)),
      lines.join('\n'),
    );
    // An apply adding a third one for the host is told so, and changes nothing.
    const res = await fetch(`${cp()}/api/v1/apply`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        files: [
          {
            name: 'dup-c.yaml',
            text: `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: { name: dup-c, namespace: default }
spec:
  hosts: [dup.example.test]
  http: [{ directResponse: { status: 283 } }]
`,
          },
        ],
      }),
    });
    const body = (await res.json()) as { warnings: string[] };
    assert.ok(
      body.warnings.some((w) =>
        /^dup-c\.yaml:1: VirtualService default\/dup-c: spec\.hosts\[0\]: warning: ignored for host dup\.example\.test: VirtualService default\/dup-a/.test(
          w,
        ),
      ),
      body.warnings.join('\n'),
    );
    assert.equal((await from('client', 'http://dup.example.test/')).status, 281);
  });

  test("mesh config: the istio ConfigMap overrides --mesh-config's, live", async () => {
    const file = path.join(dir, 'mesh-configmap.yaml');
    const target = `http://127.0.0.1:${portOf(ext1)}/`;
    writeFileSync(file, ALLOW_ANY_CONFIGMAP);
    await eventually(
      'ALLOW_ANY in force',
      async () => (await from('client', target)).status === 200,
    );
    assert.match((await from('client', target)).body, /^ext1 /);
    // Restricted's Sidecar keeps its own REGISTRY_ONLY.
    assert.equal((await from('scoped', target)).status, 502);
    rmSync(file);
    await eventually(
      'back to REGISTRY_ONLY',
      async () => (await from('client', target)).status === 502,
    );
  });
});
