import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfigText } from '../../config/parse.js';
import { formatProblem } from '../../config/resource.js';
import { analyzeConfig } from './analysis.js';

function findings(text: string): string[] {
  const { resources, problems } = parseConfigText(text, 'a.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  return analyzeConfig(resources).map((f) => formatProblem(f.problem));
}

const vs = (name: string, ns: string, hosts: string, extra = '') => `
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${name}, namespace: ${ns}}
spec:
  hosts: ${hosts}
${extra}  http: [{route: [{destination: {host: reviews.shop.svc.cluster.local}}]}]
---`;

test('a second mesh VirtualService for a host is reported as ignored, naming the first', () => {
  assert.deepEqual(
    findings(
      vs('a', 'shop', '[reviews]') +
        vs('b', 'shop', '[ratings, reviews.shop.svc.cluster.local]') +
        vs('c', 'other', '[reviews.shop.svc.cluster.local]'),
    ),
    [
      'a.yaml:9: VirtualService shop/b: spec.hosts[1]: warning: ignored for host reviews.shop.svc.cluster.local: VirtualService shop/a already routes it (sidecars use the first VirtualService for a host; Istio merges them only on gateways)',
      'a.yaml:16: VirtualService other/c: spec.hosts[0]: warning: ignored for host reviews.shop.svc.cluster.local: VirtualService shop/a already routes it (sidecars use the first VirtualService for a host; Istio merges them only on gateways)',
    ],
  );
});

test('no conflict: gateway-only VirtualServices (merged), disjoint exportTo, wildcard vs exact', () => {
  assert.deepEqual(
    findings(
      vs('gw-a', 'shop', '[reviews]', '  gateways: [gw]\n') +
        vs('gw-b', 'shop', '[reviews]', '  gateways: [gw]\n') +
        vs('mine', 'a', '[reviews.shop.svc.cluster.local]', '  exportTo: ["."]\n') +
        vs('yours', 'b', '[reviews.shop.svc.cluster.local]', '  exportTo: ["."]\n') +
        vs('wild', 'shop', '["*.shop.svc.cluster.local"]'),
    ),
    [],
  );
});

test("a namespace's private VirtualService comes first there: the public one is ignored in it", () => {
  const out = findings(
    vs('public', 'shop', '[reviews]') + vs('private', 'shop', '[reviews]', '  exportTo: ["."]\n'),
  );
  assert.equal(out.length, 1);
  assert.match(
    out[0]!,
    /VirtualService shop\/public: .* VirtualService shop\/private already routes it/,
  );
});

test('several Sidecars for the same workloads: the later ones are reported', () => {
  const sc = (name: string, selector = '') => `
apiVersion: networking.istio.io/v1
kind: Sidecar
metadata: {name: ${name}, namespace: shop}
spec:
${selector}  egress: [{hosts: ["./*"]}]
---`;
  const out = findings(
    sc('one') +
      sc('two') +
      sc('sel-a', '  workloadSelector: {labels: {app: cart}}\n') +
      sc('sel-b', '  workloadSelector: {labels: {app: cart}}\n') +
      `
apiVersion: skiff.dev/v1alpha1
kind: Workload
metadata: {name: cart, namespace: shop, labels: {app: cart}}
spec: {command: [node, cart.js]}
`,
  );
  assert.deepEqual(out, [
    'a.yaml:8: Sidecar shop/two: warning: ignored: Sidecar shop/one already applies to namespace shop (Istio uses the first Sidecar without a workloadSelector)',
    'a.yaml:21: Sidecar shop/sel-b: spec.workloadSelector: warning: ignored for Workload shop/cart: Sidecar shop/sel-a already selects it (Istio uses the first)',
  ]);
});
