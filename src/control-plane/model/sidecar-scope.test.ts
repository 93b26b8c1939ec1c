import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import { DEFAULT_MESH_CONFIG } from './mesh-config.js';
import { MeshModel } from './mesh-model.js';
import { egressFor, parseEgressHosts } from './sidecar-scope.js';

function build(text: string): MeshModel {
  const { resources, problems } = parseConfigText(text, 'scope.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  return MeshModel.build({ resources, instances: [], meshConfig: DEFAULT_MESH_CONFIG });
}

const svc = (name: string, ns: string, ports = '[{name: http, port: 80}]') => `
apiVersion: v1
kind: Service
metadata: {name: ${name}, namespace: ${ns}}
spec: {selector: {app: ${name}}, ports: ${ports}}
---`;

const se = (name: string, ns: string, host: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: ["${host}"]
  ports: [{number: 80, name: http, protocol: HTTP}]
${extra}
---`;

const sidecar = (name: string, ns: string, body: string) => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ${name}, namespace: ${ns}}
spec:
${body}
---`;

const MESH = [
  svc('reviews', 'shop', '[{name: http, port: 9080}, {name: http-admin, port: 9090}]'),
  svc('cart', 'shop'),
  svc('ratings', 'other'),
  svc('db', 'other'),
  svc('metrics', 'istio-system'),
  se('api', 'ext', 'api.example.com'),
  se('wild', 'ext', '*.wild.com'),
  se('hidden', 'ext', 'hidden.example.com', '  exportTo: ["."]'),
].join('');

const hostsOf = (m: MeshModel, proxy: { namespace: string; labels?: Record<string, string> }) =>
  [...m.sidecarScopeFor({ labels: {}, ...proxy }).services.keys()].sort();

describe('Sidecar egress hosts', () => {
  test('without a Sidecar a proxy imports every service exported to its namespace', () => {
    const m = build(MESH);
    assert.deepEqual(hostsOf(m, { namespace: 'shop' }), [
      '*.wild.com',
      'api.example.com',
      'cart.shop.svc.cluster.local',
      'db.other.svc.cluster.local',
      'metrics.istio-system.svc.cluster.local',
      'ratings.other.svc.cluster.local',
      'reviews.shop.svc.cluster.local',
    ]);
    assert.equal(m.sidecarScopeFor({ namespace: 'shop', labels: {} }).name, 'default');
  });

  test('./*, ns/host, */host, ns/* and wildcard hosts', () => {
    const m = build(
      MESH +
        sidecar(
          'default',
          'shop',
          '  egress: [{hosts: ["./*", "other/ratings.other.svc.cluster.local", "*/api.example.com", "istio-system/*", "ext/a.wild.com"]}]',
        ),
    );
    assert.deepEqual(hostsOf(m, { namespace: 'shop' }), [
      'api.example.com',
      'cart.shop.svc.cluster.local',
      'metrics.istio-system.svc.cluster.local',
      'ratings.other.svc.cluster.local',
      'reviews.shop.svc.cluster.local',
    ]);
  });

  test('an imported wildcard takes the services under it, a wider one the narrower wildcard', () => {
    const m = build(MESH + sidecar('default', 'shop', '  egress: [{hosts: ["*/*.com"]}]'));
    assert.deepEqual(hostsOf(m, { namespace: 'shop' }), ['*.wild.com', 'api.example.com']);
  });

  test('~ excludes: ~/* imports nothing, ~ns/host drops one host', () => {
    const none = build(MESH + sidecar('default', 'shop', '  egress: [{hosts: ["~/*"]}]'));
    assert.deepEqual(hostsOf(none, { namespace: 'shop' }), []);
    const m = build(
      MESH +
        sidecar(
          'default',
          'shop',
          '  egress: [{hosts: ["*/*", "~other/db.other.svc.cluster.local", "~*/*.wild.com"]}]',
        ),
    );
    const hosts = hostsOf(m, { namespace: 'shop' });
    assert.ok(!hosts.includes('db.other.svc.cluster.local'));
    assert.ok(!hosts.includes('*.wild.com'));
    assert.ok(hosts.includes('ratings.other.svc.cluster.local'));
  });

  test('exportTo still applies: a Sidecar cannot import what is not exported to it', () => {
    const m = build(MESH + sidecar('default', 'shop', '  egress: [{hosts: ["ext/*"]}]'));
    assert.deepEqual(hostsOf(m, { namespace: 'shop' }), ['*.wild.com', 'api.example.com']);
    assert.deepEqual(hostsOf(m, { namespace: 'ext' }).includes('hidden.example.com'), true);
  });

  test('a listener with a port trims services to that port; the catch-all governs the rest', () => {
    const m = build(
      MESH +
        sidecar(
          'default',
          'shop',
          `  egress:
  - port: {number: 9090, protocol: HTTP, name: admin}
    hosts: ["./*"]
  - hosts: ["*/api.example.com"]`,
        ),
    );
    const scope = m.sidecarScopeFor({ namespace: 'shop', labels: {} });
    assert.deepEqual(
      [...scope.services.values()]
        .map((s) => `${s.hostname}:${s.ports.map((p) => p.port).join(',')}`)
        .sort(),
      ['api.example.com:80', 'reviews.shop.svc.cluster.local:9090'],
    );
    assert.equal(egressFor(scope, 9090)?.port, 9090);
    assert.equal(egressFor(scope, 80)?.port, undefined);
  });

  test('the services routed to by imported VirtualServices come along, trimmed to their ports', () => {
    const m = build(
      MESH +
        `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: cart, namespace: shop}
spec:
  hosts: [cart]
  http: [{route: [{destination: {host: reviews, port: {number: 9080}}}]}]
---` +
        sidecar('default', 'shop', '  egress: [{hosts: ["./cart.shop.svc.cluster.local"]}]'),
    );
    const scope = m.sidecarScopeFor({ namespace: 'shop', labels: {} });
    assert.deepEqual(
      scope.virtualServices.map((v) => v.resource.metadata.name),
      ['cart'],
    );
    assert.deepEqual(
      [...scope.services.values()].map(
        (s) => `${s.hostname}:${s.ports.map((p) => p.port).join(',')}`,
      ),
      ['cart.shop.svc.cluster.local:80', 'reviews.shop.svc.cluster.local:9080'],
    );
  });
});

describe('which Sidecar applies to a proxy', () => {
  const m = build(
    MESH +
      sidecar('ns-wide', 'shop', '  egress: [{hosts: ["./*"]}]') +
      sidecar('second', 'shop', '  egress: [{hosts: ["*/*"]}]') +
      sidecar(
        'for-cart',
        'shop',
        '  workloadSelector: {labels: {app: cart}}\n  egress: [{hosts: ["istio-system/*"]}]',
      ) +
      sidecar('mesh-wide', 'istio-system', '  egress: [{hosts: ["istio-system/*", "./*"]}]'),
  );

  test('selector match first, then the namespace one (the first), then the root namespace one', () => {
    const name = (ns: string, labels: Record<string, string> = {}) =>
      m.sidecarScopeFor({ namespace: ns, labels }).name;
    assert.equal(name('shop', { app: 'cart' }), 'shop/for-cart');
    assert.equal(name('shop', { app: 'reviews' }), 'shop/ns-wide');
    assert.equal(name('other'), 'istio-system/mesh-wide');
    // The root namespace's Sidecar imports `./*` of the proxy's own namespace.
    assert.deepEqual(hostsOf(m, { namespace: 'other' }), [
      'db.other.svc.cluster.local',
      'metrics.istio-system.svc.cluster.local',
      'ratings.other.svc.cluster.local',
    ]);
  });
});

describe('outbound traffic policy and ingress', () => {
  test("a Sidecar's policy replaces the mesh's; egressProxy with ALLOW_ANY", () => {
    const m = build(
      MESH +
        sidecar('default', 'shop', '  outboundTrafficPolicy: {mode: REGISTRY_ONLY}') +
        sidecar(
          'default',
          'other',
          '  outboundTrafficPolicy:\n    mode: ALLOW_ANY\n    egressProxy: {host: api.example.com, port: {number: 80}}',
        ),
    );
    assert.equal(
      m.sidecarScopeFor({ namespace: 'shop', labels: {} }).outboundTrafficPolicy.mode,
      'REGISTRY_ONLY',
    );
    assert.deepEqual(m.sidecarScopeFor({ namespace: 'other', labels: {} }).outboundTrafficPolicy, {
      mode: 'ALLOW_ANY',
      egressProxy: { host: 'api.example.com', subset: '', port: 80 },
    });
    assert.equal(
      m.sidecarScopeFor({ namespace: 'ext', labels: {} }).outboundTrafficPolicy.mode,
      'ALLOW_ANY',
    );
    // The view of a proxy carries its Sidecar's mode in its mesh config.
    const view = m.forProxy({ type: 'sidecar', namespace: 'shop', labels: {} });
    assert.equal(view.meshConfig.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
  });

  test('ingress listeners are read with their default endpoint and capture mode', () => {
    const m = build(
      MESH +
        sidecar(
          'default',
          'shop',
          '  ingress: [{port: {number: 9080, protocol: HTTP, name: http}, defaultEndpoint: "127.0.0.1:8080", captureMode: NONE}]',
        ),
    );
    assert.deepEqual(m.sidecarScopeFor({ namespace: 'shop', labels: {} }).ingress, [
      {
        port: 9080,
        protocol: 'HTTP',
        name: 'http',
        defaultEndpoint: '127.0.0.1:8080',
        captureMode: 'NONE',
      },
    ]);
  });
});

test('egress hosts parse into namespace classes, `.` and `~` resolved', () => {
  const parsed = parseEgressHosts(
    ['./*', '~/*.x.com', '~ns/a.b.com', '*/c.d.com', 'ns/*.e.com'],
    'me',
  );
  assert.deepEqual(
    [...parsed].map(([ns, c]) => [ns, [...c.exact], c.all, c.excluded]),
    [
      ['me', [], ['*'], []],
      ['*', ['c.d.com'], ['c.d.com'], ['*.x.com']],
      ['ns', [], ['*.e.com'], ['a.b.com']],
    ],
  );
});
