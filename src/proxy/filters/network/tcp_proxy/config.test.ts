import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../../../config-error.js';
import { compileTcpProxy } from './config.js';

test("cluster and Envoy's defaults: one hour idle, one connect attempt, no duration cap", () => {
  const c = compileTcpProxy({ stat_prefix: 's', cluster: 'a' });
  assert.deepEqual(c.clusterNames, ['a']);
  assert.equal(c.pickCluster(), 'a');
  assert.equal(c.idleTimeoutMs, 3600_000);
  assert.equal(c.maxConnectAttempts, 1);
  assert.equal(c.maxDownstreamConnectionDurationMs, 0);
  const d = compileTcpProxy({
    stat_prefix: 's',
    cluster: 'a',
    idle_timeout: '0s',
    max_connect_attempts: 3,
    max_downstream_connection_duration: '2.5s',
  });
  assert.equal(d.idleTimeoutMs, 0, '0s disables the idle timeout');
  assert.equal(d.maxConnectAttempts, 3);
  assert.equal(d.maxDownstreamConnectionDurationMs, 2500);
});

test('weighted clusters pick by weight', () => {
  const c = compileTcpProxy({
    stat_prefix: 's',
    weighted_clusters: {
      clusters: [
        { name: 'v1', weight: 75 },
        { name: 'v2', weight: 25 },
      ],
    },
  });
  assert.deepEqual(c.clusterNames, ['v1', 'v2']);
  let v1 = 0;
  const n = 20_000;
  for (let i = 0; i < n; i++) if (c.pickCluster() === 'v1') v1++;
  assert.ok(Math.abs(v1 / n - 0.75) < 0.02, `v1 share ${v1 / n}`);
});

test('errors name the field', () => {
  const fails = (typed: Record<string, unknown>, field: string) =>
    assert.throws(
      () => compileTcpProxy(typed),
      (e: unknown) => e instanceof ConfigError && e.field === field,
      field,
    );
  fails({ cluster: 'a' }, 'stat_prefix');
  fails({ stat_prefix: 's' }, '');
  fails({ stat_prefix: 's', weighted_clusters: { clusters: [] } }, 'weighted_clusters.clusters');
  fails(
    { stat_prefix: 's', weighted_clusters: { clusters: [{ name: 'a', weight: 0 }] } },
    'weighted_clusters.clusters[0].weight',
  );
  fails({ stat_prefix: 's', cluster: 'a', max_connect_attempts: 0 }, 'max_connect_attempts');
  fails(
    { stat_prefix: 's', cluster: 'a', tunneling_config: { hostname: 'h' } },
    'tunneling_config',
  );
  fails({ stat_prefix: 's', cluster: 'a', idle_timeout: 'soon' }, 'idle_timeout');
});
