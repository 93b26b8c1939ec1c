import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderEnvoyStats, type XdsStatScope } from './envoy-stats.js';

const scope = (family: string, labels: string, success: number): XdsStatScope => ({
  statPrefix: 'x',
  family,
  labels,
  counters: [
    ['update_success', success],
    ['update_time', 1_700_000_000_000],
  ],
  versionText: 'v1',
});

test('xDS subscription stats: one family per name, tags as labels, update_time a gauge', () => {
  const out: string[] = [];
  renderEnvoyStats([], [], true, out, [
    scope('envoy_cluster_', '{envoy_cluster_name="a"}', 1),
    scope('envoy_cluster_', '{envoy_cluster_name="b"}', 2),
    scope('envoy_cluster_manager_cds_', '', 3),
    scope('', '', 4), // /stats only
  ]);
  const text = out.join('\n');
  assert.equal(text.match(/^# TYPE envoy_cluster_update_success counter$/gm)?.length, 1);
  assert.match(text, /^envoy_cluster_update_success\{envoy_cluster_name="a"\} 1$/m);
  assert.match(text, /^envoy_cluster_update_success\{envoy_cluster_name="b"\} 2$/m);
  assert.match(text, /^# TYPE envoy_cluster_update_time gauge$/m);
  assert.match(text, /^# TYPE envoy_cluster_manager_cds_update_time gauge$/m);
  assert.match(text, /^envoy_cluster_manager_cds_update_success 3$/m);
  assert.doesNotMatch(text, / 4$/m);
  // Each family's samples follow its TYPE line, none elsewhere.
  const lines = text.split('\n');
  const typeAt = lines.indexOf('# TYPE envoy_cluster_update_success counter');
  assert.ok(lines[typeAt + 1]?.startsWith('envoy_cluster_update_success{'));
  assert.ok(lines[typeAt + 2]?.startsWith('envoy_cluster_update_success{'));
});
