import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { DestinationRuleSpec } from '../../config/kinds.js';
import { parseConfigText } from '../../config/parse.js';
import type { ConfigResource } from '../../config/resource.js';
import { formatProblem } from '../../config/resource.js';
import { DestinationRuleIndex } from './destination-rules.js';

function rules(text: string): ConfigResource<DestinationRuleSpec>[] {
  const { resources, problems } = parseConfigText(text, 'dr.yaml');
  assert.deepEqual(problems.filter((p) => p.severity === 'error').map(formatProblem), []);
  return resources as ConfigResource<DestinationRuleSpec>[];
}

const dr = (name: string, ns: string, body: string) => `
apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${name}, namespace: ${ns}}
spec:
${body}
---`;

const HOST = 'reviews.shop.svc.cluster.local';

function index(text: string, defaultExportTo: string[] = ['*']): DestinationRuleIndex {
  return new DestinationRuleIndex(rules(text), { rootNamespace: 'istio-system', defaultExportTo });
}

const pick = (
  ix: DestinationRuleIndex,
  proxyNamespace: string,
  proxyLabels: Record<string, string> = {},
  hostname = HOST,
) => {
  const found = ix.lookup({ hostname, serviceNamespace: 'shop', proxyNamespace, proxyLabels });
  return found
    ? {
        from: found.from.map((r) => r.metadata.name),
        subsets: (found.spec.subsets ?? []).map((s) => s.name),
        lb: found.spec.trafficPolicy?.loadBalancer?.simple,
      }
    : undefined;
};

describe('DestinationRule lookup', () => {
  test("the proxy's namespace, then the service's, then the root namespace", () => {
    const ix = index(
      dr('mine', 'client', '  host: reviews.shop.svc.cluster.local\n  subsets: [{name: c}]') +
        dr('svc', 'shop', '  host: reviews\n  subsets: [{name: s}]') +
        dr('root', 'istio-system', '  host: "*.svc.cluster.local"\n  subsets: [{name: r}]'),
    );
    assert.deepEqual(pick(ix, 'client')?.from, ['mine']);
    assert.deepEqual(pick(ix, 'elsewhere')?.from, ['svc']);
    assert.deepEqual(pick(ix, 'elsewhere', {}, 'ratings.shop.svc.cluster.local')?.from, ['root']);
  });

  test('exportTo: a private rule serves its namespace only; named namespaces', () => {
    const ix = index(
      dr('private', 'shop', '  host: reviews\n  exportTo: ["."]\n  subsets: [{name: p}]') +
        dr(
          'to-a',
          'istio-system',
          '  host: reviews.shop.svc.cluster.local\n  exportTo: [a]\n  subsets: [{name: a}]',
        ),
    );
    assert.deepEqual(pick(ix, 'shop')?.from, ['private']);
    assert.deepEqual(pick(ix, 'a')?.from, ['to-a']);
    assert.equal(pick(ix, 'b'), undefined);
  });

  test("the mesh's defaultDestinationRuleExportTo applies to rules without exportTo", () => {
    const ix = index(dr('svc', 'shop', '  host: reviews\n  subsets: [{name: s}]'), ['.']);
    assert.deepEqual(pick(ix, 'shop')?.from, ['svc']);
    assert.equal(pick(ix, 'other'), undefined);
  });

  test('rules for one host in one namespace merge: subsets appended, the first policy kept', () => {
    const ix = index(
      dr(
        'a',
        'shop',
        '  host: reviews\n  trafficPolicy: {loadBalancer: {simple: RANDOM}}\n  subsets: [{name: v1}]',
      ) +
        dr(
          'b',
          'shop',
          '  host: reviews\n  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}\n  subsets: [{name: v1}, {name: v2}]',
        ),
    );
    assert.deepEqual(pick(ix, 'other'), { from: ['a', 'b'], subsets: ['v1', 'v2'], lb: 'RANDOM' });
  });

  test('workloadSelector: only proxies of its namespace with the labels; others the catch-all', () => {
    const ix = index(
      dr('all', 'shop', '  host: reviews\n  subsets: [{name: all}]') +
        dr(
          'canary',
          'shop',
          '  host: reviews\n  workloadSelector: {matchLabels: {app: canary}}\n  subsets: [{name: canary}]',
        ),
    );
    assert.deepEqual(pick(ix, 'shop', { app: 'canary', v: '1' })?.from, ['canary']);
    assert.deepEqual(pick(ix, 'shop', { app: 'other' })?.from, ['all']);
    // Never exported: a proxy elsewhere with the labels gets the catch-all.
    assert.deepEqual(pick(ix, 'elsewhere', { app: 'canary' })?.from, ['all']);
  });
});
