import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TypeUrl } from '../../xds/types.js';
import { XdsUpdateStats } from './update-stats.js';

const EDS = TypeUrl.ClusterLoadAssignment;

test('each outcome counts an attempt; only accepted updates move the version and time', () => {
  const s = new XdsUpdateStats();
  s.record(EDS, ['a', 'b'], 'reload', 'v1');
  s.record(EDS, ['a'], 'success', 'v2');
  s.record(EDS, ['a', 'b'], 'rejected', 'v3');
  s.record(EDS, ['a', 'b'], 'failure');
  const type = s.type(EDS);
  const a = s.resources(EDS).get('a');
  const b = s.resources(EDS).get('b');
  assert.ok(type && a && b);
  assert.deepEqual(Object.fromEntries(type.counters()), {
    config_reload: 1,
    update_attempt: 4,
    update_failure: 1,
    update_rejected: 1,
    update_success: 2,
    update_time: type.update_time,
  });
  assert.ok(type.update_time > 0);
  assert.equal(type.version_text, 'v2', 'a rejected version is not the version in force');
  assert.deepEqual([a.update_attempt, a.update_success, a.version_text], [4, 2, 'v2']);
  assert.deepEqual([b.update_attempt, b.update_success, b.version_text], [3, 1, 'v1']);
});

test('resources no longer subscribed are forgotten; a wildcard keeps them all', () => {
  const s = new XdsUpdateStats();
  s.record(EDS, ['a', 'b', 'c'], 'success', 'v1');
  s.retain(EDS, '*');
  assert.deepEqual([...s.resources(EDS).keys()], ['a', 'b', 'c']);
  s.retain(EDS, ['b']);
  assert.deepEqual([...s.resources(EDS).keys()], ['b']);
  assert.equal(s.type(EDS)?.update_success, 1, 'the type keeps its own count');
  assert.equal(s.resources(TypeUrl.RouteConfiguration).size, 0);
  assert.equal(s.type(TypeUrl.RouteConfiguration), undefined);
});
