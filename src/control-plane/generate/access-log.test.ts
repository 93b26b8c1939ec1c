// Istio's merge of Telemetry accessLogging over root → namespace → workload (mergeLogs).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mergeLogs } from './access-log.js';

test('the most specific level names the providers; disabled and filters apply per provider', () => {
  const root = [{ providers: [{ name: 'envoy' }] }];
  const ns = [{ providers: [{ name: 'envoy' }], filter: { expression: 'response.code >= 400' } }];
  const quiet = [{ disabled: true }];
  assert.deepEqual([...mergeLogs([root], [], 'CLIENT')], [['envoy', {}]]);
  assert.deepEqual(
    [...mergeLogs([root, ns], [], 'SERVER')],
    [['envoy', { expression: 'response.code >= 400' }]],
  );
  assert.deepEqual(
    [...mergeLogs([root, ns, quiet], [], 'CLIENT')],
    [['envoy', { disabled: true }]],
  );
  // match.mode: a SERVER-only entry leaves the client side alone.
  const serverOnly = [{ providers: [{ name: 'json' }], match: { mode: 'SERVER' as const } }];
  assert.deepEqual([...mergeLogs([serverOnly], ['envoy'], 'CLIENT')], []);
  assert.deepEqual([...mergeLogs([serverOnly], ['envoy'], 'SERVER')], [['json', {}]]);
  // No Telemetry logging: mesh config's defaultProviders.accessLogging.
  assert.deepEqual([...mergeLogs([], ['envoy'], 'CLIENT')], [['envoy', {}]]);
});
