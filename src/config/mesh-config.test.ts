import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { FieldPath } from './locate.js';
import { formatPath } from './locate.js';
import { meshConfigFromText } from './mesh-config-file.js';
import { DEFAULT_MESH_CONFIG, applyMeshConfig, readMeshConfig } from './mesh-config.js';
import { formatProblem } from './resource.js';
import { parseConfigText } from './parse.js';
import { yaml } from './testing.js';

function read(value: unknown): { overlay: object; lines: string[] } {
  const lines: string[] = [];
  const at = (sev: string) => (path: FieldPath, message: string) =>
    lines.push(`${sev} ${formatPath(path)}: ${message}`);
  const overlay = readMeshConfig(value, { error: at('error'), warn: at('warning') });
  return { overlay, lines };
}

describe('reading a MeshConfig', () => {
  test('the fields skiff applies are read and normalised', () => {
    const { overlay, lines } = read({
      rootNamespace: 'mesh-root',
      trustDomain: 'example.org',
      trustDomainAliases: ['old.example.org'],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      connectTimeout: '2s',
      defaultHttpRetryPolicy: { attempts: 3 },
      defaultServiceExportTo: ['.'],
      defaultVirtualServiceExportTo: ['*'],
      defaultDestinationRuleExportTo: ['~'],
    });
    assert.deepEqual(lines, []);
    assert.deepEqual(overlay, {
      rootNamespace: 'mesh-root',
      trustDomain: 'example.org',
      trustDomainAliases: ['old.example.org'],
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      connectTimeout: '2s',
      // Istio's retryOn when the policy names none.
      defaultHttpRetryPolicy: {
        attempts: 3,
        retryOn: 'connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes',
      },
      defaultServiceExportTo: ['.'],
      defaultVirtualServiceExportTo: ['*'],
      defaultDestinationRuleExportTo: ['~'],
    });
  });

  test('wrong values are errors naming the field; what is dropped is not in the overlay', () => {
    const { overlay, lines } = read({
      rootNamespace: 'Not_A_Namespace',
      trustDomain: 'bad domain',
      outboundTrafficPolicy: { mode: 'ALLOW_SOME' },
      connectTimeout: '10 seconds',
      defaultServiceExportTo: ['other-ns'],
      defaultHttpRetryPolicy: { attempts: -1 },
    });
    assert.deepEqual(lines, [
      'error rootNamespace: "Not_A_Namespace" is not a namespace name',
      'error trustDomain: trust domain "bad domain" must be DNS labels separated by dots (lower case)',
      'error outboundTrafficPolicy.mode: mode must be ALLOW_ANY or REGISTRY_ONLY (got "ALLOW_SOME")',
      `error connectTimeout: invalid duration "10 seconds": unknown unit " seconds" (use Go's format, e.g. "1.5s", "100ms", "1h2m")`,
      'error defaultServiceExportTo[0]: default Service exportTo "other-ns" must be "*", "." or "~"',
      'error defaultHttpRetryPolicy.attempts: attempts must be a non-negative integer',
    ]);
    assert.equal('outboundTrafficPolicy' in overlay, false);
    assert.equal('connectTimeout' in overlay, false);
  });

  test('fields skiff does not apply yet are warned about; unknown ones are ignored with a warning', () => {
    const { lines } = read({
      enableTracing: true,
      disableEnvoyListenerLog: true,
      defaultConfig: { holdApplicationUntilProxyStarts: true, proxyMetadata: { A: 'b' }, bogus: 1 },
      extensionProviders: [
        { name: 'otel', opentelemetry: { service: 'x', port: 4317 } },
        { name: 'sd', stackdriver: {} },
      ],
      someFutureField: 1,
    });
    assert.deepEqual(lines, [
      'warning disableEnvoyListenerLog: not applied by skiff yet',
      'warning defaultConfig.holdApplicationUntilProxyStarts: not applied by skiff yet',
      'warning defaultConfig.proxyMetadata: not applied by skiff yet',
      'warning defaultConfig.bogus: unknown ProxyConfig field: ignored, as istiod ignores it',
      // Only the provider kinds skiff does not use: OpenTelemetry tracing is applied.
      'warning extensionProviders[1].stackdriver: not applied by skiff yet',
      'warning someFutureField: unknown MeshConfig field: ignored, as istiod ignores it',
    ]);
  });

  test('extension providers need a unique name and one provider kind', () => {
    const { lines } = read({
      extensionProviders: [
        { name: 'a', zipkin: {} },
        { name: 'a', zipkin: {}, envoyOtelAls: {} },
        {},
      ],
    });
    assert.deepEqual(lines, [
      'error extensionProviders[1].name: duplicate provider name "a"',
      'error extensionProviders[1]: provider "a" must set exactly one provider kind (found 2)',
      'warning extensionProviders[1].envoyOtelAls: not applied by skiff yet',
      'error extensionProviders[2]: a provider needs a name',
    ]);
  });
});

