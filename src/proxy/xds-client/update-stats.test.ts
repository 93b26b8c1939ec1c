import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl } from '../../xds/types.js';
import { XdsUpdateStats } from './update-stats.js';

const EDS = TypeUrl.ClusterLoadAssignment;

test('each outcome counts an attempt; only accepted updates move the version and time', () => {
  const s = new XdsUpdateStats();
  s.started(EDS, ['a', 'b']);
  s.recordType(EDS, 'reload', 'v1');
  s.recordResource(EDS, 'a', 'reload', 'v1');
  s.recordResource(EDS, 'b', 'reload', 'v1');
  s.recordType(EDS, 'success', 'v2');
  s.recordResource(EDS, 'a', 'success', 'v2');
  s.recordType(EDS, 'rejected', 'v3');
  s.recordResource(EDS, 'a', 'rejected');
  s.recordResource(EDS, 'b', 'rejected');
  s.recordType(EDS, 'failure');
  const type = s.type(EDS);
  const a = s.resources(EDS).get('a');
  const b = s.resources(EDS).get('b');
  assert.ok(type && a && b);
  assert.deepEqual(Object.fromEntries(type.entries()), {
    config_reload: 1,
    update_attempt: 5,
    update_failure: 1,
    update_rejected: 1,
    update_success: 2,
    update_time: type.update_time,
  });
  assert.ok(type.update_time > 0);
  assert.equal(type.version_text, 'v2', 'a rejected version is not the version in force');
  assert.deepEqual([a.update_attempt, a.update_success, a.config_reload], [4, 2, 1]);
  assert.deepEqual([b.update_attempt, b.update_success, b.update_rejected], [3, 1, 1]);
  assert.equal(b.version_text, 'v1');
});

test('a subscription change: an attempt, zeros for new names, old names forgotten', () => {
  const s = new XdsUpdateStats();
  s.started(EDS, ['a', 'b', 'c']);
  s.recordResource(EDS, 'b', 'success', 'v1');
  s.retain(EDS, ['b', 'd']);
  s.started(EDS, ['d']);
  assert.deepEqual([...s.resources(EDS).keys()], ['b', 'd']);
  assert.equal(s.resources(EDS).get('d')?.update_success, 0);
  assert.equal(s.resources(EDS).get('b')?.update_success, 1);
  assert.equal(s.type(EDS)?.update_attempt, 2);
  // A wildcard has no per-name subscriptions.
  s.retain(EDS, '*');
  assert.equal(s.resources(EDS).size, 0);
  assert.equal(s.resources(TypeUrl.RouteConfiguration).size, 0);
  assert.equal(s.type(TypeUrl.RouteConfiguration), undefined);
});
