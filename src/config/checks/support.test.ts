// The "not applied yet" warnings: every use of a validated-but-unapplied field or kind is named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseConfigText } from '../parse.js';
import { formatProblem } from '../resource.js';
import { yaml } from '../testing.js';

const lines = (text: string) => parseConfigText(text, 'test.yaml').problems.map(formatProblem);

describe('not applied yet', () => {
  it('warns at each field skiff does not apply yet, and keeps the resource', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: ratings }
      spec:
        hosts: [ratings]
        http:
          - fault:
              abort: { httpStatus: 500, percentage: { value: 100 } }
            route:
              - destination: { host: ratings }
    `;
    assert.deepEqual(lines(text), [
      'test.yaml:7: VirtualService default/ratings: spec.http[0].fault: warning: not applied by skiff yet',
    ]);
    assert.equal(parseConfigText(text, 'test.yaml').resources.length, 1);
  });

  it('warns once for a kind that is validated but not applied', () => {
    const text = yaml`
      apiVersion: security.istio.io/v1
      kind: PeerAuthentication
      metadata: { name: default, namespace: istio-system }
      spec:
        mtls: { mode: STRICT }
    `;
    assert.deepEqual(lines(text), [
      'test.yaml:1: PeerAuthentication istio-system/default: warning: PeerAuthentication is validated but not applied by skiff yet',
    ]);
  });

  it('says nothing about what is applied', () => {
    const text = yaml`
      apiVersion: networking.istio.io/v1
      kind: VirtualService
      metadata: { name: reviews }
      spec:
        hosts: [reviews]
        http:
          - match: [{ headers: { end-user: { exact: jason } } }]
            route: [{ destination: { host: reviews, subset: v2 } }]
    `;
    assert.deepEqual(lines(text), []);
  });
});