describe("istiod's ApplyMeshConfig", () => {
  test('an overlay replaces fields, merges defaultConfig, providers by name, unites aliases', () => {
    const base = applyMeshConfig(DEFAULT_MESH_CONFIG, {
      trustDomainAliases: ['b.org'],
      defaultConfig: { concurrency: 2, proxyMetadata: { A: '1', B: '1' } },
    });
    const merged = applyMeshConfig(base, {
      outboundTrafficPolicy: { mode: 'REGISTRY_ONLY' },
      trustDomainAliases: ['a.org'],
      defaultConfig: { proxyMetadata: { B: '2' } },
      extensionProviders: [
        { name: 'envoy', envoyFileAccessLog: { path: '/tmp/log' } },
        { name: 'zipkin', zipkin: { service: 'z', port: 9411 } },
      ],
    });
    assert.equal(merged.outboundTrafficPolicy.mode, 'REGISTRY_ONLY');
    assert.equal(merged.rootNamespace, 'istio-system');
    assert.deepEqual(merged.trustDomainAliases, ['a.org', 'b.org']);
    assert.deepEqual(merged.defaultConfig, { concurrency: 2, proxyMetadata: { A: '1', B: '2' } });
    assert.deepEqual(
      merged.extensionProviders.map((p) => p.name),
      ['prometheus', 'stackdriver', 'envoy', 'zipkin'],
    );
    assert.deepEqual(merged.extensionProviders[2], {
      name: 'envoy',
      envoyFileAccessLog: { path: '/tmp/log' },
    });
  });
});

describe('where the mesh config comes from', () => {
  test("the istio ConfigMap's problems point at their lines inside the mesh key", () => {
    const text = yaml`
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: istio, namespace: istio-system}
      data:
        meshNetworks: "networks: {}"
        mesh: |-
          rootNamespace: istio-system
          outboundTrafficPolicy:
            mode: BLOCK
          accessLogEncoding: XML
    `;
    const { resources, problems } = parseConfigText(text, 'istio.yaml');
    assert.deepEqual(problems.map(formatProblem), [
      'istio.yaml:5: ConfigMap istio-system/istio: data.meshNetworks: warning: not applied by skiff yet',
      'istio.yaml:9: ConfigMap istio-system/istio: data.mesh.outboundTrafficPolicy.mode: mode must be ALLOW_ANY or REGISTRY_ONLY (got "BLOCK")',
      'istio.yaml:10: ConfigMap istio-system/istio: data.mesh.accessLogEncoding: must be TEXT or JSON (got "XML")',
    ]);
    assert.deepEqual(resources, []);
  });

  test('a valid istio ConfigMap is kept; any other ConfigMap is ignored with a warning', () => {
    const text = yaml`
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: istio, namespace: istio-system}
      data:
        mesh: "outboundTrafficPolicy: {mode: REGISTRY_ONLY}"
      ---
      apiVersion: v1
      kind: ConfigMap
      metadata: {name: app-settings}
      data: {a: b}
    `;
    const { resources, problems } = parseConfigText(text, 'cm.yaml');
    assert.deepEqual(problems.map(formatProblem), [
      "cm.yaml:7: ConfigMap default/app-settings: warning: ignored: the only ConfigMap skiff reads is Istio's mesh config, istio-system/istio",
    ]);
    assert.deepEqual(
      resources.map((r) => [r.kind, r.metadata.name, (r.spec as { data: object }).data]),
      [['ConfigMap', 'istio', { mesh: 'outboundTrafficPolicy: {mode: REGISTRY_ONLY}' }]],
    );
  });

  test('a --mesh-config file: bare MeshConfig YAML, or the ConfigMap manifest', () => {
    const bare = meshConfigFromText(
      'rootNamespace: root\noutboundTrafficPolicy:\n  mode: nope\n',
      'mesh',
    );
    assert.deepEqual(bare.problems.map(formatProblem), [
      'mesh:3: MeshConfig istio-system/istio: outboundTrafficPolicy.mode: mode must be ALLOW_ANY or REGISTRY_ONLY (got "nope")',
    ]);
    assert.deepEqual(bare.overlay, { rootNamespace: 'root' });
    const cm = meshConfigFromText(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: istio, namespace: istio-system}\ndata:\n  mesh: |\n    trustDomain: example.org\n',
      'istio.yaml',
    );
    assert.deepEqual(cm.problems, []);
    assert.deepEqual(cm.overlay, { trustDomain: 'example.org' });
    const other = meshConfigFromText(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {mesh: ""}\n',
      'x.yaml',
    );
    assert.ok(other.problems.some((p) => p.severity === 'error'));
  });
});
