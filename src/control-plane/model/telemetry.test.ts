import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { TelemetrySpec } from '../../config/kinds.js';
import type { ConfigResource } from '../../config/resource.js';
import { chainOrder, telemetryChain } from './telemetry.js';

function telemetry(namespace: string, name: string, spec: TelemetrySpec = {}) {
  return {
    apiVersion: 'telemetry.istio.io/v1',
    kind: 'Telemetry',
    metadata: { namespace, name },
    spec,
  } as unknown as ConfigResource<TelemetrySpec>;
}

const names = (ts: ConfigResource<TelemetrySpec>[]) => ts.map((t) => t.metadata.name);

test('mesh (root namespace), then namespace, then workload; others do not apply', () => {
  const all = [
    telemetry('default', 'for-reviews', { selector: { matchLabels: { app: 'reviews' } } }),
    telemetry('istio-system', 'mesh-default'),
    telemetry('istio-system', 'root-selector', { selector: { matchLabels: { app: 'reviews' } } }),
    telemetry('default', 'ns-default'),
    telemetry('other', 'other-ns'),
    telemetry('default', 'for-ratings', { selector: { matchLabels: { app: 'ratings' } } }),
  ];
  const reviews = telemetryChain(
    all,
    { namespace: 'default', labels: { app: 'reviews' } },
    'istio-system',
  );
  assert.deepEqual(names(chainOrder(reviews)), ['mesh-default', 'ns-default', 'for-reviews']);
  const details = telemetryChain(
    all,
    { namespace: 'default', labels: { app: 'details' } },
    'istio-system',
  );
  assert.deepEqual(names(chainOrder(details)), ['mesh-default', 'ns-default']);
  // A proxy of the root namespace: its namespace's default is the mesh's.
  const gateway = telemetryChain(
    all,
    { namespace: 'istio-system', labels: { app: 'reviews' } },
    'istio-system',
  );
  assert.deepEqual(names(chainOrder(gateway)), ['mesh-default', 'root-selector']);
});

test('several at one level: the first in config order; targetRefs bind to no proxy; empty selector is namespace-wide', () => {
  const all = [
    telemetry('default', 'by-gateway-api', {
      targetRefs: [{ kind: 'Gateway', group: 'gateway.networking.k8s.io', name: 'gw' }],
    } as TelemetrySpec),
    telemetry('default', 'first'),
    telemetry('default', 'second'),
    telemetry('default', 'empty-selector', { selector: { matchLabels: {} } }),
  ];
  const chain = telemetryChain(all, { namespace: 'default', labels: {} }, 'istio-system');
  assert.deepEqual(names(chainOrder(chain)), ['first']);
  assert.equal(chain.workload, undefined);
});
