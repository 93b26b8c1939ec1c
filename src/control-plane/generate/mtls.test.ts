// Auto mTLS, DestinationRule tls and PeerAuthentication as generated xDS, checked on the wire:
// packed, decoded and compiled by the proxy's own config compilers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileCluster } from '../../proxy/upstream/cluster-config.js';
import { transportSocketFor } from '../../proxy/upstream/cluster-config-tls.js';
import { compileListener } from '../../proxy/listeners/listener-config.js';
import { packAny, unpackAny } from '../../xds/any.js';
import type { ProxyNode } from '../../xds/node.js';
import { TypeUrl } from '../../xds/types.js';
import { DEFAULT_MESH_CONFIG } from '../model/mesh-config.js';
import type { MeshModel } from '../model/mesh-model.js';
import type { WorkloadInstance } from '../registry/instances.js';
import { buildClusters } from './clusters.js';
import { buildEndpoints } from './endpoints.js';
import { buildSidecarListeners } from './listeners.js';
import { modelOf } from './testing.js';

type Obj = Record<string, unknown>;

const instance: WorkloadInstance = {
  name: 'reviews-0',
  namespace: 'default',
  workloadName: 'reviews',
  labels: { app: 'reviews' },
  serviceAccount: 'bookinfo-reviews',
  address: '127.0.0.1',
  ports: [{ containerPort: 9080, name: 'http', listenPort: 31000, appPort: 32000 }],
  ready: true,
};

const BASE = `
apiVersion: v1
kind: Service
metadata: {name: reviews}
spec:
  selector: {app: reviews}
  ports: [{name: http, port: 9080}]
---
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ext}
spec:
  hosts: [api.example.com]
  location: MESH_EXTERNAL
  resolution: DNS
  ports: [{number: 443, name: https, protocol: HTTPS}]
`;

const model = (text: string, meshConfig = DEFAULT_MESH_CONFIG): MeshModel =>
  modelOf(BASE + text, { instances: [instance], meshConfig });

const sidecar: ProxyNode = {
  id: 'sidecar~127.0.0.1~reviews-0.default~default.svc.cluster.local',
  type: 'sidecar',
  name: 'reviews-0',
  namespace: 'default',
  workloadName: 'reviews',
  serviceAccount: 'bookinfo-reviews',
  labels: { app: 'reviews' },
  ip: '127.0.0.1',
  outboundPort: 15001,
  inbound: instance.ports,
  istioVersion: '',
};

function cluster(m: MeshModel, name: string): Obj {
  const found = buildClusters(sidecar, m.forProxy(sidecar)).find((c) => c.name === name);
  assert.ok(found, name);
  const decoded = unpackAny(packAny(TypeUrl.Cluster, found.resource));
  compileCluster(decoded);
  return decoded;
}

function endpointTlsMode(m: MeshModel): unknown {
  const cla = buildEndpoints(sidecar, m.forProxy(sidecar)).find(
    (e) => e.name === 'outbound|9080||reviews.default.svc.cluster.local',
  );
  const ep = ((cla?.resource as Obj)['endpoints'] as Obj[])[0]?.['lb_endpoints'] as Obj[];
  const meta = (ep[0]?.['metadata'] as Obj)['filter_metadata'] as Obj;
  return (meta['envoy.transport_socket_match'] as Obj)['tlsMode'];
}

function inboundChains(m: MeshModel): { name: string; tls: boolean; match: Obj }[] {
  const l = buildSidecarListeners(sidecar, m.forProxy(sidecar)).find(
    (x) => x.name === '127.0.0.1_31000',
  );
  assert.ok(l);
  const decoded = unpackAny(packAny(TypeUrl.Listener, l.resource));
  compileListener(decoded);
  return ((decoded['filter_chains'] as Obj[]) ?? []).map((c) => ({
    name: String(c['name']),
    tls: c['transport_socket'] !== undefined,
    match: (c['filter_chain_match'] as Obj | undefined) ?? {},
  }));
}

const REVIEWS = 'outbound|9080||reviews.default.svc.cluster.local';

test('auto mTLS: ISTIO_MUTUAL for tlsMode istio endpoints, plaintext for the others', () => {
  const c = cluster(model(''), REVIEWS);
  assert.equal(c['transport_socket'], undefined);
  const matches = c['transport_socket_matches'] as Obj[];
  assert.deepEqual(
    matches.map((x) => [x['name'], x['match']]),
    [
      ['tlsMode-istio', { tlsMode: 'istio' }],
      ['tlsMode-disabled', {}],
    ],
  );
  const tls = ((matches[0]?.['transport_socket'] as Obj)['typed_config'] as Obj) ?? {};
  assert.equal(tls['sni'], 'outbound_.9080_._.reviews.default.svc.cluster.local');
  const common = tls['common_tls_context'] as Obj;
  assert.deepEqual(common['alpn_protocols'], ['istio-peer-exchange', 'istio']);
  assert.equal((common['tls_certificate_sds_secret_configs'] as Obj[])[0]?.['name'], 'default');
  const combined = common['combined_validation_context'] as Obj;
  assert.deepEqual((combined['default_validation_context'] as Obj)['match_subject_alt_names'], [
    { exact: 'spiffe://cluster.local/ns/default/sa/bookinfo-reviews' },
  ]);
  assert.equal((combined['validation_context_sds_secret_config'] as Obj)['name'], 'ROOTCA');
  // The proxy picks the transport per endpoint.
  const compiled = compileCluster(c);
  const meta = (tlsMode: string) => ({
    filter_metadata: { 'envoy.transport_socket_match': { tlsMode } },
  });
  assert.ok(transportSocketFor(compiled.transportSocketMatches, undefined, meta('istio')));
  assert.equal(
    transportSocketFor(compiled.transportSocketMatches, undefined, meta('disabled')),
    undefined,
  );
  // No identity: auto mTLS cannot be originated, plaintext instead of a failing handshake.
  assert.equal(
    transportSocketFor(compiled.transportSocketMatches, undefined, meta('istio'), false),
    undefined,
  );
  // Mesh-external services get none.
  const ext = cluster(model(''), 'outbound|443||api.example.com');
  assert.equal(ext['transport_socket_matches'], undefined);
  assert.equal(ext['transport_socket'], undefined);
});

