import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyKind, isKind, Kind } from './kinds.js';
import { parse, withSpec } from './testing.js';

describe('kinds', () => {
  it('maps every served version of an Istio kind to one kind', () => {
    for (const v of ['v1', 'v1beta1', 'v1alpha3']) {
      assert.deepEqual(classifyKind(`networking.istio.io/${v}`, 'VirtualService'), {
        type: 'istio',
        kind: 'VirtualService',
        gvk: `networking.istio.io/${v}/VirtualService`,
        supported: true,
      });
    }
    for (const v of ['v1', 'v1beta1'])
      assert.equal(classifyKind(`security.istio.io/${v}`, 'AuthorizationPolicy').type, 'istio');
    for (const v of ['v1', 'v1alpha1'])
      assert.equal(classifyKind(`telemetry.istio.io/${v}`, 'Telemetry').type, 'istio');
    assert.deepEqual(classifyKind('networking.istio.io/v1alpha3', 'EnvoyFilter'), {
      type: 'istio',
      kind: 'EnvoyFilter',
      gvk: 'networking.istio.io/v1alpha3/EnvoyFilter',
      supported: false,
    });
  });

  it('knows Service, Secret, ConfigMap and Workload, and ignores the rest of Kubernetes', () => {
    assert.deepEqual(classifyKind('v1', 'Service'), { type: 'kubernetes', kind: 'Service' });
    assert.deepEqual(classifyKind('v1', 'Secret'), { type: 'kubernetes', kind: 'Secret' });
    // Istio's mesh config lives in a ConfigMap (validate.ts keeps only istio-system/istio).
    assert.deepEqual(classifyKind('v1', 'ConfigMap'), { type: 'kubernetes', kind: 'ConfigMap' });
    assert.deepEqual(classifyKind('skiff.dev/v1alpha1', 'Workload'), {
      type: 'skiff',
      kind: 'Workload',
    });
    for (const [v, k] of [
      ['apps/v1', 'Deployment'],
      ['v1', 'ServiceAccount'],
      ['networking.k8s.io/v1', 'Ingress'],
      ['gateway.networking.k8s.io/v1', 'Gateway'],
      ['install.istio.io/v1alpha1', 'IstioOperator'],
    ] as const) {
      assert.deepEqual(classifyKind(v, k), { type: 'ignored' }, `${v} ${k}`);
    }
    assert.equal(classifyKind('security.istio.io/v1', 'VirtualService').type, 'unknown');
    assert.equal(classifyKind('skiff.dev/v1alpha1', 'Service').type, 'unknown');
  });

  it('narrows resources with isKind', () => {
    const r = parse(
      withSpec('networking.istio.io/v1', Kind.DestinationRule, 'reviews', 'host: reviews'),
    ).resources[0];
    assert.ok(r);
    assert.equal(isKind(r, 'VirtualService'), false);
    if (!isKind(r, 'DestinationRule')) assert.fail('not a DestinationRule');
    assert.equal(r.spec.host, 'reviews');
  });
});