test('auto mTLS off (enableAutoMtls false) or DISABLE at namespace level: plaintext', () => {
  const off = model('', { ...DEFAULT_MESH_CONFIG, enableAutoMtls: false });
  assert.equal(cluster(off, REVIEWS)['transport_socket_matches'], undefined);
  const disabled = model(`
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: default, namespace: default}
spec: {mtls: {mode: DISABLE}}
`);
  assert.equal(cluster(disabled, REVIEWS)['transport_socket_matches'], undefined);
  assert.deepEqual(
    inboundChains(disabled).map((c) => c.tls),
    [false],
  );
});

test('DestinationRule tls: ISTIO_MUTUAL explicit, DISABLE wins over auto mTLS', () => {
  const mutual = cluster(
    model(`
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: ISTIO_MUTUAL, sni: my.sni, subjectAltNames: []}}
`),
    REVIEWS,
  );
  assert.equal(mutual['transport_socket_matches'], undefined);
  const tls = (mutual['transport_socket'] as Obj)['typed_config'] as Obj;
  assert.equal(tls['sni'], 'my.sni');
  // `subjectAltNames: []` is unset: secure naming still checks the destination's identities.
  assert.match(JSON.stringify(tls), /spiffe:\/\/cluster\.local\/ns\/default\/sa\/bookinfo-reviews/);
  const disable = cluster(
    model(`
---
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: reviews
  trafficPolicy: {tls: {mode: DISABLE}}
`),
    REVIEWS,
  );
  assert.equal(disable['transport_socket'], undefined);
  assert.equal(disable['transport_socket_matches'], undefined);
});

test('PeerAuthentication: mesh < namespace < workload < port level, inbound chains follow', () => {
  const pa = (ns: string, name: string, spec: string) => `
---
apiVersion: security.istio.io/v1
kind: PeerAuthentication
metadata: {name: ${name}, namespace: ${ns}}
spec: ${spec}
`;
  // Default PERMISSIVE: mTLS chain on Istio's ALPNs and a plaintext chain, one port.
  const permissive = inboundChains(model(''));
  assert.deepEqual(
    permissive.map((c) => [c.tls, c.match['transport_protocol']]),
    [
      [true, 'tls'],
      [false, 'raw_buffer'],
    ],
  );
  assert.ok((permissive[0]?.match['application_protocols'] as string[]).includes('istio'));
  const strictMesh = model(pa('istio-system', 'default', '{mtls: {mode: STRICT}}'));
  assert.deepEqual(
    inboundChains(strictMesh).map((c) => c.tls),
    [true],
  );
  const nsOverrides = model(
    pa('istio-system', 'default', '{mtls: {mode: STRICT}}') +
      pa('default', 'default', '{mtls: {mode: DISABLE}}'),
  );
  assert.deepEqual(
    inboundChains(nsOverrides).map((c) => c.tls),
    [false],
  );
  // EDS: an endpoint whose own policy is DISABLE loses tlsMode istio (Istio's mtlsChecker).
  assert.equal(endpointTlsMode(nsOverrides), 'disabled');
  assert.equal(endpointTlsMode(strictMesh), 'istio');
  const workload = model(
    pa('default', 'default', '{mtls: {mode: DISABLE}}') +
      pa('default', 'reviews', '{selector: {matchLabels: {app: reviews}}, mtls: {mode: STRICT}}'),
  );
  assert.deepEqual(
    inboundChains(workload).map((c) => c.tls),
    [true],
  );
  const port = model(
    pa(
      'default',
      'reviews',
      "{selector: {matchLabels: {app: reviews}}, mtls: {mode: STRICT}, portLevelMtls: {'9080': {mode: DISABLE}}}",
    ),
  );
  assert.deepEqual(
    inboundChains(port).map((c) => c.tls),
    [false],
  );
  // EDS: the endpoint's own DISABLE takes it out of auto mTLS.
  assert.equal(endpointTlsMode(port), 'disabled');
  // UNSET inherits; among equals the first by name wins (istiod: the oldest).
  const unset = model(
    pa('istio-system', 'default', '{mtls: {mode: STRICT}}') +
      pa('default', 'a', '{mtls: {mode: UNSET}}') +
      pa('default', 'b', '{mtls: {mode: DISABLE}}'),
  );
  assert.deepEqual(
    inboundChains(unset).map((c) => c.tls),
    [true],
  );
});
